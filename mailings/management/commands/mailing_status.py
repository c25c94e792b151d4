import json

from django.core.management.base import BaseCommand, CommandError

from mailings.management.commands._common import mailing_by_id, user_named
from mailings.selectors import mailing_progress, mailing_unknown_figures, review_page

REVIEW_PAGE_MAX = 10_000


class Command(BaseCommand):
    help = (
        "A drive's state, its recipients counted by status, what reconciliation proved "
        "about unknown rows, and one page of rows to review."
    )

    def add_arguments(self, parser):
        parser.add_argument("mailing_id", type=int)
        parser.add_argument("--json", action="store_true")
        parser.add_argument("--as", dest="username", metavar="USERNAME")
        parser.add_argument(
            "--review-offset", type=int, default=0, help="First review row to list (default 0)."
        )
        parser.add_argument(
            "--review-limit",
            type=int,
            default=1000,
            help=f"Review rows per page (default 1000, at most {REVIEW_PAGE_MAX:,}).",
        )

    def handle(self, *args, **options):
        if not 1 <= options["review_limit"] <= REVIEW_PAGE_MAX:
            raise CommandError(f"--review-limit must be between 1 and {REVIEW_PAGE_MAX:,}.")
        if options["review_offset"] < 0:
            raise CommandError("--review-offset must be 0 or more.")
        user = user_named(options["username"]) if options["username"] else None
        mailing = mailing_by_id(options["mailing_id"], user=user)
        counts = mailing_progress(mailing=mailing)
        figures = mailing_unknown_figures(mailing=mailing)
        review = review_page(
            mailing=mailing, offset=options["review_offset"], limit=options["review_limit"]
        )
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
            # Rows whose send was unsure: proven sent / proven not sent / still unknown.
            "reconciliation": figures,
            # Rows a crash or timeout left unsure, one page at a time (total always given).
            "review": review,
        }
        if options["json"]:
            self.stdout.write(json.dumps(report))
            return
        self.stdout.write(f"{mailing.pk} {mailing.name}: {mailing.get_status_display()}")
        for status, n in counts.items():
            self.stdout.write(f"  {status:>10} {n}")
        if review["total"] or figures["proven_sent"]:
            self.stdout.write(
                f"  Unsure sends: {figures['proven_sent']} proven sent, "
                f"{figures['proven_not_sent']} proven not sent (safe to send again), "
                f"{figures['still_unknown']} still unknown"
            )
