"""Periodic deliverability guard (registered with Huey from MailingsConfig.ready())."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from mailings.services.tracking import mailings_guard_sweep
from mailings.services.webhook_tokens import webhook_tokens_forget


@db_periodic_task(crontab(minute="*"))
def mailings_guard_task() -> None:
    mailings_guard_sweep()


@db_periodic_task(crontab(minute="*/10"))
def webhook_tokens_forget_task() -> None:
    webhook_tokens_forget()
