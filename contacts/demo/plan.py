"""Pure generation: who the demo supporters are, drawn from seeded random streams."""

from __future__ import annotations

import random
import re
import unicodedata
from bisect import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import accumulate, islice

from contacts.demo.vocabulary import (
    ACTIVIST_PHONE_BANKER_SHARE,
    ASCII_FOLD_TABLE,
    CONSENT_MAX_AGE_DAYS,
    CONSENT_METHOD_WEIGHTS,
    CONSENT_SOURCES,
    CURRENT_CONSENT_SHARE,
    DISTRICT_QUALIFIERS,
    DISTRICTS,
    EMAIL_DOMAINS,
    FICTION_MOBILE_PREFIX,
    GAELIC_SCHOOL_PLACES,
    GOTV_WEIGHTS,
    IRISH_SCHOOL_PLACES,
    MIXED_NAME_SHARE,
    MOBILE_SHARE,
    NAME_POOLS,
    NO_SCHOOL_SHARE,
    ROLE_WEIGHTS,
    ROMANISED,
    SCHOOL_FAITH_SUFFIXES,
    SCHOOL_PLACES,
    SCHOOL_SAINTS,
    SCHOOL_SUFFIX_WEIGHTS,
    SCHOOL_SUFFIXES,
    TAG_SHARES,
    WELSH_SCHOOL_PLACES,
    WELSH_SCHOOL_PREFIXES,
    WITHDRAWN_CONSENT_SHARE,
    WITHDRAWN_HOW_WEIGHTS,
)
from contacts.models import Contact, name_key


@dataclass(frozen=True, slots=True)
class DistrictSpec:
    name: str
    region: str
    weight: float


@dataclass(frozen=True, slots=True)
class SchoolSpec:
    name: str
    urn: str
    district_index: int
    weight: float


@dataclass(frozen=True, slots=True)
class ConsentSpec:
    given_at: datetime
    method: str
    source: str
    withdrawn_at: datetime | None = None
    withdrawn_how: str = ""


@dataclass(frozen=True, slots=True)
class ContactSpec:
    number: int
    first_name: str
    last_name: str
    email: str
    mobile: str
    school_index: int | None
    district_index: int
    role: str
    gotv_status: str
    tags: tuple[str, ...]
    consent: ConsentSpec | None
    created_at: datetime


def stream(seed: int, stage: str) -> random.Random:
    """An independent, reproducible stream per stage (str seeds hash with SHA-512)."""
    return random.Random(f"turnout-demo:{seed}:{stage}")


def ascii_fold(text: str) -> str:
    """Lower-case ASCII letters and digits only: "Ó Súilleabháin" -> "osuilleabhain"."""
    text = "".join(ROMANISED.get(ch, ch) for ch in text).translate(ASCII_FOLD_TABLE)
    text = unicodedata.normalize("NFKD", text)
    return re.sub(r"[^a-z0-9]", "", text.encode("ascii", "ignore").decode().lower())


def _weighted(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(tuple(weights), weights=tuple(weights.values()))[0]


def plan_districts(
    rng: random.Random, count: int, taken: frozenset[str] = frozenset()
) -> list[DistrictSpec]:
    """``count`` district names, unique case-insensitively and against ``taken`` (casefolded)."""
    base = list(DISTRICTS)
    rng.shuffle(base)
    used = set(taken)
    plans: list[DistrictSpec] = []

    def candidates() -> Iterator[tuple[str, str]]:
        yield from base
        for qualifier in DISTRICT_QUALIFIERS:
            yield from ((f"{name} {qualifier}", region) for name, region in base)
        round_ = 2
        while True:
            yield from ((f"{name} {round_}", region) for name, region in base)
            round_ += 1

    for name, region in candidates():
        if len(plans) == count:
            break
        if name.casefold() in used:
            continue
        used.add(name.casefold())
        # Log-normal sizes: a few big cities, many small authorities.
        plans.append(DistrictSpec(name, region, rng.lognormvariate(0, 0.6)))
    return plans


def _school_name(rng: random.Random, district: DistrictSpec) -> tuple[str, float]:
    roll = rng.random()
    if district.region == "Wales" and roll < 0.35:
        prefix, size = rng.choice(WELSH_SCHOOL_PREFIXES)
        return f"{prefix} {rng.choice(WELSH_SCHOOL_PLACES)}", size
    if district.region == "Scotland" and roll < 0.03:
        return f"Bun-sgoil Ghàidhlig {rng.choice(GAELIC_SCHOOL_PLACES)}", 0.8
    if district.region == "Northern Ireland" and roll < 0.05:
        return f"Gaelscoil {rng.choice(IRISH_SCHOOL_PLACES)}", 0.6
    if roll < 0.22:
        nation = district.region if district.region in SCHOOL_FAITH_SUFFIXES else "England"
        suffix = rng.choice(SCHOOL_FAITH_SUFFIXES[nation])
        size = 1.0 if "Primary" in suffix or "Infant" in suffix or "Junior" in suffix else 3.0
        return f"{rng.choice(SCHOOL_SAINTS)} {suffix}", size
    if roll < 0.27:
        # "Newry Grammar School", not "Newry, Mourne and Down Grammar School".
        town = re.split(r",| and ", district.name)[0]
        kind, size = rng.choice(
            (("Grammar School", 3.0), ("Academy", 3.0), ("College", 2.5), ("Studio School", 0.6))
        )
        return f"{town} {kind}", size
    (suffix, size) = rng.choices(SCHOOL_SUFFIXES, weights=SCHOOL_SUFFIX_WEIGHTS)[0]
    return f"{rng.choice(SCHOOL_PLACES)} {suffix}", size


def plan_schools(
    rng: random.Random,
    districts: Sequence[DistrictSpec],
    count: int,
    taken_urns: frozenset[str] = frozenset(),
    first_urn: int = 100000,
) -> list[SchoolSpec]:
    """``count`` schools spread over ``districts``, unique by name within a district."""
    cum = list(accumulate(d.weight for d in districts))
    seen: set[tuple[int, str]] = set()
    plans: list[SchoolSpec] = []
    urn = first_urn
    for i in range(count):
        # Every district gets a school before the big ones take the rest.
        d = i if i < len(districts) else bisect(cum, rng.random() * cum[-1])
        district = districts[d]
        for attempt in range(20):
            name, size = _school_name(rng, district)
            if attempt == 19:
                name = f"{name} (Site {i})"
            if (d, name_key(name)) not in seen:
                break
        seen.add((d, name_key(name)))
        while str(urn) in taken_urns:
            urn += 1
        plans.append(SchoolSpec(name, str(urn), d, size * rng.uniform(0.5, 1.5)))
        urn += 1
    return plans


def _person(rng: random.Random, origins: Sequence[str], cum: Sequence[float]) -> tuple[str, str]:
    origin = origins[bisect(cum, rng.random() * cum[-1])]
    first = rng.choice(NAME_POOLS[origin][1])
    if rng.random() < MIXED_NAME_SHARE:
        origin = origins[bisect(cum, rng.random() * cum[-1])]
    return first, rng.choice(NAME_POOLS[origin][2])


def _consent(rng: random.Random, now: datetime) -> ConsentSpec | None:
    roll = rng.random()
    if roll >= CURRENT_CONSENT_SHARE + WITHDRAWN_CONSENT_SHARE:
        return None
    given_at = now - timedelta(seconds=rng.uniform(3600, CONSENT_MAX_AGE_DAYS * 86400))
    method = _weighted(rng, CONSENT_METHOD_WEIGHTS)
    source = rng.choice(CONSENT_SOURCES[method]).format(year=given_at.year)
    if roll < CURRENT_CONSENT_SHARE:
        return ConsentSpec(given_at, method, source)
    withdrawn_at = given_at + (now - given_at) * rng.uniform(0.05, 0.95)
    return ConsentSpec(
        given_at, method, source, withdrawn_at, _weighted(rng, WITHDRAWN_HOW_WEIGHTS)
    )


def plan_contacts(
    rng: random.Random,
    count: int,
    schools: Sequence[SchoolSpec],
    district_count: int,
    now: datetime,
) -> Iterator[ContactSpec]:
    """Yield ``count`` supporters lazily, so union scale never sits in memory at once."""
    origins = tuple(NAME_POOLS)
    origin_cum = list(accumulate(NAME_POOLS[o][0] for o in origins))
    school_cum = list(accumulate(s.weight for s in schools))
    roles, role_cum = tuple(ROLE_WEIGHTS), list(accumulate(ROLE_WEIGHTS.values()))
    gotvs, gotv_cum = tuple(GOTV_WEIGHTS), list(accumulate(GOTV_WEIGHTS.values()))
    domains = EMAIL_DOMAINS
    for number in range(1, count + 1):
        first, last = _person(rng, origins, origin_cum)
        local = f"{ascii_fold(first) or 'supporter'}.{ascii_fold(last) or 'member'}.{number}"
        email = f"{local}@{domains[rng.randrange(len(domains))]}"
        mobile = (
            f"{FICTION_MOBILE_PREFIX}{rng.randrange(1000):03d}"
            if rng.random() < MOBILE_SHARE
            else ""
        )
        if schools and rng.random() >= NO_SCHOOL_SHARE:
            school_index: int | None = bisect(school_cum, rng.random() * school_cum[-1])
            district_index = schools[school_index].district_index
        else:
            school_index, district_index = None, rng.randrange(district_count)
        role = roles[bisect(role_cum, rng.random() * role_cum[-1])]
        gotv = gotvs[bisect(gotv_cum, rng.random() * gotv_cum[-1])]
        tags = tuple(
            tag
            for tag, share in TAG_SHARES.items()
            if rng.random()
            < (
                ACTIVIST_PHONE_BANKER_SHARE
                if tag == "phone-banker" and role == Contact.Role.ACTIVIST
                else share
            )
        )
        consent = _consent(rng, now)
        created_at = (
            consent.given_at
            if consent is not None
            else now - timedelta(seconds=rng.uniform(3600, CONSENT_MAX_AGE_DAYS * 86400))
        )
        yield ContactSpec(
            number, first, last, email, mobile, school_index, district_index, role, gotv,
            tags, consent, created_at,
        )  # fmt: skip


def _chunks(items: Iterator[ContactSpec], size: int) -> Iterator[list[ContactSpec]]:
    while chunk := list(islice(items, size)):
        yield chunk
