"""``seed_demo`` at union scale, against a naive row-by-row loader as the baseline.

The baseline is what a first attempt would look like: ``Contact.objects.create`` and
``ConsentRecord.objects.create`` (and ``tags.add``) per supporter, each in its own
autocommit transaction, fed by the very same generator. It is timed on the first
5,000 supporters of an empty database, where row-by-row is at its fastest, and its rate
extrapolated; so the ratio understates, if anything, what bulk loading buys.

Run directly as ``python -m bench.seed naive --contacts N ...`` it is that baseline.
"""

from __future__ import annotations

import argparse
import json
import re
import sys

from bench import UNION_CONTACTS as CONTACTS
from bench import UNION_DISTRICTS as DISTRICTS
from bench import UNION_SCHOOLS as SCHOOLS
from bench import BenchError, Context, Figure

NAIVE_CONTACTS = 5_000
TARGET_SECONDS = 300.0
# The loader works in 5,000-row chunks, so memory must not grow with the membership.
TARGET_PEAK_MB = 512.0
SEED = 1


def run(ctx: Context) -> list[Figure]:
    contacts, schools, districts = ctx.union_sizes()
    naive_contacts = min(ctx.scaled(NAIVE_CONTACTS, minimum=100), contacts)
    sizes = ["--schools", str(schools), "--districts", str(districts), "--seed", str(SEED)]

    print(f"  naive baseline: {naive_contacts:,} supporters row by row", flush=True)
    naive = ctx.python("-m", "bench.seed", "naive", "--contacts", str(naive_contacts), *sizes)
    naive_result = json.loads(naive.stdout.strip().splitlines()[-1])
    naive_rate = naive_result["contacts"] / naive_result["seconds"]

    ctx.reset_database()
    print(
        f"  seed_demo --contacts {contacts:,} --schools {schools:,} --districts {districts}",
        flush=True,
    )
    bulk = ctx.manage("seed_demo", "--contacts", str(contacts), *sizes)
    rows = _row_counts(ctx)
    if rows["contacts_contact"] != contacts:
        raise BenchError(f"seed_demo wrote {rows['contacts_contact']} contacts, not {contacts}.")
    reported = re.search(r"in ([\d.]+) s\.", bulk.stdout)
    bulk_rate = contacts / bulk.seconds
    # Targets are set at union scale; a smoke run's start-up costs would distort a verdict.
    full = ctx.scale == 1.0
    at_scale = "" if full else " (at scale 1)"
    label = f"{contacts:,} contacts, {schools:,} schools, {districts} districts"
    naive_name = f"row-by-row create(), extrapolated from {naive_result['contacts']:,}"
    return [
        Figure(
            name=f"seed_demo wall time ({label})",
            value=bulk.seconds,
            unit="s",
            target=f"< {TARGET_SECONDS:.0f} s{at_scale}",
            passed=bulk.seconds < TARGET_SECONDS if full else None,
            baseline=contacts / naive_rate,
            baseline_name=naive_name,
            higher_is_better=False,
            notes=(
                "Whole `python manage.py seed_demo` process, start-up included"
                + (f" (the command's own timer: {reported.group(1)} s)" if reported else "")
                + f"; wrote {rows['contacts_consentrecord']:,} consent records and "
                f"{rows['contacts_contact_tags']:,} tag links too. One transaction, "
                "5,000-row bulk_create chunks."
            ),
        ),
        Figure(
            name="seed_demo throughput",
            value=bulk_rate,
            unit="contacts/s",
            target=f"≥ {CONTACTS / TARGET_SECONDS:,.0f} contacts/s{at_scale}",
            passed=bulk_rate >= CONTACTS / TARGET_SECONDS if full else None,
            baseline=naive_rate,
            baseline_name=naive_name,
            notes=(
                f"Baseline measured: {naive_result['contacts']:,} supporters in "
                f"{naive_result['seconds']:.1f} s, each with its consent record and tags."
            ),
        ),
        Figure(
            name="seed_demo peak memory (RSS)",
            value=bulk.peak_rss_mb,
            unit="MB",
            target=f"< {TARGET_PEAK_MB:.0f} MB{at_scale}",
            passed=bulk.peak_rss_mb < TARGET_PEAK_MB if full else None,
            baseline=naive.peak_rss_mb,
            baseline_name=f"row-by-row, {naive_result['contacts']:,} contacts",
            higher_is_better=False,
            notes="Peak resident set size of the child process (wait4 ru_maxrss).",
        ),
    ]


def _row_counts(ctx: Context) -> dict[str, int]:
    tables = ("contacts_contact", "contacts_consentrecord", "contacts_contact_tags")
    return {table: ctx.query_one(f"SELECT count(*) FROM {table}") for table in tables}  # noqa: S608 - fixed names


def naive_main(argv: list[str]) -> None:
    """The baseline loader; prints one JSON line: supporters written and seconds taken."""
    parser = argparse.ArgumentParser(prog="python -m bench.seed naive")
    parser.add_argument("--contacts", type=int, default=NAIVE_CONTACTS)
    parser.add_argument("--schools", type=int, default=SCHOOLS)
    parser.add_argument("--districts", type=int, default=DISTRICTS)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)

    import os
    import time

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "campaign.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.utils import timezone

    from contacts.demo import SeedOptions, plan_contacts, plan_districts, plan_schools, seed, stream
    from contacts.models import ConsentRecord, Contact, District, School, Tag

    # Untimed: the same districts, schools and tags seed_demo makes, in the same order.
    seed(SeedOptions(contacts=0, schools=args.schools, districts=args.districts, seed=args.seed))
    districts = plan_districts(stream(args.seed, "districts"), args.districts)
    schools = plan_schools(stream(args.seed, "schools"), districts, args.schools)
    district_ids = list(District.objects.order_by("pk").values_list("pk", flat=True))
    school_ids = list(School.objects.order_by("pk").values_list("pk", flat=True))
    tags = {tag.name: tag for tag in Tag.objects.all()}

    started = time.perf_counter()
    specs = plan_contacts(
        stream(args.seed, "contacts"), args.contacts, schools, len(districts), timezone.now()
    )
    for spec in specs:
        contact = Contact.objects.create(
            first_name=spec.first_name,
            last_name=spec.last_name,
            email=spec.email,
            mobile=spec.mobile,
            school_id=school_ids[spec.school_index] if spec.school_index is not None else None,
            district_id=district_ids[spec.district_index],
            role=spec.role,
            gotv_status=spec.gotv_status,
            created_at=spec.created_at,
        )
        if (c := spec.consent) is not None:
            ConsentRecord.objects.create(
                contact=contact,
                given_at=c.given_at,
                source=c.source,
                wording=settings.CONSENT_DEFAULT_WORDING,
                version=settings.CONSENT_DEFAULT_VERSION,
                method=c.method,
                withdrawn_at=c.withdrawn_at,
                withdrawn_how=c.withdrawn_how,
            )
        for name in spec.tags:
            contact.tags.add(tags[name])
    seconds = time.perf_counter() - started
    print(json.dumps({"contacts": args.contacts, "seconds": seconds}))


if __name__ == "__main__":
    if sys.argv[1:2] != ["naive"]:
        sys.exit("usage: python -m bench.seed naive [--contacts N] [--schools N] [--districts N]")
    naive_main(sys.argv[2:])
