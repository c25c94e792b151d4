import time

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from campaign.tasks import consumer_last_seen
from mailings.management.commands._common import mailing_by_id, user_named, validation_text
from mailings.models import Mailing
from mailings.selectors import mailing_is_settled, mailing_progress
from mailings.services import mailing_start

# A consumer records a heartbeat every minute (campaign.tasks.consumer_heartbeat): none
# for this long means nothing is taking the drive's batches off the queue.
CONSUMER_SILENT_SECONDS = 150
COUNT_EVERY_SECONDS = 5.0


class Command(BaseCommand):
    help = "Start a drive (queue consumers send it); --wait follows it until settled."

    def add_arguments(self, parser):
        parser.add_argument("mailing_id", type=int)
        parser.add_argument("--wait", action="store_true", help="Wait until every row is settled.")
        parser.add_argument(
            "--as", dest="username", metavar="USERNAME", help="Default: its author."
        )
        parser.add_argument(
            "--timeout", type=float, default=None, help="Give up waiting after S seconds."
        )

    def handle(self, *args, **options):
        actor = user_named(options["username"]) if options["username"] else None
        # Without --as the drive starts as its author would start it.
        probe = mailing_by_id(options["mailing_id"], user=actor)
        actor = actor or probe.created_by
        try:
            mailing = mailing_start(actor=actor, mailing=probe)
        except ValidationError as exc:
            raise CommandError(validation_text(exc)) from None
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"Drive {mailing.pk}: {mailing.get_status_display().lower()}, {mailing.audience_size} recipients."
        )
        if not options["wait"] or mailing.status != Mailing.Status.SENDING:
            return
        seen = consumer_last_seen()
        if seen is None or seen > CONSUMER_SILENT_SECONDS:
            when = "never" if seen is None else f"{seen / 60:.0f} minutes ago"
            self.stderr.write(
                f"Warning: no queue consumer has been seen recently (last: {when}); the drive "
                "waits in the queue until one runs. Start one with `manage.py run_huey` "
                "(or check /healthz)."
            )
        started = time.monotonic()
        last = None
        counted_at = None
        while True:
            mailing.refresh_from_db()
            now = time.monotonic()
            # Counting a union-wide drive's rows by status is ~100 ms of database work
            # (the consumers' database): count every few seconds; asking whether any
            # row is still unsettled is one index probe, so that is asked every second.
            if counted_at is None or now - counted_at >= COUNT_EVERY_SECONDS:
                counted_at = now
                counts = {k: v for k, v in mailing_progress(mailing=mailing).items() if v}
                if counts != last:
                    self.stdout.write(", ".join(f"{v} {k}" for k, v in counts.items()))
                    last = counts
            if mailing.status != Mailing.Status.SENDING or mailing_is_settled(mailing=mailing):
                break
            if options["timeout"] and now - started > options["timeout"]:
                raise CommandError("Timed out waiting; is a queue consumer (run_huey) running?")
            time.sleep(1.0)
        mailing.refresh_from_db()
        counts = {k: v for k, v in mailing_progress(mailing=mailing).items() if v}
        if counts != last:
            self.stdout.write(", ".join(f"{v} {k}" for k, v in counts.items()))
        self.stdout.write(f"Drive {mailing.pk}: {mailing.get_status_display().lower()}.")
