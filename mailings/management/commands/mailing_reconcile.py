import json

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from mailings.management.commands._common import mailing_by_id, user_named
from mailings.selectors import mailing_unknown_figures
from mailings.services import mailing_send_again
from mailings.services.reconcile import mailing_reconcile


class Command(BaseCommand):
    help = (
        "Ask the ESP's own log which of a drive's unknown rows it accepted: settle those "
        "as sent, mark those it never accepted as safe to send again (--send-again sends "
        "them), and report proven sent / proven not sent / still unknown."
    )

    def add_arguments(self, parser):
        parser.add_argument("mailing_id", type=int)
        parser.add_argument("--json", action="store_true")
        parser.add_argument(
            "--send-again",
            action="store_true",
            help="Then send again the rows proven never accepted (needs --as an organiser).",
        )
        parser.add_argument(
            "--as",
            dest="username",
            metavar="USERNAME",
            help="Act as this organiser (default: the server itself; --send-again: a superuser).",
        )

    def handle(self, *args, **options):
        user = user_named(options["username"]) if options["username"] else None
        mailing = mailing_by_id(options["mailing_id"], user=user)
        try:
            result = mailing_reconcile(actor=user, mailing=mailing)
            sent_again = 0
            if options["send_again"]:
                actor = user or user_named(None)
                sent_again = mailing_send_again(actor=actor, mailing=mailing)
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from None
        report = {
            **result.as_dict(),
            "drive": mailing_unknown_figures(mailing=mailing),
            "sent_again": sent_again,
        }
        if options["json"]:
            self.stdout.write(json.dumps(report))
        else:
            figures = report["drive"]
            self.stdout.write(
                f"Drive {mailing.pk} ({result.esp}): asked about {result.checked} unknown rows."
            )
            if not result.supported:
                self.stdout.write(f"  Not possible: {result.note}.")
            self.stdout.write(f"  Proven sent:      {figures['proven_sent']}")
            self.stdout.write(
                f"  Proven not sent:  {figures['proven_not_sent']} (safe to send again)"
            )
            self.stdout.write(f"  Still unknown:    {figures['still_unknown']}")
            if sent_again:
                self.stdout.write(f"  Queued to send again: {sent_again}")
            if result.supported and result.note:
                self.stdout.write(f"  {result.note}")
            for error in result.errors:
                self.stderr.write(f"  Could not ask the ESP: {error}")
        if result.errors:
            raise CommandError("Some calls could not be checked; their rows stay unknown.")
