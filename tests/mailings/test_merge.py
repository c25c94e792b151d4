"""The restricted merge engine: fixed fields, nothing else, values escaped in HTML."""

import pytest

from mailings.merge import FIELDS, MergeError, compile_mailing, merge_check, merge_data, render


def compile_body(body, subject="Hello {{ first_name }}"):
    return compile_mailing(subject=subject, body=body, sender_name="Rank & File")


def test_every_field_renders_in_subject_html_and_text():
    body = " ".join(f"[{name}]{{{{ {name} }}}}" for name in FIELDS)
    template = compile_body(body)
    values = {name: f"<{name}-value>" for name in FIELDS}
    values["voted_url"] = "https://turnout.example.org/voted/abc/"
    rendered = render(template, values)
    for name in FIELDS:
        if name.endswith("_url"):
            continue
        assert f"[{name}]<{name}-value>" in rendered.text
        assert f"[{name}]&lt;{name}-value&gt;" in rendered.html
    assert rendered.subject == "Hello <first_name-value>"
    assert "https://turnout.example.org/voted/abc/" in rendered.text


def test_unknown_fields_are_rejected_naming_them():
    with pytest.raises(MergeError) as caught:
        compile_body("Hi {{ firstname }} from {{ branch }} and {{ first_name }}")
    message = " ".join(caught.value.message_dict["body"])
    assert "branch, firstname" in message
    assert "first_name, last_name" in message  # the valid fields are listed


@pytest.mark.parametrize(
    "body",
    [
        "{{ first_name|upper }}",
        "{{ contact.email }}",
        "{{ first_name.__class__ }}",
        "{% if 1 %}x{% endif %}",
        "{{ first_name",
        "%recipient.email%",
        "{{ params.email }}",
    ],
)
def test_tags_filters_attribute_access_and_esp_codes_are_rejected(body):
    with pytest.raises(MergeError):
        merge_check(body)


def test_a_field_in_the_subject_is_checked_too():
    with pytest.raises(MergeError) as caught:
        compile_body("Fine", subject="Hi {{ nickname }}")
    assert "nickname" in " ".join(caught.value.message_dict["subject"])


def test_html_injection_in_a_name_is_escaped_in_html_and_batch_data():
    template = compile_body("Dear {{ first_name }}")
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    rendered = render(template, {"first_name": evil, "unsubscribe_url": "https://x/u/t/"})
    assert "<script>" not in rendered.html and "<img" not in rendered.html
    assert "&lt;script&gt;" in rendered.html
    assert evil in rendered.text  # plain text is not HTML
    data = merge_data({"first_name": evil}, frozenset({"first_name"}))
    assert data["first_name"] == evil
    assert "<" not in data["html_first_name"]


def test_volunteer_html_is_sanitised():
    template = compile_body(
        'Hi <script>steal()</script><a href="javascript:alert(1)">x</a> <b onclick="x()">bold</b>'
    )
    assert "script" not in template.html
    assert "javascript:" not in template.html
    assert "onclick" not in template.html
    assert "<b>bold</b>" in template.html


def test_only_link_fields_may_be_link_addresses():
    assert "{{voted_url}}" in compile_body("[I voted]({{ voted_url }})").html
    with pytest.raises(MergeError) as caught:
        compile_body("[click]({{ first_name }})")
    assert "first_name" in " ".join(caught.value.message_dict["body"])


def test_every_drive_gets_a_visible_unsubscribe_link_and_a_text_part():
    template = compile_body("**Vote** for us.\n\n- one\n- two")
    assert '<a href="{{unsubscribe_url}}">Unsubscribe</a>' in template.html
    assert "Unsubscribe: {{unsubscribe_url}}" in template.text
    assert "<strong>" not in template.text and "Vote for us." in template.text


def test_esp_syntax_reads_escaped_values_in_html_and_raw_in_text():
    template = compile_body("Hi {{ first_name }}").for_esp("%recipient.{}%")
    assert "%recipient.html_first_name%" in template.html
    assert "%recipient.first_name%" in template.text
    assert template.subject == "Hello %recipient.first_name%"
