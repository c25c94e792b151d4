"""The tally after an import into an empty union, counted from the rows the import wrote,
equals a direct count of the supporters: today's consents given before midday, and a
suppression that arrives while the import runs, included."""

from datetime import datetime, time, timedelta

from django.utils import timezone

from contacts.aggregates import tally_catch_up, tally_differences
from contacts.importing import ImportOptions, supporters_import
from contacts.models import Contact, SupporterTally, Suppression, TallyRecheck
from contacts.suppression import address_hash

HEADER = (
    "Email,First name,School / workplace,School URN,District,Consent to email,Consent date,Rep?"
)


def _csv(tmp_path, lines):
    path = tmp_path / "supporters.csv"
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


def _mailable():
    return sum(
        SupporterTally.objects.filter(state=SupporterTally.State.MAILABLE).values_list(
            "n", flat=True
        )
    )


def test_tally_after_an_import_into_an_empty_union_matches_a_direct_count(organiser, tmp_path):
    lines = [
        f"person{i}@example.org,Ada,Alder School {i % 4},{300000 + i % 4},"
        f"District {i % 3},yes,01/02/2024,{('yes', 'no', '')[i % 3]}"
        for i in range(30)
    ]
    lines += ["nodistrict@example.org,Bo,,,,yes,,", "refused@example.org,Cy,,,,no,,"]
    report = supporters_import(path=_csv(tmp_path, lines), file_name="s.csv", actor=organiser)
    assert report.created == 31
    assert tally_differences() == {}
    assert _mailable() == 31
    assert SupporterTally.objects.filter(district_key=0).values_list("n", flat=True).get() == 1


def test_consent_dated_today_counts_from_midday_when_imported_in_the_morning(
    organiser, tmp_path, monkeypatch
):
    today = timezone.localdate()
    morning = timezone.make_aware(datetime.combine(today, time(9, 0)))
    monkeypatch.setattr(timezone, "now", lambda: morning)
    lines = [
        f"today@example.org,Ada,Alder School,300001,District 1,yes,{today:%d/%m/%Y}",
        "earlier@example.org,Bo,Alder School,300001,District 1,yes,01/02/2024",
    ]
    supporters_import(path=_csv(tmp_path, lines), file_name="s.csv", actor=organiser)
    assert tally_differences() == {}
    assert _mailable() == 1
    recheck = TallyRecheck.objects.get()
    assert timezone.localtime(recheck.due_at).time() == time(12, 0)

    monkeypatch.setattr(timezone, "now", lambda: morning + timedelta(hours=4))
    assert tally_catch_up() == 1
    assert tally_differences() == {}
    assert _mailable() == 2


def test_suppression_arriving_during_an_import_is_counted_as_suppressed(organiser, tmp_path):
    lines = [f"person{i}@example.org,Ada,,,District 1,yes,," for i in range(30)]

    def progress(done, total):
        # An unsubscribe committed by another session while the import is still
        # writing, once the supporter's row is written (it would be refused if it came
        # first). That session cannot see the new supporter, so it adjusts no tally
        # cell (bulk_create sends no signals, as if it could not see them either).
        written = Contact.objects.filter(email="person7@example.org").exists()
        if written and not Suppression.objects.exists():
            Suppression.objects.bulk_create(
                [
                    Suppression(
                        address_hash=address_hash("person7@example.org"),
                        reason=Suppression.Reason.UNSUBSCRIBED,
                    )
                ]
            )

    report = supporters_import(
        path=_csv(tmp_path, lines),
        file_name="s.csv",
        actor=organiser,
        options=ImportOptions(chunk_size=10),
        progress=progress,
    )
    assert report.created == 30
    assert Contact.objects.count() == 30
    assert Suppression.objects.count() == 1
    assert tally_differences() == {}
    assert _mailable() == 29
