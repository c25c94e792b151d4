"""How many rows one kill can leave unknown: one ESP call's worth per worker, and calls
sized from measured latency rather than always the ESP's maximum."""

import pytest
from django.core import mail

from mailings.models import Recipient
from mailings.services import mailing_batch_send, mailing_start
from mailings.services.chunks import ChunkSizer, chunk_sizer
from mailings.services.messages import EspSender
from tests.factories import ConsentedContactFactory

pytestmark = pytest.mark.usefixtures("fast_sending")


@pytest.fixture(autouse=True)
def fresh_sizer():
    chunk_sizer.seconds.clear()
    yield chunk_sizer
    chunk_sizer.seconds.clear()


def test_calls_to_a_slow_esp_carry_what_the_rate_needs_not_the_maximum(settings):
    sizer = ChunkSizer()
    settings.EMAIL_SEND_RATE = 100.0
    assert sizer.size(esp_name="Mailgun", cap=1000) == 1000  # nothing measured yet
    sizer.observe(esp_name="Mailgun", seconds=1.0)
    assert sizer.size(esp_name="Mailgun", cap=1000) == 150  # 100/s × 1 s × 1.5
    with sizer.sending(), sizer.sending():  # two tasks of this process share the rate
        assert sizer.size(esp_name="Mailgun", cap=1000) == 75
    assert sizer.active == 0
    sizer.observe(esp_name="Mailgun", seconds=1.0)
    assert sizer.size(esp_name="Mailgun", cap=100) == 100  # never past the ceiling
    fast = ChunkSizer()
    fast.observe(esp_name="Mailgun", seconds=0.001)
    assert fast.size(esp_name="Mailgun", cap=1000) == ChunkSizer.MINIMUM
    settings.EMAIL_SEND_RATE = 1_000_000.0  # unthrottled: fill the calls
    assert fast.size(esp_name="Mailgun", cap=1000) == 1000


def test_a_drive_sizes_its_calls_from_the_measured_call_time(
    make_drive, volunteer, school_a, settings
):
    settings.EMAIL_SEND_RATE = 20.0
    settings.MAILING_BATCH_SIZE = 100
    settings.MAILING_CHUNK_SECONDS = 10.0  # ceiling: 100 rows per call
    ConsentedContactFactory.create_batch(60, school=school_a)
    chunk_sizer.seconds["Test"] = 0.5  # recent calls took half a second
    drive = mailing_start(actor=volunteer, mailing=make_drive())
    mailing_batch_send(mailing_id=drive.pk, batch=0)
    sizes = [len(message.to) for message in mail.outbox]
    assert sizes[0] == 15  # 20/s × 0.5 s × 1.5
    assert sizes == sorted(sizes, reverse=True)  # faster calls measured: smaller still
    assert sum(sizes) == 60 and max(sizes) < 100


def test_without_batch_sending_a_kill_mid_call_leaves_one_row_unsure(
    make_drive, volunteer, school_a, settings, monkeypatch
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # no batching
    settings.MAILING_BATCH_SIZE = 10
    ConsentedContactFactory.create_batch(10, school=school_a)
    drive = mailing_start(actor=volunteer, mailing=make_drive())
    real_post = EspSender._post
    calls = []

    def killed_on_the_fourth_call(self, rows, out):
        calls.append(len(rows))
        if len(calls) == 4:
            raise KeyboardInterrupt  # the consumer dies inside the ESP call
        return real_post(self, rows, out)

    monkeypatch.setattr(EspSender, "_post", killed_on_the_fourth_call)
    with pytest.raises(KeyboardInterrupt):
        mailing_batch_send(mailing_id=drive.pk, batch=0)
    rows = Recipient.objects.filter(mailing=drive)
    assert rows.filter(status=Recipient.Status.SENDING).count() == 1  # only the one in flight
    assert rows.filter(status=Recipient.Status.SENT).count() == 3
    assert rows.filter(status=Recipient.Status.QUEUED).count() == 6
