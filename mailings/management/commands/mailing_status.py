import json

from django.core.management.base import BaseCommand

from mailings.management.commands._common import mailing_by_id, user_named
from mailings.models import Recipient
from mailings.selectors import mailing_progress


class Command(BaseCommand):
    help = "A drive's state and its recipients counted by status."

    def add_arguments(self, parser):
        parser.add_argument("mailing_id", type=int)
        parser.add_argument("--json", action="store_true")
        parser.add_argument("--as", dest="username", metavar="USERNAME")

    def handle(self, *args, **options):
        user = user_named(options["username"]) if options["username"] else None
        mailing = mailing_by_id(options["mailing_id"], user=user)
        counts = mailing_progress(mailing=mailing)
        report = {
            "id": mailing.pk,
            "name": mailing.name,
            "status": mailing.status,
            "status_reason": mailing.status_reason,
            "recipients": mailing.recipient_count,
            "counts": counts,
            "exclusions": mailing.exclusions,
            "started_at": mailing.started_at.isoformat() if mailing.started_at else None,
            "finished_at": mailing.finished_at.isoformat() if mailing.finished_at else None,
            # Rows a crash or timeout left unsure: for a person to check, never re-sent.
            "review": [
                {"id": pk, "email": email, "reason": error}
                for pk, email, error in Recipient.objects.filter(
                    mailing=mailing, status=Recipient.Status.UNKNOWN
                ).values_list("pk", "email", "error")[:1000]
            ],
        }
        if options["json"]:
            self.stdout.write(json.dumps(report))
            return
        self.stdout.write(f"{mailing.pk} {mailing.name}: {mailing.get_status_display()}")
        for status, n in counts.items():
            self.stdout.write(f"  {status:>10} {n}")
