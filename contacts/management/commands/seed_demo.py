"""Fill an empty database with a fictional membership to try Turnout out."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from contacts.demo import SeedOptions, SeedRefused, SeedResult, seed
from contacts.models import Contact


class Command(BaseCommand):
    help = (
        "Seed demo districts, schools, supporters with consent records and an active "
        "campaign into an empty database; --users adds demo logins (DEBUG only)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        defaults = SeedOptions()
        parser.add_argument("--contacts", type=int, default=defaults.contacts)
        parser.add_argument("--schools", type=int, default=defaults.schools)
        parser.add_argument("--districts", type=int, default=defaults.districts)
        parser.add_argument("--seed", type=int, default=defaults.seed)
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing (and succeed) if supporters already exist.",
        )
        parser.add_argument(
            "--users",
            action="store_true",
            help="Create demo logins for every role (refused unless DEBUG is on).",
        )

    def handle(self, *args, **opts) -> None:
        if opts["if_empty"] and Contact.objects.exists():
            self.stdout.write("Supporters already exist; demo data not seeded.")
            return
        try:
            options = SeedOptions(
                contacts=opts["contacts"],
                schools=opts["schools"],
                districts=opts["districts"],
                seed=opts["seed"],
                users=opts["users"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        try:
            if self.stdout.isatty():
                result = self._seed_with_progress_bar(options)
            else:
                result = seed(options, progress=self._plain_progress())
        except SeedRefused as exc:
            raise CommandError(str(exc)) from None
        self._summary(result)

    def _plain_progress(self):
        started = time.perf_counter()

        def report(stage: str, done: int, total: int) -> None:
            # One line per stage: logs and CI output stay readable.
            if done == total:
                seconds = time.perf_counter() - started
                self.stdout.write(f"{stage}: {done:,} written ({seconds:.1f} s)")

        return report

    def _seed_with_progress_bar(self, options: SeedOptions) -> SeedResult:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        columns = ("{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns) as bar:
            tasks = {
                stage: bar.add_task(stage.capitalize(), total=total)
                for stage, total in (
                    ("districts", options.districts),
                    ("schools", options.schools),
                    ("contacts", options.contacts),
                )
            }

            def report(stage: str, done: int, total: int) -> None:
                bar.update(tasks[stage], completed=done, total=total)

            return seed(options, progress=report)

    def _summary(self, result: SeedResult) -> None:
        counts = result.counts
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {counts['contacts']:,} supporters in {counts['schools']:,} schools "
                f"and {counts['districts']:,} districts in {result.seconds:.1f} s."
            )
        )
        self.stdout.write(
            f"Email consent: {counts['consent_current']:,} current, "
            f"{counts['consent_withdrawn']:,} withdrawn, {counts['consent_none']:,} none; "
            f"{counts['tag_links']:,} tags."
        )
        if result.campaign:
            self.stdout.write(f"Active campaign created: {result.campaign}.")
        if result.logins:
            self.stdout.write("")
            self.stdout.write(f"{'login':<11} {'password':<14} role")
            for login in result.logins:
                scope = f" ({', '.join(login.districts)})" if login.districts else ""
                password = login.password or "(unchanged)"
                self.stdout.write(f"{login.username:<11} {password:<14} {login.role}{scope}")
