"""The paper round-trip as a spreadsheet: download a school's sheet as XLSX with a
reference column, fill in "New status", upload it back.

Uploads are checked row by row before anything is written (dry run first), each
error names the row and what to do, and a row whose supporter the uploader may not
canvass is rejected, never applied. Statuses are written through ``gotv_set_many``
(method "canvass"), so history and the drives' "not yet voted" audience agree.
"""

from __future__ import annotations

import io
import re
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction

from campaign.canvass.selectors import SheetRow, canvass_contacts
from campaign.canvass.sheets import ROLE_SHORT, STATUS_LABELS, display_mobile, new_sheet_code
from campaign.exports import neutralise
from campaign.gotv import GotvRuleError, ballot_window_check
from campaign.models import AuditEvent
from campaign.services import audit_record
from contacts.models import Contact, GotvEvent, School
from contacts.services.gotv import gotv_set_many

REF_HEADER, NEW_STATUS_HEADER = "Ref", "New status"
REF_PATTERN = re.compile(r"^'?C(\d{1,12})$")
# What people may type in "New status", case-insensitive.
STATUS_WORDS = {
    **{label.lower(): value for value, label in Contact.Gotv.choices},
    **{value: value for value in Contact.Gotv.values},
    "not reached": "",
    "wont vote": Contact.Gotv.WONT_VOTE,
    "won't": Contact.Gotv.WONT_VOTE,
    "ballot": Contact.Gotv.BALLOT_RECEIVED,
}


class SheetFileError(ValueError):
    """The upload as a whole cannot be read (not XLSX, no Ref/New status columns...)."""


def contact_ref(pk: int) -> str:
    return f"C{pk}"


def sheet_xlsx(*, school: School, rows: list[SheetRow], with_email: bool = False) -> bytes:
    import openpyxl
    from openpyxl.styles import Font
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Canvass"
    headers = [REF_HEADER, "Name", "Role", "Mobile"]
    if with_email:
        headers.append("Email")
    headers += ["Current status", NEW_STATUS_HEADER, "Notes (not imported)"]
    sheet.append([neutralise(h) for h in headers])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        values = [
            contact_ref(row.pk),
            row.sort_name,  # "Surname, First name", as the PDF sheet and its order
            ROLE_SHORT.get(row.role, row.role),
            display_mobile(row.mobile),
        ]
        if with_email:
            values.append(row.email)
        values += [STATUS_LABELS.get(row.gotv_status, row.gotv_status), "", ""]
        sheet.append([neutralise(v) for v in values])
        for cell in sheet[sheet.max_row]:
            cell.data_type = "s"  # text, never a formula
    status_column = headers.index(NEW_STATUS_HEADER) + 1
    letter = openpyxl.utils.get_column_letter(status_column)
    choices = ",".join(label for _, label in Contact.Gotv.choices)
    validation = DataValidation(type="list", formula1=f'"{choices}"', allow_blank=True)
    validation.error = "Choose a status from the list, or leave it empty."
    sheet.add_data_validation(validation)
    if rows:
        validation.add(f"{letter}2:{letter}{len(rows) + 1}")
    for column, width in zip("ABCDEFGH", (10, 30, 10, 16, 30, 18, 18, 30), strict=False):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "C2"
    sheet.protection.sheet = False
    info = workbook.create_sheet("About")
    info.append([neutralise(f"{school.name} ({school.urn or 'no URN'}), {school.district}")])
    info.append(["Fill in 'New status' and upload the file on the school's tick-off page."])
    info.append(["Confidential: delete this file after use."])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def canvass_sheet_export(
    *, actor, school: School, rows: list[SheetRow], with_email: bool = False
) -> bytes:
    data = sheet_xlsx(school=school, rows=rows, with_email=with_email)
    audit_record(
        actor=actor,
        action=AuditEvent.Action.EXPORT,
        target=school,
        counts={"rows": len(rows)},
        detail={
            "what": "canvass sheet",
            "format": "xlsx",
            "with_email": with_email,
            "sheet_code": new_sheet_code(),
        },
    )
    return data


@dataclass
class RowError:
    row: int
    ref: str
    message: str


@dataclass
class UploadPlan:
    """What an upload would do; ``apply`` only when there are changes to make."""

    changes: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    unchanged: int = 0
    blank: int = 0
    errors: list[RowError] = field(default_factory=list)
    preview: list[tuple[int, str, str, str]] = field(default_factory=list)

    @property
    def change_count(self) -> int:
        return sum(len(ids) for ids in self.changes.values())


def _text(value) -> str:
    if value is None:
        return ""
    text = str(value).strip()
    return text[1:] if text.startswith("'") else text


def _read_rows(data: bytes) -> list[tuple[int, dict[str, str]]]:
    import openpyxl

    if len(data) > settings.CANVASS_UPLOAD_MAX_BYTES:
        raise SheetFileError(
            f"The file is larger than {settings.CANVASS_UPLOAD_MAX_BYTES // 1024 // 1024} MB; "
            "upload the sheet you downloaded for one school."
        )
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:
        raise SheetFileError(
            "This is not an XLSX file. Download the school's sheet as XLSX, fill in "
            "'New status' and upload that file."
        ) from None
    sheet = workbook["Canvass"] if "Canvass" in workbook.sheetnames else workbook.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header = [_text(v) for v in next(rows, [])]
    if REF_HEADER not in header or NEW_STATUS_HEADER not in header:
        raise SheetFileError(
            f"The first row must hold the '{REF_HEADER}' and '{NEW_STATUS_HEADER}' columns "
            "of the downloaded sheet; do not rename or delete them."
        )
    ref_at, status_at = header.index(REF_HEADER), header.index(NEW_STATUS_HEADER)
    found = []
    for number, values in enumerate(rows, start=2):
        values = list(values or [])
        ref = _text(values[ref_at]) if ref_at < len(values) else ""
        status = _text(values[status_at]) if status_at < len(values) else ""
        if ref or status:
            found.append((number, {"ref": ref, "status": status}))
    workbook.close()
    return found


def canvass_upload_plan(*, actor, data: bytes) -> UploadPlan:
    """Check every row of an uploaded sheet; write nothing."""
    plan = UploadPlan()
    rows = _read_rows(data)
    refs: dict[int, int] = {}
    for number, row in rows:
        match = REF_PATTERN.match(row["ref"])
        if match:
            refs[number] = int(match.group(1))
    allowed = {
        pk: (name, status)
        for pk, name, status in canvass_contacts(user=actor)
        .filter(pk__in=set(refs.values()))
        .values_list("pk", "first_name", "gotv_status")
    }
    seen: dict[int, int] = {}
    for number, row in rows:
        ref, wanted = row["ref"], row["status"]
        if number not in refs:
            plan.errors.append(
                RowError(
                    number,
                    ref,
                    "The Ref cell must hold the reference from the download (e.g. C123).",
                )
            )
            continue
        pk = refs[number]
        if pk not in allowed:
            plan.errors.append(
                RowError(
                    number,
                    ref,
                    "This supporter is outside the districts you may canvass (or no longer "
                    "consents); the row was not applied.",
                )
            )
            continue
        if not wanted:
            plan.blank += 1
            continue
        status = STATUS_WORDS.get(wanted.lower())
        if status is None:
            plan.errors.append(
                RowError(
                    number,
                    ref,
                    f"'{wanted[:40]}' is not a status; use one of "
                    f"{', '.join(label for _, label in Contact.Gotv.choices)}.",
                )
            )
            continue
        if status == "":
            plan.blank += 1  # "Not reached" changes nothing
            continue
        if pk in seen:
            plan.errors.append(
                RowError(number, ref, f"This supporter is also on row {seen[pk]}; keep one row.")
            )
            continue
        seen[pk] = number
        try:
            ballot_window_check(status=status)
        except GotvRuleError as exc:
            plan.errors.append(RowError(number, ref, exc.messages[0]))
            continue
        name, current = allowed[pk]
        if current == status:
            plan.unchanged += 1
            continue
        plan.changes[status].append(pk)
        plan.preview.append((number, ref, STATUS_LABELS[current], STATUS_LABELS[status]))
    return plan


@transaction.atomic
def canvass_upload_apply(*, actor, data: bytes, school: School | None = None) -> UploadPlan:
    """Re-check the upload and apply every valid row in one transaction."""
    plan = canvass_upload_plan(actor=actor, data=data)
    applied = 0
    for status, ids in plan.changes.items():
        applied += gotv_set_many(
            contact_ids=ids, status=status, method=GotvEvent.Method.CANVASS, actor=actor
        )
    audit_record(
        actor=actor,
        action=AuditEvent.Action.IMPORT,
        target=school,
        counts={"applied": applied, "errors": len(plan.errors), "unchanged": plan.unchanged},
        detail={"what": "canvass sheet upload", "format": "xlsx"},
    )
    return plan


# A previewed upload waits on disk (never in a served directory) until it is applied,
# so the user confirms what they saw without choosing the file again.
_STASH_SALT = "turnout.canvass-upload"
STASH_MAX_AGE_SECONDS = 3600


def upload_stash(*, actor, data: bytes) -> str:
    import secrets

    from django.core import signing

    directory = settings.CANVASS_DIR / "uploads"
    directory.mkdir(parents=True, exist_ok=True)
    name = secrets.token_hex(16)
    (directory / f"{name}.xlsx").write_bytes(data)
    return signing.dumps({"f": name, "u": actor.pk}, salt=_STASH_SALT)


def upload_unstash(*, actor, token: str) -> bytes:
    """The stashed upload (removed from disk); SheetFileError if gone or not theirs."""
    from django.core import signing

    try:
        value = signing.loads(token, salt=_STASH_SALT, max_age=STASH_MAX_AGE_SECONDS)
    except signing.BadSignature:
        raise SheetFileError("That preview has expired; upload the file again.") from None
    if value.get("u") != actor.pk or not re.fullmatch(r"[0-9a-f]{32}", str(value.get("f"))):
        raise SheetFileError("That preview is not yours; upload the file again.")
    path = settings.CANVASS_DIR / "uploads" / f"{value['f']}.xlsx"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SheetFileError(
            "That preview was already used or has expired; upload again."
        ) from None
    path.unlink(missing_ok=True)
    return data
