"""python manage.py import_supporters: the JSON contract, exit status and acting user."""

import io
import json
import sys
from pathlib import Path

import pytest
from django.core.management import ManagementUtility

from campaign.models import TeamMember
from campaign.roles import Role
from contacts.models import Contact, ImportBatch
from tests.factories import UserFactory

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "import"


def _manage(*args):
    try:
        ManagementUtility(["manage.py", "import_supporters", *map(str, args)]).execute()
    except SystemExit as exc:
        return exc.code or 0
    return 0


@pytest.fixture(autouse=True)
def keep_test_database_open(monkeypatch):
    # manage.py closes every connection on the way out, which would close the test
    # suite's in-memory database; the command's own behaviour is unchanged.
    from django.core.management import base

    monkeypatch.setattr(base.connections, "close_all", lambda: None)


manage = _manage


def test_json_output_is_one_object_with_exactly_the_documented_keys(organiser, capsys):
    status = manage(FIXTURES / "latin.csv", "--json", "--as", "organiser")

    out = capsys.readouterr().out
    data = json.loads(out)  # nothing else on stdout
    assert status == 0
    assert list(data) == [
        "dry_run",
        "rows",
        "blank_rows",
        "created",
        "updated",
        "unchanged",
        "duplicate_in_file",
        "rejected",
        "warnings",
        "schools_created",
        "districts_created",
        "problems",
    ]
    assert data["dry_run"] is False
    assert data["rows"] == 3 and data["created"] == 2
    assert data["rejected"] == {"invalid_email": 0, "no_consent": 1, "suppressed": 0}
    assert data["problems"] == [
        {
            "row": 3,
            "column": "Email consent",
            "code": "no_consent",
            "message": data["problems"][0]["message"],
        }
    ]
    assert "not imported" in data["problems"][0]["message"]


def test_dry_run_json_reports_without_writing(organiser, capsys):
    status = manage(FIXTURES / "supporters.xlsx", "--dry-run", "--json")

    data = json.loads(capsys.readouterr().out)
    assert status == 0
    assert data["dry_run"] is True and data["created"] > 0
    assert not Contact.objects.exists() and not ImportBatch.objects.exists()


def test_a_file_level_error_exits_non_zero_with_the_reason_on_stderr(organiser, tmp_path, capsys):
    path = tmp_path / "no-email.csv"
    path.write_text("Name,Consent\nAda,yes\n")

    status = manage(path, "--json", "--as", "organiser")

    captured = capsys.readouterr()
    assert status != 0
    assert captured.out == ""
    assert "no" in captured.err and "Email" in captured.err
    assert not Contact.objects.exists()


def test_the_plain_summary_lists_problem_rows(organiser, capsys):
    status = manage(FIXTURES / "latin.csv")

    out = capsys.readouterr().out
    assert status == 0
    assert "created 2" in out and "row 3 [Email consent] no_consent" in out


def test_as_is_required_when_there_is_more_than_one_organiser(organiser, capsys):
    other = UserFactory(username="other-organiser")
    TeamMember.objects.create(user=other, role=Role.ORGANISER)

    status = manage(FIXTURES / "latin.csv", "--json")

    assert status != 0
    assert "--as" in capsys.readouterr().err
    assert not Contact.objects.exists()


def test_the_acting_user_must_be_an_organiser(volunteer, organiser, capsys):
    status = manage(FIXTURES / "latin.csv", "--as", "volunteer")

    assert status != 0
    assert "organiser" in capsys.readouterr().err
    assert not Contact.objects.exists()


def test_the_batch_records_who_ran_the_command(organiser, capsys):
    manage(FIXTURES / "latin.csv", "--json", "--as", "organiser")

    batch = ImportBatch.objects.get()
    assert batch.created_by == organiser and batch.file_name == "latin.csv"


@pytest.mark.parametrize("missing", ["nowhere.csv"])
def test_a_missing_file_is_an_error(organiser, capsys, missing):
    assert manage(missing, "--as", "organiser") != 0
    assert "not a file" in capsys.readouterr().err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_progress_bar_is_drawn_on_a_terminal_and_never_with_json(organiser, monkeypatch, capsys):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert manage(FIXTURES / "latin.csv") == 0
    drawn = terminal.getvalue()
    assert "Importing latin.csv" in drawn
    assert "\x1b[" in drawn  # drawn with terminal control codes, then cleared

    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert manage(FIXTURES / "latin.csv", "--json", "--dry-run") == 0
    assert terminal.getvalue() == ""
    json.loads(capsys.readouterr().out.splitlines()[-1])
