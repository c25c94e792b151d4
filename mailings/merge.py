"""The restricted merge engine for volunteer-written drives.

Volunteers write a subject and a Markdown body with merge fields such as
``{{ first_name }}``. The body is untrusted input, so this is deliberately not the
Django template language: only a fixed set of field names is recognised, there are
no tags, filters or attribute access, unknown fields are rejected at compose time
(naming them), HTML is sanitised with nh3, and values are HTML-escaped in the HTML
part.

A checked body compiles once per drive into a *template* whose fields are neutral
markers (``{{first_name}}``). The markers are then either

* rewritten into the ESP's own batch-substitution syntax (``PLACEHOLDERS``), with
  every recipient's values sent as Anymail ``merge_data`` - one API call carries up
  to ``BATCH_LIMITS[esp]`` recipients (this is what makes 100,000-recipient drives
  fast: see README "Email drives"), or
* substituted locally per recipient (``render``) for previews, test sends and ESPs
  whose inline batch templating Anymail cannot drive (Postmark and Amazon SES need a
  stored template for ``merge_data``).

The HTML part uses a separate ``html_<field>`` variable holding the escaped value, so
one ``merge_data`` entry serves both the plain-text and the HTML part.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape
from html.parser import HTMLParser

import markdown
import nh3
from django.core.exceptions import ValidationError

FIELDS: dict[str, str] = {
    "first_name": "Supporter's first name",
    "last_name": "Supporter's last name",
    "full_name": "Supporter's full name",
    "school": "Supporter's school",
    "district": "Supporter's district",
    "candidate": "The campaign's candidate",
    "ballot_closes": "When the ballot closes",
    "unsubscribe_url": "Personal unsubscribe link",
    "voted_url": 'Personal "I have voted" link',
}
# Fields that may stand as a link target (they are our own https links).
URL_FIELDS = frozenset({"unsubscribe_url", "voted_url"})

# How each ESP names a per-recipient variable in a batch send (Anymail merge_data).
# None: Anymail can only batch with a stored template there, so Turnout renders each
# message itself and sends them one by one over one reused connection.
PLACEHOLDERS: dict[str, str | None] = {
    "Mailgun": "%recipient.{}%",
    "Brevo": "{{{{ params.{} }}}}",
    "Outbox": "%recipient.{}%",
    "Test": "%recipient.{}%",
    "Postmark": None,
    "Amazon SES": None,
}
# Recipients per API call in a batch send.
BATCH_LIMITS: dict[str, int] = {"Mailgun": 1000, "Brevo": 1000, "Outbox": 1000, "Test": 1000}

_FIELD = re.compile(r"\{\{(.*?)\}\}", re.S)
_NAME = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*$")
_MARKER = re.compile(r"\{\{([a-z_]+)\}\}")
_SENTINEL = "zqmergefield{}zq"
_SENTINEL_RE = re.compile(r"zqmergefield(\d+)zq")
_ESP_VARIABLE = re.compile(r"%recipient\.|\{\{\s*params\.", re.I)

ALLOWED_TAGS = {
    "a", "b", "blockquote", "br", "code", "em", "h1", "h2", "h3", "h4", "hr", "i", "li",
    "ol", "p", "pre", "strong", "u", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}


class MergeError(ValidationError):
    pass


def merge_check(text: str, *, field_label: str = "body") -> list[str]:
    """The merge fields ``text`` uses, in order; raises MergeError naming every problem."""
    problems: list[str] = []
    used: list[str] = []
    unknown: list[str] = []
    for match in _FIELD.finditer(text):
        inner = match.group(1)
        name = _NAME.match(inner)
        if name is None:
            problems.append(
                f"{{{{{inner}}}}} is not a merge field; only plain names such as "
                "{{ first_name }} are allowed (no filters, dots or expressions)"
            )
        elif name.group(1) not in FIELDS:
            unknown.append(name.group(1))
        elif name.group(1) not in used:
            used.append(name.group(1))
    if unknown:
        problems.insert(
            0,
            f"unknown merge field{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(sorted(set(unknown)))}; the fields are {', '.join(FIELDS)}",
        )
    rest = _FIELD.sub("", text)
    if "{%" in rest or "%}" in rest:
        problems.append("template tags ({% … %}) are not allowed")
    elif "{{" in rest or "}}" in rest:
        problems.append("a merge field is missing its opening {{ or closing }}")
    if _ESP_VARIABLE.search(rest):
        problems.append("ESP substitution codes (%recipient.…%, {{ params.… }}) are not allowed")
    if problems:
        label = field_label.capitalize()
        raise MergeError({field_label: [f"{label}: {p}." for p in problems]})
    return used


def unknown_fields(text: str) -> list[str]:
    """Names written as merge fields in ``text`` that are not fields, in order, once each."""
    found: list[str] = []
    for match in _FIELD.finditer(text):
        name = _NAME.match(match.group(1))
        if name and name.group(1) not in FIELDS and name.group(1) not in found:
            found.append(name.group(1))
    return found


def suggest_field(name: str) -> str | None:
    """The merge field a misspelt ``name`` most likely meant (None if nothing is close)."""
    from difflib import get_close_matches

    lowered = name.lower()
    if lowered in FIELDS:
        return lowered
    close = get_close_matches(lowered, list(FIELDS), n=1, cutoff=0.6)
    return close[0] if close else None


@dataclass(frozen=True)
class Template:
    """A compiled drive: subject, HTML and text with neutral ``{{field}}`` markers."""

    subject: str
    html: str
    text: str

    @property
    def fields(self) -> frozenset[str]:
        found = set()
        for part in (self.subject, self.html, self.text):
            found.update(_MARKER.findall(part))
        return frozenset(found)

    def for_esp(self, placeholder: str) -> Template:
        """The same template in an ESP's batch syntax; HTML reads the escaped values.

        Link fields are our own URLs with nothing to escape (``merge_data`` checks), so
        both parts share one variable and every recipient's data stays small.
        """

        def key(name: str, html: bool) -> str:
            return f"html_{name}" if html and name not in URL_FIELDS else name

        def rewrite(part: str, html: bool) -> str:
            return _MARKER.sub(lambda m: placeholder.format(key(m.group(1), html)), part)

        return Template(
            subject=rewrite(self.subject, False),
            html=rewrite(self.html, True),
            text=rewrite(self.text, False),
        )


def compile_mailing(*, subject: str, body: str, sender_name: str) -> Template:
    """Check and compile a drive. Always appends a visible unsubscribe footer."""
    errors: dict[str, list[str]] = {}
    for label, text in (("subject", subject), ("body", body)):
        try:
            merge_check(text, field_label=label)
        except MergeError as exc:
            errors.update(exc.message_dict)
    if "\n" in subject or "\r" in subject:
        errors.setdefault("subject", []).append("The subject must be one line.")
    if errors:
        raise MergeError(errors)

    names = list(FIELDS)
    with_sentinels = _FIELD.sub(
        lambda m: _SENTINEL.format(names.index(_NAME.match(m.group(1)).group(1))), body
    )
    html = markdown.markdown(with_sentinels, extensions=["sane_lists"], output_format="html")
    html = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )
    misused = sorted(
        {
            names[int(index)]
            for href in re.findall(r'href="([^"]*)"', html)
            for index in _SENTINEL_RE.findall(href)
            if names[int(index)] not in URL_FIELDS or href != _SENTINEL.format(index)
        }
    )
    if misused:
        raise MergeError(
            {
                "body": [
                    f"The body uses {', '.join(misused)} as a link address; only "
                    f"{' and '.join(sorted(URL_FIELDS))} may be a whole link address."
                ]
            }
        )
    text = html_to_text(html)
    footer_html = (
        '<hr><p style="font-size:12px;color:#555">You are receiving this because you '
        f"agreed to hear from {escape(sender_name)} about the election. "
        '<a href="{{unsubscribe_url}}">Unsubscribe</a> with one click.</p>'
    )
    footer_text = (
        f"\n\n--\nYou are receiving this because you agreed to hear from {sender_name} "
        "about the election.\nUnsubscribe: {{unsubscribe_url}}\n"
    )

    def markers(part: str) -> str:
        return _SENTINEL_RE.sub(lambda m: "{{" + names[int(m.group(1))] + "}}", part)

    return Template(
        subject=_FIELD.sub(lambda m: "{{" + _NAME.match(m.group(1)).group(1) + "}}", subject),
        html=markers(html) + footer_html,
        text=markers(text).rstrip() + footer_text,
    )


def merge_data(values: dict[str, str], fields: frozenset[str]) -> dict[str, str]:
    """One recipient's ESP merge variables: raw values, and escaped ones for HTML."""
    data: dict[str, str] = {}
    for name in fields:
        value = values.get(name, "")
        data[name] = value
        if name in URL_FIELDS:
            if escape(value) != value:
                raise ValueError(
                    f"{name} must not contain HTML special characters: check SITE_URL."
                )
        else:
            data[f"html_{name}"] = escape(value)
    return data


def fill(template: Template, values: dict[str, str]) -> Template:
    """Substitute only the fields given (the same for every recipient of a drive),
    leaving the other markers for the ESP."""

    def sub(part: str, html: bool) -> str:
        def one(match):
            name = match.group(1)
            if name not in values:
                return match.group(0)
            return escape(values[name]) if html else values[name]

        return _MARKER.sub(one, part)

    return Template(
        subject=sub(template.subject, False),
        html=sub(template.html, True),
        text=sub(template.text, False),
    )


def render(template: Template, values: dict[str, str]) -> Template:
    """Substitute one recipient's values locally (previews, outbox, per-message ESPs)."""

    def fill(part: str, html: bool) -> str:
        return _MARKER.sub(
            lambda m: escape(values.get(m.group(1), "")) if html else values.get(m.group(1), ""),
            part,
        )

    return Template(
        subject=fill(template.subject, False),
        html=fill(template.html, True),
        text=fill(template.text, False),
    )


class _TextExtractor(HTMLParser):
    _BLOCKS = {"p", "h1", "h2", "h3", "h4", "blockquote", "pre", "ul", "ol", "hr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hrefs: list[str | None] = []

    def handle_starttag(self, tag, attrs):
        if tag in self._BLOCKS:
            self.parts.append("\n\n")
        if tag == "br":
            self.parts.append("\n")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag == "hr":
            self.parts.append("----\n")
        elif tag == "a":
            self.hrefs.append(dict(attrs).get("href"))

    def handle_endtag(self, tag):
        if tag == "a" and self.hrefs:
            href = self.hrefs.pop()
            if href:
                self.parts.append(f" ({href})")
        elif tag in self._BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data):
        self.parts.append(data)


def html_to_text(html: str) -> str:
    """The plain-text alternative of a sanitised HTML body."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
