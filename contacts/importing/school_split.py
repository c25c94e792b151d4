"""Splitting schools that imports before the URN rule merged.

The old importer matched a row whose URN it did not know to any same-named school in
the district, and dropped the URN: "St Mary's" URN 100 and "St Mary's" URN 200 became
one school. What imports stored is all there is to go on: each batch keeps its header
and the cells of every rejected row, so a stored row that names a supporter, a URN
and a school tells where that supporter belongs. Supporters no stored row speaks for
cannot be placed that way; the plan says so and which files to import again (the
importer now keeps schools apart by URN and moves each supporter to their school).

``schools_split_plan`` only reads; ``schools_split_apply`` carries a plan out in one
transaction and writes it to the audit trail.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from campaign.models import AuditEvent
from campaign.roles import can
from campaign.services import audit_record
from contacts.importing.cells import cell_text
from contacts.importing.columns import columns_map
from contacts.importing.errors import FileError
from contacts.models import Contact, District, ImportBatch, School, name_key

CHUNK = 2000


@dataclass
class Split:
    """One URN to take out of a merged school, and the supporters who go with it."""

    merged_id: int
    merged_label: str
    urn: str
    name: str
    district_id: int
    existing_id: int | None  # a school that already has the URN, if any
    contact_ids: list[int] = field(default_factory=list)
    evidence: set[int] = field(default_factory=set)  # batches whose rows said so


@dataclass
class Unresolved:
    """A school the stored rows show to be merged, with supporters they cannot place."""

    school_id: int
    label: str
    urns: set[str]
    contacts_unplaced: int
    batches: list[tuple[int, str, str]]  # (id, file name, when) to import again


@dataclass
class SplitPlan:
    splits: list[Split] = field(default_factory=list)
    unresolved: list[Unresolved] = field(default_factory=list)
    # Imports run before the URN rule whose files had a URN column: merges in them
    # leave no trace in stored data.
    unchecked: list[tuple[int, str, str]] = field(default_factory=list)

    @property
    def contacts_moved(self) -> int:
        return sum(len(split.contact_ids) for split in self.splits)

    @property
    def schools_created(self) -> int:
        return sum(1 for split in self.splits if split.existing_id is None and split.contact_ids)

    def lines(self, *, applied: bool) -> list[str]:
        verb = "Moved" if applied else "Would move"
        out: list[str] = []
        for split in self.splits:
            if not split.contact_ids:
                continue
            target = (
                f"school #{split.existing_id}"
                if split.existing_id
                else f'a new school "{split.name}"'
            )
            out.append(
                f"{verb} {len(split.contact_ids)} supporter(s) from {split.merged_label} to "
                f"{target} (URN {split.urn}), as rows kept by import(s) "
                + ", ".join(f"#{pk}" for pk in sorted(split.evidence))
                + " say."
            )
        for item in self.unresolved:
            files = "; ".join(f"#{pk} {name} ({when})" for pk, name, when in item.batches)
            out.append(
                f"{item.label[:1].upper()}{item.label[1:]} holds supporters of URNs {', '.join(sorted(item.urns))}, but "
                f"the stored data cannot tell which school {item.contacts_unplaced} of its "
                "supporters belong to. Import the original file(s) again with `manage.py "
                "import_supporters FILE --as USERNAME` (or the admin's Import page): each "
                "row with a URN now goes to its own school, and the move is recorded so the "
                f"import can be undone. Files: {files or 'unknown (added by hand)'}."
            )
        if self.unchecked:
            files = "; ".join(f"#{pk} {name} ({when})" for pk, name, when in self.unchecked)
            out.append(
                "These imports ran before schools were kept apart by URN and their files had "
                "a URN column; they keep no URN for the supporters they accepted, so a merge "
                "in them cannot be found or undone from stored data. If a school's sheet "
                "lists supporters of other same-named schools, import those files again "
                f"(as above): {files}."
            )
        if not out:
            out.append("No merged schools found in the stored import data.")
        return out


def _label(school: School) -> str:
    urn = f"URN {school.urn}" if school.urn else "no URN"
    return f'school #{school.pk} "{school.name}" ({urn}, {school.district.name})'


def _batch_ref(batch: ImportBatch) -> tuple[int, str, str]:
    when = batch.finished_at or batch.created_at
    return (batch.pk, batch.file_name, f"{when:%Y-%m-%d %H:%M}")


def _stored_rows(batch: ImportBatch):
    """(email, URN, school name, district name) of each stored row with a URN."""
    report = batch.report or {}
    try:
        columns = columns_map(
            list(report.get("headers", [])), (batch.options or {}).get("columns") or None
        )
    except FileError:
        return
    at = columns.index
    if "urn" not in at or "school" not in at:
        return
    for _number, cells, _why in report.get("rejected_rows", []):

        def get(name, cells=cells):
            position = at.get(name)
            return (
                cell_text(cells[position]) if position is not None and position < len(cells) else ""
            )

        email, urn, school = get("email").lower(), get("urn"), get("school")
        if email and urn and school:
            yield email, urn, school, " ".join(get("district").split())


def schools_split_plan() -> SplitPlan:
    """What a split would do, from what the imports stored; reads only."""
    plan = SplitPlan()
    evidence: list[tuple[int, str, str, str, str]] = []
    batches = ImportBatch.objects.filter(status=ImportBatch.Status.DONE).order_by("pk")
    for batch in batches.iterator(chunk_size=100):
        report = batch.report or {}
        if "urns_added" not in report and "urn" in columns_of(report):
            plan.unchecked.append(_batch_ref(batch))
        for email, urn, school, district in _stored_rows(batch):
            evidence.append((batch.pk, email, urn, school, district))
    if not evidence:
        return plan
    districts = {name.lower(): pk for pk, name in District.objects.values_list("pk", "name")}
    by_urn = dict(School.objects.exclude(urn=None).values_list("urn", "pk"))
    emails = sorted({row[1] for row in evidence})
    contacts = {
        email.lower(): (pk, school_id)
        for start in range(0, len(emails), CHUNK)
        for pk, email, school_id in Contact.objects.filter(
            email__in=emails[start : start + CHUNK]
        ).values_list("pk", "email", "school_id")
    }
    schools = School.objects.select_related("district").in_bulk(
        {school_id for _pk, school_id in contacts.values() if school_id}
    )
    splits: dict[tuple[int, str], Split] = {}
    folded: dict[int, set[str]] = defaultdict(set)
    placed: dict[int, set[int]] = defaultdict(set)
    for batch_id, email, urn, school_name, district_name in evidence:
        found = contacts.get(email)
        if found is None or found[1] is None:
            continue
        contact_id, school_id = found
        merged = schools[school_id]
        if merged.urn == urn or name_key(school_name) != merged.name_key:
            continue  # already right, or a different school altogether
        if districts.get(district_name.lower(), merged.district_id) != merged.district_id:
            continue
        folded[merged.pk].add(urn)
        split = splits.get((merged.pk, urn))
        if split is None:
            split = splits[(merged.pk, urn)] = Split(
                merged_id=merged.pk,
                merged_label=_label(merged),
                urn=urn,
                name=school_name,
                district_id=merged.district_id,
                existing_id=by_urn.get(urn),
            )
        if contact_id not in split.contact_ids:
            split.contact_ids.append(contact_id)
        split.evidence.add(batch_id)
        placed[merged.pk].add(contact_id)
    plan.splits = sorted(splits.values(), key=lambda s: (s.merged_id, s.urn))
    for school_id, urns in sorted(folded.items()):
        merged = schools[school_id]
        everyone = Contact.objects.filter(school_id=school_id)
        unplaced = everyone.exclude(pk__in=placed[school_id]).count()
        if merged.urn:
            urns = urns | {merged.urn}
        if unplaced and (len(urns) > 1 or not merged.urn):
            sources = ImportBatch.objects.filter(
                pk__in=everyone.exclude(source_import=None).values("source_import")
            ).order_by("pk")
            plan.unresolved.append(
                Unresolved(
                    school_id=school_id,
                    label=_label(merged),
                    urns=urns,
                    contacts_unplaced=unplaced,
                    batches=[_batch_ref(batch) for batch in sources],
                )
            )
    return plan


def columns_of(report: dict) -> set[str]:
    try:
        return set(columns_map(list(report.get("headers", []))).index)
    except FileError:
        return set()


@transaction.atomic
def schools_split_apply(*, plan: SplitPlan, actor) -> dict[str, int]:
    """Carry out ``plan``: new schools for the URNs taken out, supporters moved to them."""
    if not can(actor, "add", "contacts.importbatch"):
        raise PermissionDenied("Only organisers can split schools.")
    moves: list[list[int]] = []
    created: list[int] = []
    now = timezone.now()
    for split in plan.splits:
        if not split.contact_ids:
            continue
        target = split.existing_id
        if target is None:
            school = School.objects.create(
                name=split.name,
                name_key=name_key(split.name),
                urn=split.urn,
                district_id=split.district_id,
            )
            target = school.pk
            created.append(target)
        # Only supporters still where the plan found them: nothing changed meanwhile.
        ids = list(
            Contact.objects.filter(pk__in=split.contact_ids, school_id=split.merged_id)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        for start in range(0, len(ids), CHUNK):
            Contact.objects.filter(pk__in=ids[start : start + CHUNK]).update(
                school_id=target, district_id=split.district_id, updated_at=now
            )
        moves.extend([pk, split.merged_id, target] for pk in ids)
    counts = {"schools_created": len(created), "contacts_moved": len(moves)}
    audit_record(
        actor=actor,
        action=AuditEvent.Action.SCHOOLS_SPLIT,
        counts=counts,
        detail={
            "schools_created": created,
            # [contact, from school, to school], so a split can be put back by hand.
            "moves": moves,
            "unresolved_schools": [item.school_id for item in plan.unresolved],
        },
    )
    return counts
