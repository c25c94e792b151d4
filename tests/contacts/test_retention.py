# ruff: noqa: F811 - fixtures imported from the drive tests are used by name
"""Retention: the personal data of a finished campaign is erased once the configured
period after its close has passed; a dry run first, --apply to erase."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from campaign.models import AuditEvent
from contacts.models import ConsentRecord, Contact, ImportBatch, Suppression
from contacts.services import consent_give
from contacts.suppression import address_hash
from mailings.models import Recipient
from mailings.services import mailing_start
from tests.factories import ConsentedContactFactory
from tests.mailings.conftest import drain, fast_sending, make_drive  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_sending")


@pytest.fixture
def finished(campaign, make_drive, volunteer, school_a, contact_a, settings):
    """A campaign that closed 400 days ago (retention 365), with a sent drive; contact_a
    and three others last active before the close."""
    settings.RETENTION_DAYS_AFTER_CLOSE = 365
    ConsentedContactFactory.create_batch(3, school=school_a)
    drive = mailing_start(actor=volunteer, mailing=make_drive())
    drain(drive)
    closed = timezone.now() - timedelta(days=400)
    campaign.ballot_opens = closed - timedelta(days=30)
    campaign.ballot_closes = closed
    campaign.save()
    Contact.objects.update(
        created_at=closed - timedelta(days=60), updated_at=closed - timedelta(days=1)
    )
    ConsentRecord.objects.update(given_at=closed - timedelta(days=60))
    ImportBatch.objects.create(
        file_name="old.csv",
        sha256="0" * 64,
        created_at=closed - timedelta(days=50),
        counts={"created": 4},
        report={"rows": 5, "rejected_rows": [[2, ["eve@example.org", "Eve"], "no consent"]]},
    )
    return drive


def run(*args) -> str:
    out = StringIO()
    call_command("retention", *args, stdout=out)
    return out.getvalue()


def test_the_dry_run_says_what_would_go_and_erases_nothing(finished, contact_a):
    before = (Contact.objects.count(), list(Recipient.objects.values_list("email", flat=True)))

    out = run()

    assert "Dry run: would erase 4 supporter(s)" in out
    assert "the addresses on 4 drive row(s)" in out and "1 import report(s)" in out
    assert "--apply" in out
    assert (Contact.objects.count(), list(Recipient.objects.values_list("email", flat=True))) == (
        before
    )
    assert not Suppression.objects.exists()


def test_apply_erases_idle_supporters_and_drive_addresses_and_keeps_counts(finished, contact_a):
    statuses = sorted(Recipient.objects.values_list("status", flat=True))

    out = run("--apply")

    assert "Erased 4 supporter(s)" in out
    assert not Contact.objects.exists()
    assert sorted(Recipient.objects.values_list("status", flat=True)) == statuses
    assert all(
        r.endswith("@erased.invalid") for r in Recipient.objects.values_list("email", flat=True)
    )
    assert Suppression.objects.filter(address_hash=address_hash(contact_a.email)).exists()
    assert "eve@example.org" not in str(ImportBatch.objects.get().report)
    assert ImportBatch.objects.get().report["rows"] == 5
    entry = AuditEvent.objects.get(action=AuditEvent.Action.RETENTION)
    assert entry.counts["supporters"] == 4 and entry.detail["days_after_close"] == 365


def test_supporters_active_for_a_later_campaign_stay(finished, contact_a, school_a, campaign):
    recent = ConsentedContactFactory(school=school_a)  # added after the close
    consent_give(
        contact=contact_a,
        given_at=timezone.now() - timedelta(days=10),
        source="Conference 2027",
        wording="Yes",
        method="web_form",
    )

    run("--apply")

    assert set(Contact.objects.values_list("pk", flat=True)) == {recent.pk, contact_a.pk}
    assert Contact.objects.get(pk=contact_a.pk).email == "sian.oneill@example.org"


def test_nothing_is_erased_before_the_period_is_over(finished, campaign, settings):
    settings.RETENTION_DAYS_AFTER_CLOSE = 500

    out = run("--apply")

    assert "Nothing is due" in out and "may be kept until" in out
    assert Contact.objects.count() == 4
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.RETENTION).exists()


def test_an_erased_supporter_is_not_re_added_by_a_later_import(finished, organiser, tmp_path):
    from contacts.importing import ImportOptions, supporters_import

    run("--apply")
    sheet = tmp_path / "again.csv"
    sheet.write_text(
        "E-mail,First name,School URN,Consent to email\nsian.oneill@example.org,Siân,100001,yes\n"
    )

    report = supporters_import(
        path=sheet, file_name="again.csv", actor=organiser, options=ImportOptions()
    )

    assert report.rejected["suppressed"] == 1
    assert not Contact.objects.exists()
