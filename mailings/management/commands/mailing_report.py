import json

from django.core.management.base import BaseCommand

from mailings.management.commands._common import mailing_by_id, user_named
from mailings.reports import drive_report

LINES = [
    ("delivered", "Delivered", "delivered"),
    ("hard_bounced", "Hard bounces", "hard_bounced"),
    ("soft_bounced", "Soft bounces", "soft_bounced"),
    ("rejected", "Rejected by the ESP", None),
    ("complained", "Spam complaints", "complained"),
    ("unsubscribed", "Unsubscribed", "unsubscribed"),
    ("opened", "Unique opens", "opened"),
    ("clicked", "Unique clicks", "clicked"),
]


class Command(BaseCommand):
    help = (
        "What happened to a drive after it left: delivered, bounced, complaints, "
        "unsubscribes, opens and clicks with rates, and events per hour."
    )

    def add_arguments(self, parser):
        parser.add_argument("mailing_id", type=int)
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")
        parser.add_argument(
            "--as",
            dest="username",
            metavar="USERNAME",
            help="Only drives this user may see (default: any drive).",
        )

    def handle(self, *args, **options):
        user = user_named(options["username"]) if options["username"] else None
        mailing = mailing_by_id(options["mailing_id"], user=user)
        report = drive_report(mailing=mailing, viewer=user)
        if options["json"]:
            self.stdout.write(json.dumps(report))
            return
        self.stdout.write(f"{report['id']} {report['name']}: {report['status']}")
        if report["status_reason"]:
            self.stdout.write(f"  {report['status_reason']}")
        self.stdout.write(f"  {'Sent':<20} {report['sent']:>8}")
        for key, label, rate in LINES:
            pct = report["rates"].get(rate) if rate else None
            shown = f"{pct:6.2f}%" if pct is not None else ""
            self.stdout.write(f"  {label:<20} {report['counts'][key]:>8} {shown}")
        for hour in report["timeline"]:
            counts = ", ".join(f"{n} {kind}" for kind, n in sorted(hour["counts"].items()))
            self.stdout.write(f"  {hour['hour'][:13]}:00  {counts}")
