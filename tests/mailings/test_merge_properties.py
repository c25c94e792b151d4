"""Property tests of the merge engine with random and hostile text: huge strings,
control characters, bidi overrides, emoji, tag-looking text, unknown fields.

Whatever a volunteer writes, compiling gives a template or a validation message (never
another exception); whatever a supporter's name holds, rendering gives output whose HTML
has exactly the markup of the drive itself: a merge value never becomes markup.
"""

from html import escape, unescape
from html.parser import HTMLParser

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mailings.merge import (
    ALLOWED_ATTRIBUTES,
    ALLOWED_TAGS,
    FIELDS,
    PLACEHOLDERS,
    URL_FIELDS,
    MergeError,
    Template,
    compile_mailing,
    merge_data,
    render,
)

PROPERTIES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

HOSTILE_PIECES = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    '"><svg onload=alert(1)>',
    "</p></body>",
    "<a href='javascript:alert(1)'>x</a>",
    "&amp;&lt;&#x3c;",
    "{{ first_name }}",
    "{{first_name}}",
    "{{ unknown_field }}",
    "{{ first_name|upper }}",
    "{{ contact.email }}",
    "{% if x %}",
    "{{",
    "}}",
    "%recipient.email%",
    "{{ params.email }}",
    "zqmergefield3zq",
    "[link]({{ voted_url }})",
    "[x]({{ first_name }})",
    "\u202e\u2066\u2067\u2068\u2069\u200f\u061c",  # bidi overrides and isolates
    "\r\n",
    "\x00\x01\x07\x1b[31m\x7f",
    "👩🏽‍🏫🗳️✊🏿",
    "Siân Ní Bhriain-O'Neill",
    "محمد",
    "山田太郎",
    "> > > > > > quote",
    "    indented code",
    "***",
    "\\",
    "\ufeff\ufffd",
]

any_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200)
pieces = st.lists(st.one_of(st.sampled_from(HOSTILE_PIECES), any_text), max_size=12).map("".join)
huge = st.builds(lambda piece, n: piece * n, st.sampled_from(HOSTILE_PIECES), st.integers(1, 3000))
hostile = st.one_of(pieces, huge, any_text)
field_names = st.sampled_from([name for name in FIELDS if name not in URL_FIELDS])


class Markup(HTMLParser):
    """The markup of an HTML part: tags and attributes, and its text unescaped."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(("start", tag, tuple(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.tags.append(("startend", tag, tuple(attrs)))

    def handle_endtag(self, tag):
        self.tags.append(("end", tag))

    def handle_data(self, data):
        self.text.append(data)

    def handle_comment(self, data):
        self.tags.append(("comment", data))

    def handle_decl(self, decl):
        self.tags.append(("decl", decl))

    def unknown_decl(self, data):
        self.tags.append(("unknown", data))

    def handle_pi(self, data):
        self.tags.append(("pi", data))


def markup(html: str) -> Markup:
    parser = Markup()
    parser.feed(html)
    parser.close()
    return parser


def compile_or_verdict(subject: str, body: str) -> Template | MergeError:
    try:
        return compile_mailing(subject=subject, body=body, sender_name="Rank & File")
    except MergeError as exc:
        return exc


@PROPERTIES
@given(subject=hostile, body=hostile)
@example(subject="Hi {{ first_name }}", body="\x00" * 50_000)
@example(subject="{{ first_name }}\r\nBcc: x@evil.example", body="Hi")
@example(subject="ok", body="> " * 5000 + "deep")
@example(subject="ok", body="[x](" * 3000)
def test_any_text_compiles_or_gets_a_validation_message(subject, body):
    outcome = compile_or_verdict(subject, body)

    if isinstance(outcome, MergeError):
        assert outcome.message_dict
        assert all(
            message.strip() for messages in outcome.message_dict.values() for message in messages
        )
    else:
        assert isinstance(outcome, Template)
        assert "\n" not in outcome.subject and "\r" not in outcome.subject
        for kind, tag, *rest in (t for t in markup(outcome.html).tags if t[0] != "end"):
            assert kind in ("start", "startend") and tag in ALLOWED_TAGS
            for name, _ in rest[0]:
                assert name in ALLOWED_ATTRIBUTES.get(tag, set()) | {"style", "rel"}


TEMPLATE_BODY = " ".join(
    f"**{name}** {{{{ {name} }}}} [{name} link]({{{{ voted_url }}}})"
    for name in FIELDS
    if name not in URL_FIELDS
)
TEMPLATE = compile_mailing(
    subject="Hello {{ first_name }}", body=TEMPLATE_BODY, sender_name="Rank & File"
)
URLS = {
    "voted_url": "https://turnout.example.org/voted/abc/",
    "unsubscribe_url": "https://turnout.example.org/u/def/",
}


@PROPERTIES
@given(values=st.dictionaries(field_names, hostile, min_size=1))
@example(values={"first_name": '<script>alert("x")</script>', "school": "</p><p>"})
@example(values={"first_name": "{{ last_name }}", "last_name": "<b>"})
@example(values={"first_name": "%recipient.html_last_name%"})
def test_the_html_part_never_carries_an_unescaped_merge_value(values):
    safe = render(TEMPLATE, {**URLS, **{name: "SAFE" for name in values}})
    rendered = render(TEMPLATE, {**URLS, **values})

    assert markup(rendered.html).tags == markup(safe.html).tags
    text = "".join(markup(rendered.html).text)
    for value in values.values():
        assert value.replace("\r", "\n") in text.replace("\r", "\n") or not value
    for name, value in values.items():
        if name in TEMPLATE.fields:
            assert value in rendered.text


@PROPERTIES
@given(values=st.dictionaries(field_names, hostile, min_size=1))
def test_batch_merge_data_gives_the_esp_only_escaped_html_values(values):
    data = merge_data({**URLS, **values}, TEMPLATE.fields)

    for name, value in values.items():
        if name not in TEMPLATE.fields:
            continue
        assert data[name] == value
        assert data[f"html_{name}"] == escape(value)
        assert unescape(data[f"html_{name}"]) == value
        assert not set("<>\"'") & set(data[f"html_{name}"])
    batched = TEMPLATE.for_esp(PLACEHOLDERS["Mailgun"])
    for name in TEMPLATE.fields - URL_FIELDS:
        assert f"%recipient.{name}%" not in batched.html  # HTML reads html_<name> only


@PROPERTIES
@given(name=hostile, body=hostile)
def test_rendering_a_compiled_drive_never_fails(name, body):
    outcome = compile_or_verdict("Hi {{ first_name }}", body)
    if isinstance(outcome, MergeError):
        return
    rendered = render(outcome, {**URLS, "first_name": name, "last_name": name})
    assert isinstance(rendered.html, str) and isinstance(rendered.text, str)
    assert rendered.subject == f"Hi {name}"
