"""Write a subject access copy of one supporter: JSON and/or PDF (audited)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from contacts.models import Contact
from contacts.services.subject_access import subject_access_export


class Command(BaseCommand):
    help = "Write everything held on one supporter to a JSON and/or PDF file (audited)."

    def add_arguments(self, parser):
        parser.add_argument("contact_id", type=int, help="The supporter's id (admin URL).")
        parser.add_argument("--json", metavar="OUT", help="Write the JSON copy here.")
        parser.add_argument("--pdf", metavar="OUT", help="Write the PDF copy here.")

    def handle(self, *args, contact_id: int, json: str | None, pdf: str | None, **options):
        if not json and not pdf:
            raise CommandError("Give --json OUT and/or --pdf OUT.")
        contact = Contact.objects.filter(pk=contact_id).first()
        if contact is None:
            raise CommandError(f"No supporter has id {contact_id}.")
        for fmt, out in (("json", json), ("pdf", pdf)):
            if not out:
                continue
            body = subject_access_export(actor=None, contact=contact, fmt=fmt, via="command")
            Path(out).write_bytes(body)
            self.stdout.write(f"Wrote the {fmt.upper()} copy of supporter {contact_id} to {out}.")
