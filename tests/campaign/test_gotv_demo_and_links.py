"""The demo is alive (its ballot open, some supporters already voted, with history) and
links point at the address the product is served on."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from django.core.management import call_command
from django.utils import timezone

from campaign.management.commands.serve import child_environ
from campaign.models import Campaign
from contacts.models import Contact, GotvEvent

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_campaigns_ballot_opened_a_few_days_ago_and_closes_in_three_weeks(db):
    call_command("seed_demo", "--contacts", "400", "--schools", "8", "--districts", "2")
    campaign = Campaign.objects.get(is_active=True)
    now = timezone.now()

    assert campaign.ballot_is_open(now)
    assert timedelta(days=2) < now - campaign.ballot_opens < timedelta(days=4)
    assert timedelta(days=20) < campaign.ballot_closes - now < timedelta(days=22)


def test_some_demo_supporters_already_voted_and_their_history_says_so(db):
    call_command("seed_demo", "--contacts", "600", "--schools", "8", "--districts", "2")
    campaign = Campaign.objects.get(is_active=True)
    voted = Contact.objects.filter(gotv_status=Contact.Gotv.VOTED)

    assert 0 < voted.count() < Contact.objects.count() * 0.15  # a small share
    events = GotvEvent.objects.filter(status=Contact.Gotv.VOTED)
    assert set(events.values_list("contact_id", flat=True)) == set(
        voted.values_list("pk", flat=True)
    )
    for event in events:
        assert campaign.ballot_opens <= event.created_at <= timezone.now()
    # Every status other than unknown has the history that explains it.
    with_status = Contact.objects.exclude(gotv_status=Contact.Gotv.UNKNOWN)
    assert GotvEvent.objects.count() == with_status.count()
    pledges = GotvEvent.objects.filter(status=Contact.Gotv.PLEDGED)
    assert pledges.exists() and all(e.created_at < campaign.ballot_opens for e in pledges)


def _settings_value(expression: str, **env) -> str:
    environ = {
        key: value
        for key, value in os.environ.items()
        if key not in {"SITE_URL", "PORT", "DJANGO_SETTINGS_MODULE"}
        and not key.startswith("PYTEST")
    }
    environ.update(DEBUG="1", DJANGO_SETTINGS_MODULE="campaign.settings", **env)
    code = f"import django; django.setup(); {expression}"
    return subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()


def test_site_url_follows_the_port_the_product_is_served_on():
    voted = "from campaign.links import voted_url; print(voted_url(recipient_id=7))"
    assert _settings_value(voted, PORT="8101").startswith("http://127.0.0.1:8101/voted/")
    assert _settings_value(voted).startswith("http://127.0.0.1:8000/voted/")
    unsubscribe = (
        "from campaign.links import absolute_url; from django.urls import reverse; "
        "print(absolute_url(reverse('unsubscribe', args=['t'])))"
    )
    assert _settings_value(unsubscribe, PORT="8101") == "http://127.0.0.1:8101/u/t/"
    # An explicit SITE_URL (production behind a proxy) wins over the port.
    assert _settings_value(voted, PORT="8101", SITE_URL="https://vote.example.org/").startswith(
        "https://vote.example.org/voted/"
    )


def test_serve_gives_the_web_server_and_the_queue_consumer_the_served_address():
    served = child_environ(host="127.0.0.1", port=8101, environ={"PATH": "/bin"})
    assert served["SITE_URL"] == "http://127.0.0.1:8101"
    assert served["PATH"] == "/bin"
    everywhere = child_environ(host="0.0.0.0", port=8102, environ={})  # noqa: S104
    assert everywhere["SITE_URL"] == "http://127.0.0.1:8102"
    behind_proxy = child_environ(
        host="127.0.0.1", port=8101, environ={"SITE_URL": "https://vote.example.org"}
    )
    assert behind_proxy["SITE_URL"] == "https://vote.example.org"


def test_make_run_passes_its_port_to_the_server_and_its_links():
    dry_run = subprocess.run(  # noqa: S603 - make, our own Makefile
        ["make", "-n", "run", "PORT=8101"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    serve = next(line for line in dry_run.splitlines() if "manage.py serve" in line)
    assert "PORT=8101" in serve and "--port 8101" in serve


def test_a_sheet_qr_code_and_tick_off_link_carry_the_served_port(settings, lead_a, school_a):
    from campaign.canvass import sheets

    settings.SITE_URL = "http://127.0.0.1:8101"
    assert (
        sheets.tick_off_url(school_a)
        == f"http://127.0.0.1:8101/canvass/schools/{school_a.pk}/tick/"
    )


def test_the_served_demo_prints_sheets_whose_links_carry_the_served_port(tmp_path):
    """What `make run PORT=...` does, on a free port: migrate, seed, serve; then a lead
    of the demo prints a school's sheet and its tick-off link (the QR code's URL) names
    that port, the ballot is open and the chase list answers."""
    import re
    import signal
    import time

    import requests

    from tests.campaign.test_serve import embedded_env, free_port, manage

    environ = embedded_env(tmp_path)
    manage("migrate", "--noinput", environ=environ)
    manage(
        "seed_demo", "--if-empty", "--users", "--contacts", "300", "--schools", "6",
        "--districts", "2", environ=environ,
    )  # fmt: skip
    port = free_port()
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "manage.py", "serve", "--port", str(port)],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        banner = ""
        deadline = time.monotonic() + 60
        while "Press Ctrl-C" not in banner and time.monotonic() < deadline:
            line = server.stdout.readline()
            if not line and server.poll() is not None:
                break
            banner += line
        url = f"http://127.0.0.1:{port}/"
        assert f"Links in emails, sheets and QR codes: http://127.0.0.1:{port}" in banner
        session = requests.Session()
        login = session.get(url + "accounts/login/", timeout=10)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text).group(1)
        session.post(
            url + "accounts/login/",
            data={"username": "lead_a", "password": "turnout-demo", "csrfmiddlewaretoken": token},
            headers={"Referer": url + "accounts/login/"},
            timeout=10,
        )
        schools = session.get(url + "canvass/my-schools/", timeout=30)
        assert schools.status_code == 200
        sheet_path = re.search(r'href="(/canvass/schools/\d+/sheet\.pdf)"', schools.text).group(1)
        sheet = session.get(url.rstrip("/") + sheet_path, timeout=60)
        assert sheet.headers["Content-Type"] == "application/pdf"
        pdf = tmp_path / "sheet.pdf"
        pdf.write_bytes(sheet.content)
        text = subprocess.run(  # noqa: S603 - our own file, a fixed program
            ["pdftotext", str(pdf), "-"],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert f"http://127.0.0.1:{port}/canvass/schools/" in " ".join(text.split())
        chase = session.get(url + "canvass/chase/", timeout=30)
        assert chase.status_code == 200 and "still to vote" in chase.text
        assert 'value="voted" data-label="Voted" aria-pressed="false" disabled' not in chase.text
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=30) == 0
    finally:
        if server.poll() is None:
            server.kill()
