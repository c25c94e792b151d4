"""python manage.py canvass_pdf (--school URN | --district NAME) -o FILE [--as USERNAME] [--with-email]

Prints one school's canvass sheet or a district's pack (cover + every school) to FILE,
as USERNAME (default: the only organiser), seeing only what that user may see. Every
print is recorded in the audit trail.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError
from django.http import Http404

from campaign.canvass.selectors import canvass_district_get, canvass_school_get
from campaign.canvass.services import canvass_district_print, canvass_sheet_print
from campaign.roles import Role


class Command(BaseCommand):
    help = "Print a school's canvass sheet or a district's canvass pack as PDF."

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--school", metavar="URN", help="the school's URN")
        which.add_argument("--district", metavar="NAME", help="the district's name")
        parser.add_argument("-o", "--output", required=True, metavar="FILE")
        parser.add_argument("--as", dest="username", help="print as this user (their scope)")
        parser.add_argument(
            "--with-email", action="store_true", help="add email addresses (off by default)"
        )

    def handle(self, *args, school, district, output, username, with_email, **options):
        actor = _acting_user(username)
        try:
            if school:
                target = canvass_school_get(user=actor, urn=school)
                printed = canvass_sheet_print(
                    actor=actor, school=target, with_email=with_email, via="cli"
                )
            else:
                target = canvass_district_get(user=actor, name=district)
                printed = canvass_district_print(
                    actor=actor, district=target, with_email=with_email, via="cli"
                )
        except Http404:
            what = f"school with URN {school!r}" if school else f"district {district!r}"
            raise CommandError(f"No {what} that {actor.get_username()} may see.") from None
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from None
        path = Path(output)
        partial = path.with_name(f".{path.name}.part")
        partial.write_bytes(printed.pdf)
        os.replace(partial, path)
        self.stdout.write(
            f"Wrote {path}: {printed.rows} supporter(s), {printed.pages} page(s), "
            f"sheet code {printed.sheet_code}."
        )


def _acting_user(username: str | None):
    User = get_user_model()
    if username:
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user called {username!r}.")
        return user
    organisers = list(
        User.objects.filter(is_active=True, team_member__role=Role.ORGANISER)[:2]
    ) or list(User.objects.filter(is_active=True, is_superuser=True)[:2])
    if len(organisers) != 1:
        raise CommandError("Say who is printing with --as USERNAME.")
    return organisers[0]
