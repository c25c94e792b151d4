"""python manage.py import_supporters FILE [--dry-run] [--json] [--as USERNAME]

Exit status 0 when the file was processed (even with rejected rows); 1 with the reason
on stderr when the file as a whole could not be imported. With --json, stdout holds one
JSON object and nothing else.

The acting user (recorded on the batch and in the audit trail) is --as USERNAME, who
must be an organiser. Without --as the command acts as the only organiser (superusers
count) and refuses if there are several, so nobody imports under another's name by
accident.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from campaign.roles import Role, can
from contacts.importing import FileError, ImportOptions, supporters_import


class Command(BaseCommand):
    help = (
        "Import supporters from a CSV, XLSX or ODS file. --as names the organiser running "
        "it; it may be left out only when there is exactly one organiser."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the spreadsheet to import")
        parser.add_argument("--dry-run", action="store_true", help="report, write nothing")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")
        parser.add_argument(
            "--as", dest="username", help="username of the organiser running the import"
        )
        parser.add_argument("--consent-wording", default="", help="override the setting")
        parser.add_argument("--consent-version", default="", help="override the setting")

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"{path} is not a file.")
        actor = _acting_user(options["username"])
        show_progress = not options["json"] and sys.stderr.isatty()
        try:
            report = self._run(path, actor, options, show_progress)
        except FileError as exc:
            raise CommandError(str(exc)) from None
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from None
        if options["json"]:
            self.stdout.write(json.dumps(report.as_json(), ensure_ascii=False))
        else:
            self._summary(report)

    def _run(self, path: Path, actor, options, show_progress: bool):
        import_options = ImportOptions(
            dry_run=options["dry_run"],
            consent_wording=options["consent_wording"],
            consent_version=options["consent_version"],
        )
        if not show_progress:
            return supporters_import(
                path=path, file_name=path.name, actor=actor, options=import_options
            )
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TimeRemainingColumn

        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            TaskProgressColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        ) as bar:
            task = bar.add_task(f"Importing {path.name}", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total or None)

            return supporters_import(
                path=path,
                file_name=path.name,
                actor=actor,
                options=import_options,
                progress=progress,
            )

    def _summary(self, report) -> None:
        title = "Dry run (nothing written)" if report.dry_run else "Imported"
        lines = [
            f"{title}: {report.rows} rows, {report.blank_rows} blank",
            f"  created {report.created}, updated {report.updated}, "
            f"unchanged {report.unchanged}, duplicates in file {report.duplicate_in_file}",
            "  rejected: "
            + ", ".join(f"{code} {report.rejected.get(code, 0)}" for code in _REJECTIONS),
            f"  schools created {report.schools_created}, "
            f"districts created {report.districts_created}, URNs added {report.urns_added}, "
            f"names matching several schools {report.ambiguous_names}",
        ]
        if report.warnings:
            lines.append(
                "  warnings: " + ", ".join(f"{k} {v}" for k, v in sorted(report.warnings.items()))
            )
        for problem in report.problems:
            lines.append(
                f"  row {problem.row} [{problem.column}] {problem.code}: {problem.message}"
            )
        self.stdout.write("\n".join(lines))


_REJECTIONS = ("invalid_email", "no_consent", "suppressed")


def _acting_user(username: str | None):
    User = get_user_model()
    if username:
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user called {username!r}.")
        if not can(user, "add", "contacts.importbatch"):
            raise CommandError(f"{username} is not an organiser; only organisers import.")
        return user
    organisers = list(
        User.objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(team_member__role=Role.ORGANISER))
        .distinct()[:2]
    )
    if len(organisers) != 1:
        raise CommandError(
            "Say who is importing with --as USERNAME (an organiser)"
            + ("; there is more than one." if organisers else "; there is no organiser yet.")
        )
    return organisers[0]
