"""python manage.py schools_split [--apply] [--as USERNAME]

Finds schools that imports before the URN rule merged ("St Mary's" URN 100 and
"St Mary's" URN 200 stored as one school), using the rows the import batches kept, and
says what it would do. Nothing is written without --apply; an applied split is in the
audit trail. Where stored data cannot tell merged schools apart it says so, and which
files to import again.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from contacts.importing.school_split import schools_split_apply, schools_split_plan
from contacts.management.commands.import_supporters import _acting_user


class Command(BaseCommand):
    help = (
        "Split schools merged by the old same-name rule, from the rows imports kept. "
        "A dry run unless --apply is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("--apply", action="store_true", help="make the changes")
        parser.add_argument("--as", dest="username", help="username of the organiser running it")

    def handle(self, *args, **options):
        actor = _acting_user(options["username"])
        plan = schools_split_plan()
        if not options["apply"]:
            self.stdout.write("Dry run (nothing written); run again with --apply to split.")
            self.stdout.write("\n".join(plan.lines(applied=False)))
            return
        try:
            counts = schools_split_apply(plan=plan, actor=actor)
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write("\n".join(plan.lines(applied=True)))
        self.stdout.write(
            f"Split: {counts['schools_created']} school(s) created, "
            f"{counts['contacts_moved']} supporter(s) moved."
        )
