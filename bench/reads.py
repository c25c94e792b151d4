"""Union-wide reads at 450,000 supporters: the pages an organiser, a volunteer of two
districts and a district lead wait for, through Django's request handling.

Measured in one child process (``python -m bench.reads measure``) on the union-sized
demo database (``seed_demo``; reused when it is already there, see ``REUSES_DATABASE``),
with production settings (DEBUG off, no query log) and the test ``Client`` (no HTTP):
organiser home, supporter list page 1 and a deep page, search "smith", a search
matching nobody, a search by email, and the audience builder's live count (everyone,
one district, one tag). The baseline is the same requests answered by the code before
the supporter tally and the search indexes (bench/baseline_reads.py), patched into the
same views in the same process, so both sides share the machine's load of the moment.

The audience builder's live-count endpoint belongs to the composer (web app part 2);
until it lands the benchmark serves ``audience_breakdown_for`` from a view of its own
(bench/reads_urls.py) with the same login, middleware and JSON response.

Run directly: ``python -m bench.reads measure --repeats 20 --baseline-repeats 3``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

from bench import BenchError, Context, Figure, run_measured

REUSES_DATABASE = True
REPEATS = 20
BASELINE_REPEATS = 3
WARMUPS = 2
DEEP_PAGE = 500
NOBODY = "zzqxvj"
TARGETS_MS = {"home": 200.0, "list": 300.0, "search": 300.0, "audience": 150.0}


def run(ctx: Context) -> list[Figure]:
    ctx.manage("migrate", "--noinput", "-v", "0")
    seeded = ctx.ensure_demo_data()
    if seeded is not None:
        print(f"  seeded the union in {seeded.seconds:.0f} s", flush=True)
    contacts = ctx.query_one("SELECT count(*) FROM contacts_contact")
    print(
        f"  {contacts:,} supporters; VACUUM ANALYZE (statistics and visibility as autovacuum keeps them)"
    )
    ctx.vacuum_analyze()
    load_before = os.getloadavg()[0]
    env = ctx.env()
    # Production settings: no query log, as a deployed web worker runs.
    env.update(DEBUG="0", ALLOWED_HOSTS="localhost", STATIC_ROOT=str(ctx.var_dir / "static"))
    collect = [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"]
    if run_measured(collect, env=env, timeout=ctx.timeout).returncode != 0:
        raise BenchError("collectstatic failed (production settings serve hashed static files).")
    args = [sys.executable, "-m", "bench.reads", "measure"]
    args += ["--repeats", str(REPEATS), "--baseline-repeats", str(BASELINE_REPEATS)]
    child = run_measured(args, env=env, timeout=ctx.timeout)
    if child.returncode != 0:
        tail = "\n".join(child.stderr.strip().splitlines()[-30:])
        raise BenchError(f"bench.reads child exited with {child.returncode}:\n{tail}")
    lines = child.stdout.strip().splitlines()
    for line in lines[:-1]:
        print(f"    {line}", flush=True)
    result = json.loads(lines[-1])
    result["load"] = (load_before, os.getloadavg()[0])
    result["contacts"] = contacts
    return figures(result, full=ctx.scale >= 1.0)


def figures(result: dict, *, full: bool) -> list[Figure]:
    out = []
    load = result["load"]
    for read in result["reads"]:
        target = TARGETS_MS[read["kind"]]
        new, old = read["new"], read.get("old")
        out.append(
            Figure(
                name=f"{read['label']} — {read['user']} (p95)",
                value=new["p95"],
                unit="ms",
                target=f"p95 ≤ {target:.0f} ms" + ("" if full else " (at scale 1)"),
                passed=new["p95"] <= target if full else None,
                baseline=old["p95"] if old else None,
                baseline_name="the same request, reads before the tally and indexes",
                higher_is_better=False,
                notes=(
                    f"p50 {new['p50']:.1f} ms over {new['n']} requests"
                    + (f"; baseline p50 {old['p50']:.0f} ms over {old['n']}" if old else "")
                    + (f"; {read['detail']}" if read.get("detail") else "")
                ),
            )
        )
    out[0].notes += (
        f". {result['contacts']:,} supporters. The machine is shared with other engineers' "
        f"work today: 1-minute load average {load[0]:.1f} before and {load[1]:.1f} after "
        "(2 cores), so every figure, baseline included, is slower than on an idle machine."
    )
    return out


# --- child side (Django) ------------------------------------------------------------


def _users():
    from django.contrib.auth import get_user_model
    from django.db.models import Count

    from campaign.models import TeamMember
    from campaign.roles import Role
    from contacts.models import District

    User = get_user_model()
    biggest = list(District.objects.annotate(n=Count("contacts")).order_by("-n", "pk")[:2])
    made = {}
    for username, role, districts in (
        ("bench-reads-organiser", Role.ORGANISER, []),
        ("bench-reads-volunteer", Role.VOLUNTEER, biggest[:2]),
        ("bench-reads-lead", Role.LEAD, biggest[:1]),
    ):
        user, _ = User.objects.get_or_create(username=username, defaults={"is_staff": True})
        member, _ = TeamMember.objects.update_or_create(user=user, defaults={"role": role})
        member.districts.set(districts)
        made[role.value] = user
    return made, biggest


def _verify_second_factor(client, user) -> None:
    """Organisers need a verified second factor in production: give this one a TOTP
    device and mark the session verified, as signing in with a code does."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device, _ = TOTPDevice.objects.get_or_create(
        user=user, name="bench", defaults={"confirmed": True}
    )
    session = client.session
    session["otp_device_id"] = device.persistent_id
    session.save()


def _time(client, url, repeats: int, warmups: int) -> dict:
    """GET a URL, or POST (url, data): the supporter search posts, so nobody's address
    lands in a URL."""

    def request():
        if isinstance(url, tuple):
            return client.post(url[0], url[1])
        return client.get(url)

    for _ in range(warmups):
        response = request()
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        response = request()
        samples.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
    samples.sort()
    p95 = samples[min(len(samples) - 1, max(0, round(0.95 * len(samples)) - 1))]
    return {"p50": statistics.median(samples), "p95": p95, "n": len(samples)}


def _explain(user, email: str, biggest) -> None:
    from django.db import connection

    from contacts import selectors
    from contacts.aggregates import tally_sum
    from contacts.models import Tag
    from mailings.selectors import AudienceFilters, audience_contacts_for

    def show(title: str, queryset) -> None:
        print(f"EXPLAIN ANALYZE — {title}")
        for line in queryset.explain(analyze=True).splitlines():
            print(f"  {line}")

    from django.db.models import Sum

    show(
        "audience count, everyone (the tally)",
        tally_sum().values_list("state").annotate(total=Sum("n")),
    )
    show(
        "audience count, one district (the tally)",
        tally_sum(district_ids=[biggest[0].pk], include_no_district=False)
        .values_list("state")
        .annotate(total=Sum("n")),
    )
    tag = Tag.objects.order_by("pk").first()
    if tag is not None:
        from django.db.models import Count
        from django.utils import timezone

        from contacts.aggregates import email_state

        contacts = audience_contacts_for(user=user, filters=AudienceFilters(tag_ids=(tag.pk,)))
        show(
            f"audience count, tag {tag.name!r} union-wide (one indexed pass)",
            contacts.annotate(state=email_state(timezone.now()))
            .values_list("state")
            .annotate(n=Count("pk"))
            .order_by(),
        )
    for query in ("smith", NOBODY, email):
        found = selectors.contact_list(user=user, query=query)
        show(f"search {query!r}, page 1 ids", found.values_list("pk", flat=True)[:50])
        show(f"search {query!r}, bounded count", found.order_by().values("pk")[:10_001])
    connection.close()


def _union_drives(organiser) -> list:
    """Three drives to everyone, as a campaign's weeks leave them (two sent, the third
    paused a third of the way), made once and kept with the demo database. Paused, not
    sending: the consumers of later benchmarks must not pick it up."""
    from datetime import timedelta

    from django.utils import timezone

    from bench.drive_children import child_create
    from mailings.models import DeliveryEvent, Mailing, Recipient
    from mailings.services import mailing_snapshot_continue, mailing_start

    names = [f"Bench reads: everyone, week {week}" for week in (1, 2, 3)]
    made = list(Mailing.objects.filter(name__in=names).order_by("pk"))
    if len(made) == len(names):
        for mailing in made[:-1]:
            if not DeliveryEvent.objects.filter(mailing=mailing).exists():
                _delivery_events(mailing.pk, mailing.finished_at)
        return made
    Mailing.objects.filter(name__in=names).delete()
    now = timezone.now()
    for week, name in enumerate(names, start=1):
        mailing = Mailing.objects.get(pk=child_create("*")["mailing_id"])
        Mailing.objects.filter(pk=mailing.pk).update(name=name)
        mailing = mailing_start(actor=organiser, mailing=Mailing.objects.get(pk=mailing.pk))
        while mailing.is_listing:  # the listing task's steps, here rather than in a consumer
            mailing_snapshot_continue(mailing_id=mailing.pk)
            mailing.refresh_from_db()
        rows = Recipient.objects.filter(mailing=mailing)
        when = now - timedelta(days=7 * (len(names) - week))
        if week < len(names):
            rows.update(status=Recipient.Status.SENT, sent_at=when)
            Mailing.objects.filter(pk=mailing.pk).update(status="done", finished_at=when)
            _delivery_events(mailing.pk, when)
        else:
            rows.filter(batch__lt=mailing.batch_count // 3).update(
                status=Recipient.Status.SENT, sent_at=when
            )
            Mailing.objects.filter(pk=mailing.pk).update(status="paused")
        print(f"made {name}: {mailing.recipient_count:,} rows", file=sys.stderr, flush=True)
    return list(Mailing.objects.filter(name__in=names).order_by("pk"))


# A sent drive's events a few days on, per 1,000 recipients (by row id), as ESPs report
# them: (type, bounce, from, to) of the id's remainder; opens and clicks come twice
# for some (one recipient opening again), so the report's distinct counts do work.
EVENT_MIX = [
    ("delivered", "", 0, 970),
    ("bounced", "hard", 970, 975),
    ("bounced", "soft", 975, 985),
    ("deferred", "soft", 985, 990),
    ("opened", "", 0, 350),
    ("opened", "", 100, 200),
    ("clicked", "", 0, 60),
    ("complained", "", 990, 991),
    ("unsubscribed", "", 991, 994),
]


def _delivery_events(mailing_id: int, when) -> None:
    """Insert a union-wide drive's delivery events in a few statements (about 1.5 per
    recipient: 570,000 for the union's 382,140)."""
    from django.db import connection

    sql = """
        INSERT INTO mailings_deliveryevent (esp, event_key, event_type, bounce, occurred_at,
            received_at, mailing_id, recipient_id, address_hash, message_id, reject_reason,
            description)
        SELECT 'mailgun', md5(r.id::text || %s), %s, %s, %s + (r.id %% 7200) * interval '1 second',
            %s, r.mailing_id, r.id, r.email_hash, r.id::text || '.bench@mg.example.org', '', ''
        FROM mailings_recipient r
        WHERE r.mailing_id = %s AND r.id %% 1000 >= %s AND r.id %% 1000 < %s
    """
    with connection.cursor() as cursor:
        for n, (kind, bounce, low, high) in enumerate(EVENT_MIX):
            cursor.execute(sql, [f"-{kind}-{n}", kind, bounce, when, when, mailing_id, low, high])


def measure(repeats: int, baseline_repeats: int) -> dict:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "campaign.settings")
    django.setup()
    from django.conf import settings
    from django.db.models import Count
    from django.test import Client

    import bench.reads_urls as reads_urls
    from bench import baseline_reads
    from campaign import views as campaign_views
    from contacts import selectors
    from contacts import views as contact_views
    from contacts.models import Contact, School, Tag
    from mailings.models import DeliveryEvent

    settings.ROOT_URLCONF = "bench.reads_urls"
    users, biggest = _users()
    tag = Tag.objects.order_by("pk").first()

    class OldSelectors:
        """contacts.selectors as the views saw it before: old reads, same names."""

        def __getattr__(self, name):
            return getattr(baseline_reads, name, None) or getattr(selectors, name)

    from campaign import selectors as campaign_selectors

    new_turnout = campaign_selectors.district_turnout
    from bench import baseline_drives
    from mailings import reports
    from mailings import selectors as mailing_selectors
    from mailings.app import report as report_views
    from mailings.app import selectors as drive_selectors

    new_counts, new_lines = mailing_selectors.recipient_counts, drive_selectors.drive_lines
    new_voted_clicks, new_report_shown = reports.voted_clicks, report_views.drive_report_shown
    weeks = _union_drives(users["organiser"])

    def use(old: bool) -> None:
        mailing_selectors.recipient_counts = baseline_drives.recipient_counts if old else new_counts
        drive_selectors.drive_lines = baseline_drives.drive_lines if old else new_lines
        campaign_views.contact_counts = (
            baseline_reads.contact_counts if old else selectors.contact_counts
        )
        campaign_selectors.district_turnout = (
            baseline_reads.district_turnout if old else new_turnout
        )
        contact_views.selectors = OldSelectors() if old else selectors
        reports.voted_clicks = baseline_drives.voted_clicks if old else new_voted_clicks
        report_views.drive_report_shown = (
            baseline_drives.drive_report_shown if old else new_report_shown
        )
        reads_urls.OLD = old

    reads = []
    for role, user in users.items():
        label_user = {
            "organiser": "organiser",
            "volunteer": "volunteer of two districts",
            "lead": "district lead",
        }[role]
        client = Client(HTTP_HOST="localhost")
        client.force_login(user)
        if role == "organiser":
            _verify_second_factor(client, user)
        visible = Contact.objects.visible_to(user)
        email = visible.order_by("pk").values_list("email", flat=True)[1000]
        pages = -(-visible.count() // 50)
        deep = min(DEEP_PAGE, pages)
        district = biggest[0].pk
        plan = [
            ("home", "home (dashboard)", "/", ""),
            ("list", "supporter list, page 1", "/contacts/", ""),
            ("list", f"supporter list, page {deep}", f"/contacts/?page={deep}", ""),
            ("search", 'search "smith"', ("/contacts/", {"q": "smith"}), ""),
            ("search", "search matching nobody", ("/contacts/", {"q": NOBODY}), ""),
            ("search", "search by email", ("/contacts/", {"q": email}), ""),
            (
                "list",
                "supporters not yet voted, no email consent (filters)",
                "/contacts/?gotv=not_voted&consent=no",
                "",
            ),
            ("audience", "audience live count, everyone", "/bench/audience-count/", ""),
            (
                "audience",
                "audience live count, one district",
                f"/bench/audience-count/?district={district}",
                "",
            ),
        ]
        if role == "lead":
            # The lead's GOTV workspace: their schools, the chase list, and the tick-off
            # page of their biggest school. New pages: no "before" to compare with.
            school = (
                School.objects.filter(district=biggest[0])
                .annotate(n=Count("contacts"))
                .order_by("-n", "pk")
                .first()
            )
            plan += [
                ("list", "My schools", "/canvass/my-schools/", "new page, no baseline"),
                ("list", "chase list", "/canvass/chase/", "new page, no baseline"),
                (
                    "list",
                    f"tick-off page, biggest school ({school.n} supporters)",
                    f"/canvass/schools/{school.pk}/tick/",
                    "new page, no baseline",
                ),
            ]
        if role == "organiser":
            plan += [
                ("list", "drives list (three union-wide drives among them)", "/drives/", ""),
                (
                    "list",
                    "live page of a union-wide drive (paused mid-send)",
                    f"/drives/{weeks[-1].pk}/",
                    f"{weeks[-1].recipient_count:,} rows",
                ),
                (
                    "list",
                    "report of a union-wide drive (sent, with its delivery events)",
                    f"/drives/{weeks[0].pk}/report/",
                    f"{weeks[0].recipient_count:,} rows, "
                    f"{DeliveryEvent.objects.filter(mailing=weeks[0]).count():,} events",
                ),
            ]
        if tag is not None and role == "organiser":
            plan.append(
                (
                    "audience",
                    f"audience live count, tag {tag.name!r}",
                    f"/bench/audience-count/?tag={tag.pk}",
                    "schools and tags are not in the tally: one indexed pass",
                )
            )
        for kind, label, url, detail in plan:
            use(old=False)
            new = _time(client, url, repeats, WARMUPS)
            old = None
            if "no baseline" not in detail:
                use(old=True)
                old = _time(client, url, baseline_repeats, 1)
                use(old=False)
            print(
                f"{label_user:28} {label:40} p50 {new['p50']:7.1f} ms  p95 {new['p95']:7.1f} ms"
                + (
                    f"   baseline p50 {old['p50']:8.0f} ms  p95 {old['p95']:8.0f} ms" if old else ""
                ),
                flush=True,
            )
            reads.append(
                {
                    "user": label_user,
                    "kind": kind,
                    "label": label,
                    "url": url[0] if isinstance(url, tuple) else url,
                    "new": new,
                    "old": old,
                    "detail": detail,
                }
            )
        if role == "organiser":
            _explain(user, email, biggest)
    return {"reads": reads}


if __name__ == "__main__":
    if sys.argv[1:2] != ["measure"]:
        sys.exit("usage: python -m bench.reads measure [--repeats N] [--baseline-repeats N]")
    parser = argparse.ArgumentParser(prog="python -m bench.reads measure")
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--baseline-repeats", type=int, default=BASELINE_REPEATS)
    options = parser.parse_args(sys.argv[2:])
    print(json.dumps(measure(options.repeats, options.baseline_repeats)))
