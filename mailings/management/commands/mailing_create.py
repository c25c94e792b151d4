from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from contacts.models import District, School
from mailings.management.commands._common import user_named, validation_text
from mailings.services import mailing_create


class Command(BaseCommand):
    help = "Write a drive from a Markdown file; prints the new drive's id."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--subject", required=True)
        parser.add_argument("--body-file", required=True, type=Path)
        parser.add_argument("--district", action="append", default=[], metavar="NAME")
        parser.add_argument("--school", action="append", default=[], metavar="URN")
        parser.add_argument("--gotv", action="append", default=[], metavar="STATUS")
        parser.add_argument("--role", action="append", default=[], metavar="ROLE")
        parser.add_argument("--as", dest="username", metavar="USERNAME")

    def handle(self, *args, **options):
        user = user_named(options["username"])
        try:
            body = options["body_file"].read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"Cannot read --body-file: {exc}") from None
        districts = []
        for name in options["district"]:
            district = District.objects.filter(name__iexact=name.strip()).first()
            if district is None:
                raise CommandError(f"No district named {name!r}.")
            districts.append(district)
        schools = []
        for urn in options["school"]:
            school = School.objects.filter(urn=urn.strip()).first()
            if school is None:
                raise CommandError(f"No school with URN {urn!r}.")
            schools.append(school)
        try:
            mailing = mailing_create(
                actor=user,
                name=options["name"],
                subject=options["subject"],
                body=body,
                districts=districts,
                schools=schools,
                roles=options["role"],
                gotv_statuses=options["gotv"],
            )
        except ValidationError as exc:
            raise CommandError(validation_text(exc)) from None
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(str(mailing.pk))
