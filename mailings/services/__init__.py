"""Writes for email drives. Views, admin, commands and tasks call these."""

from mailings.services.approval import mailing_send_back
from mailings.services.compose import mailing_create, mailing_update, mailing_validate
from mailings.services.drive import (
    drive_settle_stragglers,
    mailing_approve,
    mailing_cancel,
    mailing_pause,
    mailing_resume,
    mailing_send_again,
    mailing_start,
    mailings_start_due,
    mailings_sweep,
    recipients_requeue,
)
from mailings.services.preview import mailing_preview, mailing_test_send
from mailings.services.sending import mailing_batch_send, recipient_settle_unknown
from mailings.services.snapshot import mailing_snapshot_continue
from mailings.services.unsubscribe import (
    unsubscribe_confirm,
    unsubscribe_recipient,
    unsubscribe_url,
)

__all__ = [
    "drive_settle_stragglers",
    "mailing_approve",
    "mailing_batch_send",
    "mailing_cancel",
    "mailing_create",
    "mailing_pause",
    "mailing_preview",
    "mailing_resume",
    "mailing_send_back",
    "mailing_send_again",
    "mailing_snapshot_continue",
    "mailing_start",
    "mailing_test_send",
    "mailing_update",
    "mailing_validate",
    "mailings_start_due",
    "mailings_sweep",
    "recipient_settle_unknown",
    "recipients_requeue",
    "unsubscribe_confirm",
    "unsubscribe_recipient",
    "unsubscribe_url",
]
