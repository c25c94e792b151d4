"""Schools and districts for imported rows, created (in bulk) when new.

A URN identifies a school: a known one goes to its school whatever the spelling, a new
one is a new school (unless a same-named school in the district has no URN yet, which
then gets it). Without a URN a row matches the one school of that name in its
district, and none when several share it. Districts go by trimmed, case-insensitive
name."""

from __future__ import annotations

import re
from functools import lru_cache

from django.db import connection

from contacts.importing.errors import FileError
from contacts.importing.row import Row
from contacts.importing.writes import insert_rows, one_of
from contacts.models import District, School
from contacts.models import name_key as _name_key

_KEY_LENGTH = School._meta.get_field("name_key").max_length
_APOSTROPHES = re.compile(r"[’'`.]")
_NOT_WORD = re.compile(r"[^\w]+")


@lru_cache(maxsize=65536)  # the same school names recur on every chunk of a big file
def name_key(name: str) -> str:
    """``contacts.models.name_key``, with a shortcut for plain ASCII names (no accents
    to strip, so Unicode normalisation changes nothing); a test holds them equal."""
    if not name.isascii():
        return _name_key(name)
    folded = _APOSTROPHES.sub("", name.lower()).replace("&", " and ")
    return _NOT_WORD.sub(" ", folded).strip()


class NewSchool:
    """A school this import is about to create: just what COPY needs, normalised the
    way ``school_prepare`` does it (a test holds the two together)."""

    __slots__ = ("district_id", "name", "name_key", "pk", "urn")

    def __init__(self, *, name: str, urn: str | None, key: str | None = None) -> None:
        self.name = name.strip()
        self.name_key = key if key is not None and name == self.name else name_key(self.name)
        self.urn = (urn or "").strip() or None
        self.district_id: int | None = None
        self.pk: int | None = None


def _id(ref: int | NewSchool | District | None) -> int | None:
    return ref if ref is None or isinstance(ref, int) else ref.pk


def _key(ref: int | District) -> int | tuple[str, int]:
    return ref if isinstance(ref, int) else ("new", id(ref))


def _same(a: int | District, b: int | District) -> bool:
    return _key(a) == _key(b)


class PlacesMixin:
    """Part of the importer: needs ``districts``, ``by_urn``, ``by_key``,
    ``school_district``, ``pending_district``, ``school_book`` (a SchoolBook),
    ``created_*``, ``report``, ``col``, ``options`` and ``_warn`` from it."""

    def _remaps_load(self) -> None:
        """The organiser's choices from the preview: a new district or school name
        taken as an existing place (a misspelling), so nothing new is created for it.
        A choice that no longer fits (the place was removed or moved) stops the import:
        the organiser previews again rather than have rows land somewhere unexpected."""
        known = set(self.districts.values())
        self.district_names = {pk: name for name, pk in self.districts.items()}
        for pk, name in District.objects.filter(pk__in=known).values_list("pk", "name"):
            self.district_names[pk] = name
        for name, pk in self.options.districts.items():
            if pk not in known:
                raise FileError(
                    f'The district chosen for "{name}" no longer exists; preview the file '
                    "again; nothing was imported."
                )
            self.districts.setdefault(name.strip().lower(), pk)
        self.school_remap: dict[str, int] = {}
        if not self.options.schools:
            return
        found = {
            pk: (district_id, urn)
            for pk, district_id, urn in School.objects.filter(
                pk__in=set(self.options.schools.values())
            ).values_list("pk", "district_id", "urn")
        }
        for key, pk in self.options.schools.items():
            district_id = int(key.split(":", 1)[0])
            if pk not in found or found[pk][0] != district_id:
                raise FileError(
                    f'The school chosen for "{key.split(":", 1)[-1]}" is no longer in that '
                    "district; preview the file again; nothing was imported."
                )
            self.school_remap[key] = pk
            self.school_district[pk] = district_id
            self.school_book.urn_of[pk] = found[pk][1]

    def _resolve_places(self, rows: list[Row]) -> None:
        """Give each row a school and district: ids of existing ones, or new objects
        created here in bulk (a new district only if something ends up in it)."""
        self._load_schools(rows)
        new_districts: dict[str, District] = {}
        new_schools: list[NewSchool] = []
        has_district_column = self.col["district"] is not None
        for row in rows:
            district: int | District | None = None
            if row.district_name:
                key = row.district_name.lower()
                district = self.districts.get(key) or new_districts.get(key)
                if district is None:
                    district = new_districts[key] = District(name=row.district_name)
            row.school = self._match_school(row, district, new_schools)
            school_district = self._school_district(row.school)
            if school_district is not None:
                if district is not None and not _same(district, school_district):
                    self._warn(
                        row,
                        "district",
                        "district_mismatch",
                        f'The school is not in district "{row.district_name}"; the '
                        "school's own district was used.",
                    )
                row.district = school_district
            else:
                row.district = district
            if has_district_column and not row.district_name:
                self._warn(
                    row,
                    "district",
                    "missing_district",
                    "No district given; the school's district was used."
                    if row.district is not None
                    else "No district given and the school is not known, so the supporter "
                    "has no district yet.",
                )
        used = {id(row.district) for row in rows} | {
            id(self.pending_district[id(school)]) for school in new_schools
        }
        wanted = [d for d in new_districts.values() if id(d) in used]
        if wanted:
            District.objects.bulk_create(wanted)
            for created in wanted:
                self.districts[created.name.lower()] = created.pk
                self.district_names[created.pk] = created.name
                self.created_districts.append(created.pk)
                self.report.new_districts[created.name] = 0
            self.report.districts_created += len(wanted)
        book = self.school_book
        book.ambiguous.update((_id(d), key) for d, key in book.ambiguous_new.values())
        book.ambiguous_new.clear()
        self.report.ambiguous_names = len(book.ambiguous)
        if new_schools:
            for school in new_schools:
                school.district_id = _id(self.pending_district.pop(id(school)))
            ids = insert_rows(
                School,
                ("name", "name_key", "urn", "district_id"),
                [(s.name, s.name_key, s.urn, s.district_id) for s in new_schools],
                returning_ids=True,
            )
            for school, pk in zip(new_schools, ids, strict=True):
                school.pk = pk
            for school in new_schools:
                self.school_district[school.pk] = school.district_id
                self.created_schools.append(school.pk)
                book.created.add(school.pk)
                book.urn_of[school.pk] = school.urn
                self.new_school_at[school.pk] = len(self.report.new_schools)
                self.report.new_schools.append(
                    {
                        "name": school.name,
                        "key": school.name_key,
                        "urn": school.urn or "",
                        "district": self.district_names.get(school.district_id, ""),
                        # Only a school in an existing district can be mapped onto one.
                        "district_id": None
                        if school.district_id in self.created_districts
                        else school.district_id,
                        "rows": 0,
                    }
                )
            self.report.schools_created += len(new_schools)
        self._write_urns()
        # From here on every reference is an id (new objects now have theirs).
        new_district_names = {pk: self.district_names[pk] for pk in self.created_districts}
        for row in rows:
            row.district = _id(row.district)
            row.school = _id(row.school)
            if row.district in new_district_names:
                self.report.new_districts[new_district_names[row.district]] += 1
            at = self.new_school_at.get(row.school)
            if at is not None:
                self.report.new_schools[at]["rows"] += 1
        for school in new_schools:
            key = self.pending_key.pop(id(school))
            self.by_key[key] = [(_id(d), _id(s)) for d, s in self.by_key[key]]
            if school.urn:
                self.by_urn[school.urn] = school.pk

    def _write_urns(self) -> None:
        pending, self.school_book.pending_urns = self.school_book.pending_urns, []
        if not pending:
            return
        if connection.vendor == "postgresql":
            # One statement for the chunk: bulk_update's CASE over a thousand ids makes
            # the server compare each row with every id.
            table = connection.ops.quote_name(School._meta.db_table)
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {table} AS s SET urn = v.urn "  # noqa: S608 - fixed names
                    "FROM unnest(%s::bigint[], %s::text[]) AS v(id, urn) WHERE s.id = v.id",
                    [[pk for pk, _ in pending], [urn for _, urn in pending]],
                )
            return
        School.objects.bulk_update(
            [School(pk=pk, urn=urn) for pk, urn in pending], ["urn"], batch_size=1000
        )

    def _school_district(self, school: NewSchool | int | None) -> int | District | None:
        if school is None:
            return None
        if isinstance(school, NewSchool):
            return self.pending_district[id(school)]
        return self.school_district.get(school)

    def _urn_of(self, school: NewSchool | int) -> str | None:
        if isinstance(school, NewSchool):
            return school.urn
        return self.school_book.urn_of.get(school)

    def _load_schools(self, rows: list[Row]) -> None:
        if not self.had_schools:
            # Nothing to find in a table that was empty when the import began; the
            # schools it creates are remembered in by_urn and by_key.
            return
        urn_of = self.school_book.urn_of
        urns = {row.urn for row in rows if row.urn and row.urn not in self.by_urn}
        if urns:
            for pk, urn, district_id in School.objects.filter(one_of("urn", urns)).values_list(
                "pk", "urn", "district_id"
            ):
                self.by_urn[urn] = pk
                urn_of[pk] = urn
                self.school_district[pk] = district_id
            for urn in urns:
                self.by_urn.setdefault(urn, None)
        keys = {name_key(row.school_name) for row in rows if row.school_name}
        keys = {key for key in keys if key and key not in self.by_key}
        if keys:
            for pk, key, urn, district_id in (
                School.objects.filter(one_of("name_key", keys))
                .order_by("pk")
                .values_list("pk", "name_key", "urn", "district_id")
            ):
                self.by_key.setdefault(key, []).append((district_id, pk))
                urn_of[pk] = urn
                self.school_district[pk] = district_id
            for key in keys:
                self.by_key.setdefault(key, [])

    def _match_school(
        self, row: Row, district: int | District | None, new_schools: list[NewSchool]
    ) -> NewSchool | int | None:
        """A known URN, whatever the spelling; a new URN is a new school unless a
        same-named school in the district has no URN yet (it gets this one). Without
        a URN, the one school of that name in the district, if there is exactly one."""
        if row.urn:
            found = self.by_urn.get(row.urn)
            if found is not None:
                return found
        if not row.school_name:
            if row.urn:
                self._warn(
                    row,
                    "urn",
                    "unknown_school",
                    f"URN {row.urn} is not a school Turnout knows and the row has no school "
                    "name, so the school was left blank.",
                )
            return None
        key = name_key(row.school_name)
        candidates = self.by_key.setdefault(key, [])
        may_create = district is not None
        if district is None:
            districts = {_key(d) for d, _ in candidates}
            if len(districts) != 1:
                self._warn(
                    row,
                    "school",
                    "unknown_school",
                    f'School "{row.school_name}" '
                    + (
                        "is in more than one district"
                        if candidates
                        else "is not a school Turnout knows"
                    )
                    + " and the row gives no district or known URN, so the school was left "
                    "blank.",
                )
                return None
            district = candidates[0][0]
        here = [school for d, school in candidates if _same(d, district)]
        if row.urn:
            # A URN nobody has yet.
            bare = [school for school in here if self._urn_of(school) is None]
            if len(bare) == 1:
                return self._record_urn(row, bare[0])
            if not may_create:
                self._warn(
                    row,
                    "urn",
                    "unknown_school",
                    f"URN {row.urn} is not a school Turnout knows and the row gives no "
                    "district, so the school could not be added and was left blank; add "
                    "the district.",
                )
                return None
        elif len(here) == 1:
            return here[0]
        elif here:
            self._ambiguous(row, district, key, here)
            return None
        if isinstance(district, int):
            mapped = self.school_remap.get(f"{district}:{key}")
            if mapped is not None:
                # The organiser said this name is that existing school: later rows of
                # the same name find it among the candidates.
                if (district, mapped) not in candidates:
                    candidates.append((district, mapped))
                return mapped
        if len(key) > _KEY_LENGTH:
            # "&" becomes " and " in the key: a name that fits can still outgrow it.
            self._warn(
                row,
                "school",
                "too_long",
                f"The school name is too long for Turnout to compare with others (it keeps at "
                f'most {_KEY_LENGTH} characters, counting each & as "and"), so it was left '
                "out and the rest was imported. Shorten it and upload the row again.",
            )
            return None
        school = NewSchool(name=row.school_name, urn=row.urn, key=key)
        self.pending_district[id(school)] = district
        self.pending_key[id(school)] = key
        new_schools.append(school)
        candidates.append((district, school))
        if row.urn:
            self.by_urn[row.urn] = school
        return school

    def _record_urn(self, row: Row, school: NewSchool | int) -> NewSchool | int:
        """Give a school that had no URN the row's: it is the same school, now known."""
        self.by_urn[row.urn] = school
        if isinstance(school, NewSchool):
            school.urn = row.urn
            return school
        book = self.school_book
        book.urn_of[school] = row.urn
        book.pending_urns.append((school, row.urn))
        if school not in book.created:
            self.report.urns_recorded.append((school, row.urn))
            self.report.urns_added += 1
            self._warn(
                row,
                "urn",
                "urn_added",
                f'URN {row.urn} was recorded on the school "{row.school_name}", which had '
                "no URN yet.",
            )
        return school

    def _ambiguous(
        self, row: Row, district: int | District, key: str, schools: list[NewSchool | int]
    ) -> None:
        book = self.school_book
        if isinstance(district, int):
            book.ambiguous.add((district, key))
        else:  # a district this chunk creates: counted once it has an id
            book.ambiguous_new[(id(district), key)] = (district, key)
        urns = sorted(urn for urn in map(self._urn_of, schools) if urn)
        bare = len(schools) - len(urns)
        named = ", ".join(urns) + (f"{' and ' if urns else ''}{bare} without a URN" if bare else "")
        where = f'district "{row.district_name}"' if row.district_name else "its district"
        self._warn(
            row,
            "school",
            "ambiguous_school",
            f'School "{row.school_name}" matches {len(schools)} schools in {where} '
            f"(URNs {named}), so the school was left blank; add the school's URN to the row "
            "and upload it again.",
        )


class SchoolBook:
    """What the importer learns about schools as it goes (see PlacesMixin)."""

    def __init__(self) -> None:
        self.urn_of: dict[int, str | None] = {}  # school id -> its URN
        self.created: set[int] = set()  # schools this import created
        self.pending_urns: list[tuple[int, str]] = []  # URNs to write this chunk
        # (district id, name key) of names that matched several schools in a district.
        self.ambiguous: set[tuple[int, str]] = set()
        self.ambiguous_new: dict[tuple[int, str], tuple[District, str]] = {}
