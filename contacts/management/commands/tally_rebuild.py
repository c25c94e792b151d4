"""``manage.py tally_rebuild [--check]``: recount the supporter tally behind union-wide
figures, or only report where it disagrees with a direct count."""

from django.core.management.base import BaseCommand, CommandError

from contacts.aggregates import tally_differences, tally_rebuild


class Command(BaseCommand):
    help = (
        "Recount the supporter tally (dashboard figures, audience counts) from the "
        "supporters; --check only reports cells that disagree with a direct count."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--check", action="store_true", help="Report differences, change nothing."
        )

    def handle(self, *args, check: bool = False, **options) -> None:
        differences = tally_differences()
        for cell, (stored, direct) in sorted(differences.items(), key=str):
            self.stdout.write(f"{cell}: tally {stored}, direct count {direct}")
        if check:
            if differences:
                raise CommandError(f"The tally disagrees in {len(differences)} cells.")
            self.stdout.write("The tally agrees with a direct count.")
            return
        tally_rebuild()
        self.stdout.write(f"Recounted ({len(differences)} cells were off).")
