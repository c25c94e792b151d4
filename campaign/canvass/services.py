"""Canvass prints: one school's sheet now, a district's pack in the background.

Every print lands in the audit trail (who, what, when, how many rows, sheet code).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from campaign.canvass import sheets
from campaign.canvass.selectors import (
    canvass_allowed,
    district_left_off,
    district_schools,
    school_counts,
    sheet_rows,
    sheet_rows_without_school,
)
from campaign.models import AuditEvent, CanvassPack
from campaign.services import audit_record
from contacts.models import District, School

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Printed:
    pdf: bytes
    filename: str
    rows: int
    pages: int
    sheet_code: str


def _require(actor) -> None:
    if not canvass_allowed(actor):
        raise PermissionDenied("Your role cannot print canvass sheets.")


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-")[:60] or "sheet"


def canvass_sheet_print(
    *, actor, school: School, with_email: bool = False, via: str = "web"
) -> Printed:
    """One school's sheet as a PDF, recorded in the audit trail.

    ``school`` must come from ``School.objects.visible_to(actor)``; the rows are
    filtered by the same rule again here.
    """
    from campaign.canvass import pdf

    _require(actor)
    info = sheets.print_info(user=actor, with_email=with_email)
    rows = sheet_rows(user=actor, school_ids=[school.pk]).get(school.pk, [])
    count = school_counts(user=actor, school_ids=[school.pk]).get(school.pk)
    left_off = district_left_off(user=actor, district=school.district)
    doc = sheets.school_doc(
        school=school,
        rows=rows,
        info=info,
        left_off=count.left_off if count else 0,
        no_school=left_off.no_school,
    )
    rendered = pdf.render_docs([doc], sheets.assets())
    code = sheets.school_code(info, school)
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CANVASS_PRINT,
        target=school,
        counts={"rows": len(rows), "pages": rendered.page_counts[0]},
        detail={"sheet_code": code, "with_email": with_email, "via": via, "format": "pdf"},
    )
    return Printed(
        pdf=rendered.pdf,
        filename=f"canvass-{_slug(school.name)}-{code}.pdf",
        rows=len(rows),
        pages=rendered.page_counts[0],
        sheet_code=code,
    )


def canvass_no_school_print(
    *, actor, district: District, with_email: bool = False, via: str = "web"
) -> Printed:
    """The sheet of ``district``'s supporters who have no school on their record, so
    they can still be chased; recorded in the audit trail like a school's sheet."""
    from campaign.canvass import pdf

    _require(actor)
    info = sheets.print_info(user=actor, with_email=with_email)
    rows = sheet_rows_without_school(user=actor, district=district)
    placeholder = sheets.NoSchool(district=district)
    rendered = pdf.render_docs(
        [sheets.school_doc(school=placeholder, rows=rows, info=info)], sheets.assets()
    )
    code = sheets.school_code(info, placeholder)
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CANVASS_PRINT,
        target=district,
        counts={"rows": len(rows), "pages": rendered.page_counts[0]},
        detail={
            "sheet_code": code,
            "with_email": with_email,
            "via": via,
            "format": "pdf",
            "no_school": True,
        },
    )
    return Printed(
        pdf=rendered.pdf,
        filename=f"canvass-{_slug(district.name)}-no-school-{code}.pdf",
        rows=len(rows),
        pages=rendered.page_counts[0],
        sheet_code=code,
    )


def canvass_district_render(
    *,
    actor,
    district: District,
    with_email: bool = False,
    code: str | None = None,
    workers: int | None = None,
    on_progress=None,
    on_total=None,
) -> Printed:
    """Cover page plus one sheet per school with supporters; no audit (callers do it)."""
    from campaign.canvass import pdf

    workers = workers or settings.CANVASS_PDF_WORKERS
    if workers > 1:
        pdf.warm_pool(workers, wait_ready=False)
    info = sheets.print_info(user=actor, with_email=with_email, code=code)
    schools = district_schools(user=actor, district=district)
    school_ids = [school.pk for school in schools]
    rows = sheet_rows(user=actor, school_ids=school_ids)
    counts = school_counts(user=actor, school_ids=school_ids)
    without_school = sheet_rows_without_school(user=actor, district=district)
    left_off = district_left_off(user=actor, district=district)
    printed = [school for school in schools if rows.get(school.pk)]
    if on_total:
        on_total(len(printed) + (1 if without_school else 0))
    docs = [
        sheets.school_doc(
            school=school,
            rows=rows[school.pk],
            info=info,
            left_off=counts[school.pk].left_off if school.pk in counts else 0,
            no_school=left_off.no_school,
        )
        for school in printed
    ]
    weights = [len(rows[school.pk]) for school in printed]
    if without_school:
        # Last, after every school: supporters with no school, so none goes unchased.
        docs.append(
            sheets.school_doc(
                school=sheets.NoSchool(district=district), rows=without_school, info=info
            )
        )
        weights.append(len(without_school))
    rendered = pdf.render_pack(
        cover=sheets.cover_doc(
            district=district, schools=schools, counts=counts, info=info, left_off=left_off
        ),
        docs=docs,
        weights=weights,
        assets=sheets.assets(),
        workers=workers,
        on_progress=on_progress,
    )
    total_rows = sum(len(r) for r in rows.values()) + len(without_school)
    return Printed(
        pdf=rendered.pdf,
        filename=f"canvass-pack-{_slug(district.name)}-{info.code}.pdf",
        rows=total_rows,
        pages=sum(rendered.page_counts),
        sheet_code=info.code,
    )


def _audit_pack(*, actor, district: District, printed: Printed, with_email: bool, via: str):
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CANVASS_PRINT,
        target=district,
        counts={"rows": printed.rows, "pages": printed.pages},
        detail={
            "sheet_code": printed.sheet_code,
            "with_email": with_email,
            "via": via,
            "format": "pdf",
            "pack": True,
        },
    )


def canvass_district_print(
    *, actor, district: District, with_email: bool = False, via: str = "cli"
) -> Printed:
    """A district pack built right away (the CLI); the web builds it in the background."""
    _require(actor)
    printed = canvass_district_render(actor=actor, district=district, with_email=with_email)
    _audit_pack(actor=actor, district=district, printed=printed, with_email=with_email, via=via)
    return printed


# --- background packs ----------------------------------------------------------------


def canvass_pack_request(*, actor, district: District, with_email: bool = False) -> CanvassPack:
    """Queue a district pack; the task is enqueued once this transaction commits."""
    _require(actor)
    from campaign.tasks import canvass_pack_task

    pack = CanvassPack.objects.create(district=district, requested_by=actor, with_email=with_email)
    transaction.on_commit(lambda: canvass_pack_task(pack.pk))
    return pack


def pack_path(pack: CanvassPack) -> Path:
    return Path(settings.CANVASS_DIR) / pack.file_name


def canvass_pack_build(*, pack_id: int) -> CanvassPack:
    """Build a queued pack: progress as schools finish, file when done, reason if not."""
    claimed = CanvassPack.objects.filter(pk=pack_id, status=CanvassPack.Status.PENDING).update(
        status=CanvassPack.Status.RUNNING, started_at=timezone.now(), progress_at=timezone.now()
    )
    pack = CanvassPack.objects.select_related("district", "requested_by").get(pk=pack_id)
    if not claimed:
        return pack  # already built, building, or failed: a duplicate task does nothing
    actor = pack.requested_by
    if not actor.is_active or not canvass_allowed(actor):
        return _fail(pack, "The requester may no longer print canvass sheets.")
    if not District.objects.visible_to(actor).filter(pk=pack.district_id).exists():
        return _fail(pack, "The requester no longer covers this district.")

    def total(count: int) -> None:
        CanvassPack.objects.filter(pk=pack_id).update(
            schools_total=count, progress_at=timezone.now()
        )

    def progress(done: int) -> None:
        CanvassPack.objects.filter(pk=pack_id).update(schools_done=done, progress_at=timezone.now())

    code = sheets.new_sheet_code()
    try:
        printed = canvass_district_render(
            actor=actor,
            district=pack.district,
            with_email=pack.with_email,
            code=code,
            on_progress=progress,
            on_total=total,
        )
    except Exception as exc:
        logger.exception("Canvass pack %s failed", pack_id)
        return _fail(pack, f"Building the PDF failed ({type(exc).__name__}); try again.")
    directory = Path(settings.CANVASS_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    file_name = f"pack-{pack.pk}-{code}.pdf"
    partial = directory / f".{file_name}.part"
    partial.write_bytes(printed.pdf)
    partial.replace(directory / file_name)
    with transaction.atomic():
        CanvassPack.objects.filter(pk=pack_id).update(
            status=CanvassPack.Status.DONE,
            file_name=file_name,
            sheet_code=code,
            rows=printed.rows,
            pages=printed.pages,
            finished_at=timezone.now(),
        )
        _audit_pack(
            actor=actor,
            district=pack.district,
            printed=printed,
            with_email=pack.with_email,
            via="pack",
        )
    pack.refresh_from_db()
    return pack


def _fail(pack: CanvassPack, reason: str) -> CanvassPack:
    CanvassPack.objects.filter(pk=pack.pk).update(
        status=CanvassPack.Status.FAILED, error=reason[:300], finished_at=timezone.now()
    )
    pack.refresh_from_db()
    return pack


STALE_ERROR = (
    "The build was interrupted: no progress for {minutes} minutes (the queue worker "
    "stopped). Retry to build it again."
)


def canvass_packs_fail_stale(*, now=None) -> int:
    """Fail running packs with no progress for CANVASS_PACK_STALE_MINUTES: Huey runs a
    task at most once, so a build whose consumer died never resumes. Returns how many."""
    now = now or timezone.now()
    minutes = settings.CANVASS_PACK_STALE_MINUTES
    silent_since = now - timedelta(minutes=minutes)
    return CanvassPack.objects.filter(
        Q(progress_at__lt=silent_since) | Q(progress_at__isnull=True, started_at__lt=silent_since),
        status=CanvassPack.Status.RUNNING,
    ).update(
        status=CanvassPack.Status.FAILED,
        error=STALE_ERROR.format(minutes=minutes)[:300],
        finished_at=now,
    )


def canvass_pack_retry(*, actor, pack: CanvassPack) -> CanvassPack:
    """A new build of a failed pack (``pack`` from CanvassPack.objects.visible_to(actor)),
    requested by ``actor`` and re-checked against their scope when it runs."""
    if pack.status != CanvassPack.Status.FAILED:
        raise ValidationError("Only a failed pack can be retried.")
    with transaction.atomic():
        retry = canvass_pack_request(
            actor=actor, district=pack.district, with_email=pack.with_email
        )
        CanvassPack.objects.filter(pk=retry.pk).update(retry_of=pack)
    retry.retry_of = pack
    return retry


def canvass_packs_expire(*, now=None) -> int:
    """Delete pack files past their retention time ("destroy after use"), and fail packs
    whose build was lost (a consumer killed mid-build) so their page says so."""
    now = now or timezone.now()
    canvass_packs_fail_stale(now=now)
    cutoff = now - timedelta(hours=settings.CANVASS_PACK_RETENTION_HOURS)
    expired = 0
    for pack in CanvassPack.objects.filter(
        status=CanvassPack.Status.DONE, finished_at__lt=cutoff
    ).only("pk", "file_name"):
        if pack.file_name:
            pack_path(pack).unlink(missing_ok=True)
        CanvassPack.objects.filter(pk=pack.pk).update(
            status=CanvassPack.Status.EXPIRED, file_name=""
        )
        expired += 1
    return expired
