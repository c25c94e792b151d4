"""The embedded outbox behaves like an ESP through Anymail and is readable in the app."""

from email import policy
from email.parser import BytesParser

from django.core.mail import EmailMultiAlternatives, get_connection

from campaign import outbox
from campaign.email.outbox import OutboxBackend


def send(tmp_path, **message_kwargs):
    connection = get_connection("campaign.email.outbox.OutboxBackend", outbox_dir=tmp_path)
    assert isinstance(connection, OutboxBackend)
    message = EmailMultiAlternatives(
        subject="Your ballot closes Friday",
        body="Hello Siân, please vote.",
        from_email="Rank and File <team@campaign.example.org>",
        to=["sian.oneill@example.org"],
        connection=connection,
        **message_kwargs,
    )
    message.attach_alternative("<p>Hello Siân, please vote.</p>", "text/html")
    return message


def test_outbox_records_a_message_with_a_message_id_tags_and_metadata(tmp_path):
    message = send(tmp_path, headers={"List-Unsubscribe": "<https://example.org/u/abc>"})
    message.tags = ["gotv", "drive-7"]
    message.metadata = {"recipient_id": 42, "mailing_id": 7}
    assert message.send() == 1

    status = message.anymail_status
    assert status.status == {"sent"}
    assert len(status.message_id) == 32
    assert status.recipients["sian.oneill@example.org"].message_id == status.message_id

    files = list(tmp_path.glob("*.eml"))
    assert [f.name.endswith(f"-{status.message_id}.eml") for f in files] == [True]
    parsed = BytesParser(policy=policy.default).parsebytes(files[0].read_bytes())
    assert parsed["Subject"] == "Your ballot closes Friday"
    assert parsed["List-Unsubscribe"] == "<https://example.org/u/abc>"
    assert "Siân" in parsed.get_body(("plain",)).get_content()

    listed = outbox.outbox_page(outbox_dir=tmp_path)
    assert [m.message_id for m in listed] == [status.message_id]
    assert listed[0].tags == ["gotv", "drive-7"]
    assert listed[0].metadata == {"recipient_id": 42, "mailing_id": 7}


def test_batch_send_keeps_one_message_and_id_per_recipient(tmp_path):
    message = send(tmp_path)
    message.to = ["a@example.org", "b@example.org"]
    message.merge_data = {"a@example.org": {"name": "A"}, "b@example.org": {"name": "B"}}
    message.merge_metadata = {
        "a@example.org": {"recipient_id": 1},
        "b@example.org": {"recipient_id": 2},
    }
    message.send()

    ids = {email: s.message_id for email, s in message.anymail_status.recipients.items()}
    assert len(set(ids.values())) == 2
    by_id = {m.message_id: m for m in outbox.outbox_page(outbox_dir=tmp_path)}
    assert by_id[ids["a@example.org"]].to == "a@example.org"
    assert by_id[ids["b@example.org"]].metadata == {"recipient_id": 2}


def test_only_organisers_read_supporters_messages_in_the_outbox(
    client_for, organiser, volunteer, settings, tmp_path
):
    settings.OUTBOX_DIR = tmp_path
    message = send(tmp_path)
    message.send()
    message_id = message.anymail_status.message_id

    # The rest of the team see only the test sends to their own address.
    client = client_for(volunteer)
    listing = client.get("/outbox/")
    assert listing.status_code == 200
    assert "Your ballot closes Friday" not in listing.content.decode()
    assert client.get(f"/outbox/{message_id}/").status_code == 404
    assert client.get(f"/outbox/{message_id}/html/").status_code == 404

    client = client_for(organiser)
    listing = client.get("/outbox/")
    assert listing.status_code == 200
    assert "Your ballot closes Friday" in listing.content.decode()
    detail = client.get(f"/outbox/{message_id}/")
    assert "Hello Siân, please vote." in detail.content.decode()
    html = client.get(f"/outbox/{message_id}/html/")
    assert "sandbox" in html["Content-Security-Policy"]
    assert client.get("/outbox/" + "0" * 32 + "/").status_code == 404
    assert client.get("/outbox/../../etc/passwd/").status_code == 404
