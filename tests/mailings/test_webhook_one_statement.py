# ruff: noqa: F811 - the tracking tests' fixtures are imported and used by name
"""An ordinary Mailgun event (delivered, opened, clicked) on PostgreSQL: its token and
the event in ONE statement, in autocommit. The guarantees hold on both databases: token
and events are stored together; a failure forgets the token with the events, so the
ESP's retry is accepted; a retry of the same body is answered and changes nothing; a
token reused with another body is refused."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.models import Suppression
from mailings.models import DeliveryEvent, Recipient, WebhookToken
from tests.mailings.test_tracking import (  # noqa: F401 - fixtures
    mailgun_event,
    post,
    rows,
    sent_drive,
    webhooks,
)

pytestmark = pytest.mark.usefixtures("fast_sending")


def statements_of(queries: CaptureQueriesContext) -> list[str]:
    # Savepoints are the test's own transaction around the view's.
    skip = ("SAVEPOINT", "RELEASE")
    return [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(skip)]


def stored(row: Recipient) -> tuple[int, int]:
    return DeliveryEvent.objects.filter(recipient=row).count(), WebhookToken.objects.count()


@pytest.fixture
def events_refused(transactional_db):
    """The database refuses to store delivery events (a full disk, say) until the
    returned function is called: a failure in the middle of handling a webhook."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION test_refuse_event() RETURNS trigger LANGUAGE plpgsql "
                "AS $$ BEGIN RAISE EXCEPTION 'no space left on device'; END $$"
            )
            cursor.execute(
                "CREATE TRIGGER test_refuse_event BEFORE INSERT ON mailings_deliveryevent "
                "FOR EACH ROW EXECUTE FUNCTION test_refuse_event()"
            )
        else:
            cursor.execute(
                "CREATE TRIGGER test_refuse_event BEFORE INSERT ON mailings_deliveryevent "
                "BEGIN SELECT RAISE(ABORT, 'no space left on device'); END"
            )

    def allow() -> None:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("DROP TRIGGER IF EXISTS test_refuse_event ON mailings_deliveryevent")
                cursor.execute("DROP FUNCTION IF EXISTS test_refuse_event()")
            else:
                cursor.execute("DROP TRIGGER IF EXISTS test_refuse_event")

    yield allow
    allow()


def test_an_ordinary_webhook_stores_its_token_and_event_in_one_statement_on_postgresql(
    post, sent_drive
):
    row = rows(sent_drive)[0]
    with CaptureQueriesContext(connection) as queries:
        assert post(mailgun_event(row, "delivered")).status_code == 200

    assert stored(row) == (1, 1)
    event = DeliveryEvent.objects.get()
    assert (event.event_type, event.mailing_id) == ("delivered", sent_drive.pk)
    statements = statements_of(queries)
    if connection.vendor == "postgresql":
        assert len(statements) == 1
        assert "mailings_webhooktoken" in statements[0]
    else:
        # Token, row, event: one transaction.
        assert len(statements) == 3


def test_a_retried_ordinary_webhook_is_answered_and_changes_nothing(post, sent_drive):
    row = rows(sent_drive)[0]
    body = mailgun_event(row, "opened")
    assert post(body).status_code == 200

    with CaptureQueriesContext(connection) as queries:
        assert post(body).status_code == 200
    # PostgreSQL answers from the one statement; elsewhere, the token then its body.
    assert len(statements_of(queries)) == (1 if connection.vendor == "postgresql" else 2)
    assert post(body).status_code == 200
    assert stored(row) == (1, 1)


def test_a_token_reused_with_another_ordinary_event_is_refused(post, sent_drive):
    first, second = rows(sent_drive)[:2]
    delivered = mailgun_event(first, "delivered")
    assert post(delivered).status_code == 200
    forged = {
        "signature": dict(delivered["signature"]),
        "event-data": mailgun_event(second, "delivered")["event-data"],
    }

    assert post(forged).status_code == 400
    assert stored(first) == (1, 1)
    assert stored(second) == (0, 1)


def test_an_ordinary_event_that_fails_to_store_forgets_its_token_so_the_retry_is_accepted(
    post, sent_drive, events_refused
):
    row = rows(sent_drive)[0]
    body = mailgun_event(row, "delivered")

    with pytest.raises(Exception, match="no space left on device"):
        post(body)
    assert stored(row) == (0, 0)

    events_refused()
    assert post(body).status_code == 200
    assert stored(row) == (1, 1)


def test_a_bounce_that_fails_to_store_forgets_its_token_and_suppresses_nobody(
    post, sent_drive, events_refused
):
    row = rows(sent_drive)[0]
    body = mailgun_event(row, "failed", severity="permanent")

    with pytest.raises(Exception, match="no space left on device"):
        post(body)
    assert stored(row) == (0, 0)
    assert not Suppression.objects.exists()

    events_refused()
    assert post(body).status_code == 200
    assert stored(row) == (1, 1)
    assert Suppression.objects.count() == 1


def test_an_event_for_a_row_left_unknown_settles_it_with_its_token_or_not_at_all(
    post, sent_drive, events_refused
):
    row = rows(sent_drive)[3]
    Recipient.objects.filter(pk=row.pk).update(status=Recipient.Status.UNKNOWN)
    body = mailgun_event(row, "delivered")

    with pytest.raises(Exception, match="no space left on device"):
        post(body)
    row.refresh_from_db()
    assert row.status == Recipient.Status.UNKNOWN
    assert stored(row) == (0, 0)

    events_refused()
    assert post(body).status_code == 200
    row.refresh_from_db()
    assert row.status == Recipient.Status.SENT
    assert stored(row) == (1, 1)
