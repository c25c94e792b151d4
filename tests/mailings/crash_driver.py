"""Database side of the crash test, run as its own process (the test process never
touches this database, so the consumers, the sweeper and the checks all see the same
committed data whatever the engine).

    python -m tests.mailings.crash_driver setup N      # migrate, seed, start a drive
    python -m tests.mailings.crash_driver sweep-loop F # sweep every 0.3s, status to F
    python -m tests.mailings.crash_driver rows         # every recipient row as JSON
    python -m tests.mailings.crash_driver reconcile    # ask the ESP's log about unknown rows
    python -m tests.mailings.crash_driver send-again   # re-queue rows proven not sent
    python -m tests.mailings.crash_driver cancel       # cancel the drive (as the system)
    python -m tests.mailings.crash_driver sweep        # one sweep; its counts and the drive's
"""

import json
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

import django


def setup(count: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.utils import timezone

    from campaign.models import Campaign, TeamMember
    from campaign.roles import Role
    from contacts.models import ConsentRecord, Contact, District, School
    from contacts.suppression import address_hash
    from mailings.services import mailing_create, mailing_start

    call_command("migrate", verbosity=0)
    now = timezone.now()
    Campaign.objects.create(
        name="Crash test",
        candidate="Alex Morgan",
        ballot_opens=now + timedelta(days=1),
        ballot_closes=now + timedelta(days=30),
        sender_name="Rank and File",
        sender_email="team@campaign.example.org",
    )
    organiser = get_user_model().objects.create_user("crash-organiser", "o@example.org")
    TeamMember.objects.create(user=organiser, role=Role.ORGANISER)
    district = District.objects.create(name="Crash District")
    school = School.objects.create(name="Crash School", name_key="crash school", district=district)
    contacts = Contact.objects.bulk_create(
        Contact(
            first_name=f"Supporter{i}",
            email=f"crash{i}@example.org",
            email_hash=address_hash(f"crash{i}@example.org"),
            school=school,
            district=district,
        )
        for i in range(count)
    )
    ConsentRecord.objects.bulk_create(
        ConsentRecord(
            contact=contact,
            given_at=now - timedelta(days=1),
            source="crash test",
            wording="Yes",
            method=ConsentRecord.Method.WEB_FORM,
        )
        for contact in contacts
    )
    mailing = mailing_create(
        actor=organiser,
        name="Crash drive",
        subject="Hi {{ first_name }}",
        body="Vote, {{ first_name }}.",
    )
    mailing = mailing_start(actor=organiser, mailing=mailing)
    return {"mailing_id": mailing.pk, "status": mailing.status, "batches": mailing.batch_count}


def sweep_loop(status_path: Path) -> None:
    from mailings.models import Mailing
    from mailings.selectors import mailing_progress
    from mailings.services import mailings_sweep

    while True:
        # Stamped before anything is read, so a waiter can ignore reports that began
        # before its own last action (say, "send again").
        began = time.time()
        swept = mailings_sweep()
        mailing = Mailing.objects.get()
        report = {
            "began": began,
            "status": mailing.status,
            "counts": mailing_progress(mailing=mailing),
            "swept": swept,
        }
        partial = status_path.with_suffix(".part")
        partial.write_text(json.dumps(report))
        os.replace(partial, status_path)
        time.sleep(0.3)


def rows() -> list:
    from django.contrib.auth import get_user_model

    from mailings.models import Recipient
    from mailings.selectors import recipients_for_review

    organiser = get_user_model().objects.get(username="crash-organiser")
    listed = set(recipients_for_review(user=organiser).values_list("pk", flat=True))
    return [
        {
            "id": pk,
            "email": email,
            "status": status,
            "listed": pk in listed,
            "message_id": mid,
            "esp_check": check,
            "error": error,
        }
        for pk, email, status, mid, check, error in Recipient.objects.values_list(
            "pk", "email", "status", "esp_message_id", "esp_check", "error"
        )
    ]


def reconcile() -> dict:
    from mailings.models import Mailing
    from mailings.services.reconcile import mailing_reconcile

    return mailing_reconcile(actor=None, mailing=Mailing.objects.get()).as_dict()


def send_again() -> dict:
    from django.contrib.auth import get_user_model

    from mailings.models import Mailing
    from mailings.services import mailing_send_again

    organiser = get_user_model().objects.get(username="crash-organiser")
    mailing = Mailing.objects.get()
    return {"requeued": mailing_send_again(actor=organiser, mailing=mailing)}


def cancel() -> dict:
    from mailings.models import Mailing
    from mailings.services import mailing_cancel

    mailing = mailing_cancel(actor=None, mailing=Mailing.objects.get(), reason="Test cancel")
    return {"status": mailing.status}


def sweep() -> dict:
    from mailings.models import Mailing
    from mailings.selectors import mailing_progress
    from mailings.services import mailings_sweep

    swept = mailings_sweep()
    mailing = Mailing.objects.get()
    return {"swept": swept, "status": mailing.status, "counts": mailing_progress(mailing=mailing)}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.mailings.crash_settings")
    django.setup()
    command = sys.argv[1]
    if command == "setup":
        print(json.dumps(setup(int(sys.argv[2]))))
    elif command == "sweep-loop":
        sweep_loop(Path(sys.argv[2]))
    elif command == "rows":
        print(json.dumps(rows()))
    elif command in ("reconcile", "send-again", "cancel", "sweep"):
        action = {"reconcile": reconcile, "send-again": send_again, "cancel": cancel}
        print(json.dumps(action.get(command, sweep)()))
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main()
