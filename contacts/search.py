"""Supporter search: what a query matches, built so PostgreSQL answers from indexes.

Every word of the query must match (in any order). A word of three or more characters
matches anywhere in a supporter's first name, last name, email or mobile, or a school's
name; a one- or two-letter word ("Li", "Wu", "Ó") matches the start of a first or last
name (anywhere would match nearly everybody). A school URN matches exactly. A query
that looks like a phone number ("07700 900123") is searched as one E.164 number.

On PostgreSQL the name/email/mobile text is one expression with a pg_trgm GIN index on
it (migration contacts 0004 builds the identical expression), the prefixes use
``text_pattern_ops`` indexes on ``lower(first_name)``/``lower(last_name)``, and school
names a trigram index: a search reads a few index pages, never the whole table.

SQLite fallback (the embedded default): the same queries, answered by scanning, which
is quick at the embedded default's size. SQLite's ``lower()`` and ``LIKE`` fold ASCII
letters only, so there a search for "éloïse" does not find "Éloïse"; PostgreSQL folds
every letter.
"""

from __future__ import annotations

import re

from django.db.models import CharField, F, Func, Q, QuerySet
from django.db.models.functions import Lower

from contacts.models import School

SHORT_WORD = 3
# A school matched by name brings all its supporters; past this many schools a word is
# too general to be worth the list (the names, emails and mobiles still match).
MAX_SCHOOLS_PER_WORD = 2000
_PHONE = re.compile(r"^\+?[\d\s().-]{6,}$")


class SearchText(Func):
    """lower(first_name || ' ' || last_name || ' ' || email || ' ' || mobile), written
    out literally (no parameters) so PostgreSQL sees the indexed expression."""

    template = "lower(%(expressions)s)"
    arg_joiner = " || ' ' || "
    output_field = CharField()

    def __init__(self) -> None:
        super().__init__(F("first_name"), F("last_name"), F("email"), F("mobile"))


def search_words(query: str) -> list[str]:
    text = " ".join(query.split())
    if not text:
        return []
    if _PHONE.match(text) and sum(ch.isdigit() for ch in text) >= 6:
        digits = re.sub(r"\D", "", text)
        if digits.startswith("0"):
            digits = "44" + digits[1:]
        return [digits]
    return [word.lower() for word in text.split(" ")]


def _school_ids(word: str) -> list[int]:
    schools = School.objects.order_by()
    if len(word) >= SHORT_WORD:
        schools = schools.alias(lname=Lower("name")).filter(Q(lname__contains=word) | Q(urn=word))
    else:
        schools = schools.filter(urn=word)
    ids = list(schools.values_list("pk", flat=True)[: MAX_SCHOOLS_PER_WORD + 1])
    return [] if len(ids) > MAX_SCHOOLS_PER_WORD else ids


def search_filter(contacts: QuerySet, query: str) -> QuerySet:
    """``contacts`` narrowed to those matching every word of ``query``."""
    words = search_words(query)
    if not words:
        return contacts
    contacts = contacts.alias(
        search_text=SearchText(), first_lower=Lower("first_name"), last_lower=Lower("last_name")
    )
    for word in words:
        if len(word) >= SHORT_WORD:
            match = Q(search_text__contains=word)
        else:
            match = Q(first_lower__startswith=word) | Q(last_lower__startswith=word)
        school_ids = _school_ids(word)
        if school_ids:
            match |= Q(school_id__in=school_ids)
        contacts = contacts.filter(match)
    return contacts
