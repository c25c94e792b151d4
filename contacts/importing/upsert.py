"""Writing an import's accepted rows: new contacts with their consent in bulk, existing
ones updated field by field (only the fields that changed), and a record of each change
with the values it replaced so the import can be undone."""

from __future__ import annotations

from datetime import datetime

from contacts.importing.row import Row
from contacts.importing.writes import insert_rows_on
from contacts.models import ConsentRecord, Contact, ImportChange

# Column order of the rows the importer inserts (attnames).
CONTACT_COLUMNS = (
    "first_name",
    "last_name",
    "email",
    "email_hash",
    "mobile",
    "school_id",
    "district_id",
    "role",
    "notes",
    "gotv_status",
    "source_import_id",
    "created_at",
    "updated_at",
)
_EMAIL = ConsentRecord.Channel.EMAIL.value
_IMPORTED = ConsentRecord.Method.IMPORT.value
CONSENT_COLUMNS = (
    "contact_id",
    "channel",
    "given_at",
    "source",
    "wording",
    "version",
    "method",
    "withdrawn_at",
    "withdrawn_how",
    "created_at",
)


class UpsertMixin:
    """Part of the importer: needs ``batch``, ``now``, ``source``, ``wording``,
    ``version``, ``report``, ``copier`` and ``_warn`` from it."""

    def _write(self, rows: list[Row], existing: dict[str, dict]) -> None:
        creates: list[Row] = []
        changes: list[tuple[Row, dict, dict]] = []
        for row in rows:
            found = existing.get(row.email)
            if found is None:
                if not row.first_name and not row.last_name:
                    self._warn(
                        row,
                        "first_name",
                        "missing_name",
                        "The row has no name; the supporter was imported without one.",
                    )
                creates.append(row)
                continue
            new = self._changed_fields(row, found)
            if new or not found["has_consent"]:
                changes.append((row, found, new))
                self.report.updated += 1
            else:
                self.report.unchanged += 1
        if creates:
            self._create(creates)
        if changes:
            self._apply_changes(changes)

    def _create(self, rows: list[Row]) -> None:
        now, batch_id, member = self.now, self.batch.pk, Contact.Role.MEMBER
        unknown = Contact.Gotv.UNKNOWN
        contacts = [
            (
                row.first_name,
                row.last_name,
                row.email,
                row.email_hash,
                row.mobile,
                row.school,
                row.district,
                row.role or member,
                row.notes,
                unknown,
                batch_id,
                now,
                now,
            )
            for row in rows
        ]
        given = [row.consent_at for row in rows]
        if self.created_cells is not None:
            self.created_cells.add(
                (row.district, row.role or member, row.consent_at) for row in rows
            )

        def job(raw) -> None:
            ids = insert_rows_on(raw, Contact, CONTACT_COLUMNS, contacts, returning_ids=True)
            source, wording, version, now = self.source, self.wording, self.version, self.now
            insert_rows_on(
                raw,
                ConsentRecord,
                CONSENT_COLUMNS,
                # _consent_values, spelt out: this runs for every new supporter.
                [
                    (pk, _EMAIL, at, source, wording, version, _IMPORTED, None, "", now)
                    for pk, at in zip(ids, given, strict=True)
                ],
            )

        # Runs while the next chunk is being cleaned (see CopyWorker).
        self.copier.submit(job)
        self.report.created += len(rows)

    def _changed_fields(self, row: Row, found: dict) -> dict:
        wanted = {
            "first_name": row.first_name,
            "last_name": row.last_name,
            "mobile": row.mobile,
            "school_id": row.school,
            "district_id": row.district,
            "notes": row.notes,
        }
        if row.role == Contact.Role.MEMBER:
            # "Rep? no" says the person is not a rep; it does not demote an activist.
            if found["role"] == Contact.Role.REP:
                wanted["role"] = Contact.Role.MEMBER
        elif row.role:
            wanted["role"] = row.role
        # A blank cell never erases what is stored.
        return {
            name: value
            for name, value in wanted.items()
            if value not in ("", None) and value != found[name]
        }

    def _apply_changes(self, changes: list[tuple[Row, dict, dict]]) -> None:
        groups: dict[tuple[str, ...], list[Contact]] = {}
        records: list[ImportChange] = []
        new_consents: list[ConsentRecord] = []
        consent_owner: list[ImportChange] = []
        for row, found, new in changes:
            if new:
                contact = Contact(pk=found["pk"], updated_at=self.now, **new)
                groups.setdefault(tuple(sorted(new)), []).append(contact)
            change = ImportChange(
                batch=self.batch,
                contact_id=found["pk"],
                previous={name: found[name] for name in new},
            )
            records.append(change)
            if not found["has_consent"]:
                new_consents.append(self._consent(found["pk"], row.consent_at))
                consent_owner.append(change)
        for fields, contacts in groups.items():
            Contact.objects.bulk_update(contacts, [*fields, "updated_at"], batch_size=1000)
        if new_consents:
            ConsentRecord.objects.bulk_create(new_consents, batch_size=2000)
            for change, consent in zip(consent_owner, new_consents, strict=True):
                change.consent_record_id = consent.pk
        ImportChange.objects.bulk_create(records, batch_size=2000)

    def _consent(self, contact_id: int, given_at: datetime) -> ConsentRecord:
        return ConsentRecord(
            **dict(zip(CONSENT_COLUMNS, self._consent_values(contact_id, given_at), strict=True))
        )

    def _consent_values(self, contact_id: int | None, given_at: datetime) -> tuple:
        return (
            contact_id,
            _EMAIL,
            given_at,
            self.source,
            self.wording,
            self.version,
            _IMPORTED,
            None,
            "",
            self.now,
        )
