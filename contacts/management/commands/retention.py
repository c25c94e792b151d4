"""Erase the personal data of finished campaigns once the retention period is over.

A dry run by default: it says what would be erased. ``--apply`` erases it.
"""

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.formats import date_format

from contacts.services.retention import retention_apply, retention_plan


def _day(moment) -> str:
    return date_format(moment, "j F Y")


class Command(BaseCommand):
    help = (
        "Erase supporters and drive addresses of campaigns whose ballot closed more than "
        "RETENTION_DAYS_AFTER_CLOSE days ago. Dry run unless --apply."
    )

    def add_arguments(self, parser):
        parser.add_argument("--apply", action="store_true", help="Erase (default: dry run).")

    def handle(self, *args, apply: bool, **options):
        plan = retention_plan()
        days = settings.RETENTION_DAYS_AFTER_CLOSE
        if not plan.due:
            if plan.next_due:
                campaign, due = plan.next_due
                self.stdout.write(
                    f"Nothing is due. {campaign} closes {_day(campaign.ballot_closes)}; its "
                    f"data may be kept until {_day(due)} ({days} days after)."
                )
            else:
                self.stdout.write("Nothing is due: there is no campaign.")
            return
        names = ", ".join(f"{c} (closed {_day(c.ballot_closes)})" for c in plan.finished)
        self.stdout.write(f"Finished more than {days} days ago: {names}.")
        summary = (
            f"{len(plan.contact_ids)} supporter(s) not active since {_day(plan.cutoff)}, "
            f"the addresses on {plan.recipients} drive row(s), and the rejected rows of "
            f"{plan.import_reports} import report(s)"
        )
        if not apply:
            self.stdout.write(f"Dry run: would erase {summary}. Run with --apply to erase.")
            return
        totals = retention_apply(plan=plan)
        self.stdout.write(
            self.style.SUCCESS(
                f"Erased {totals['supporters']} supporter(s); anonymised "
                f"{totals['recipients']} drive row(s) and {totals['delivery_events']} delivery "
                f"event(s); cleared {totals['import_reports']} import report(s). Their "
                "addresses are kept only as keyed-hash suppressions."
            )
        )
