"""Supporter search: what a query matches, built so PostgreSQL answers from indexes.

Every word of the query must match (in any order). A word of three or more characters
matches anywhere in a supporter's first name, last name or email, or a school's
name; a complete email address finds that supporter's address exactly. A one- or
two-letter word ("Li", "Wu", "Ó") matches anywhere too when the query has a longer word
(which finds the candidates through the index), and otherwise the start of a first or
last name (anywhere would match nearly everybody). A school URN matches exactly. A query
that looks like a mobile number ("07700 900123", "+44 7700 900123") finds the mobiles
containing it, however it was typed; six bare digits are a URN, not a phone.

On PostgreSQL the name/email text is one expression with a pg_trgm GIN index on
it (migration contacts 0004 builds the identical expression), the prefixes use
``text_pattern_ops`` indexes on ``lower(first_name)``/``lower(last_name)``, mobiles and
school names trigram indexes: a search reads a few index pages, never the whole table.

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
# A mobile as people type it: "+44 7700 900123", "07700900123", "7700 900 123". A bare
# six-digit number is a school's URN, not a phone.
_PHONE = re.compile(r"^(?:[+0][\d\s().-]{5,}|[\d\s().-]{9,})$")
# A whole address: found through the unique index on lower(email), not by trigrams
# (its common parts, like the domain, are in every other address).
_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class SearchText(Func):
    """lower(first_name || ' ' || last_name || ' ' || email), written out literally (no
    parameters) so PostgreSQL sees the indexed expression."""

    template = "lower(%(expressions)s)"
    arg_joiner = " || ' ' || "
    output_field = CharField()

    def __init__(self) -> None:
        super().__init__(F("first_name"), F("last_name"), F("email"))


def search_words(query: str) -> list[str]:
    return [word.lower() for word in query.split()]


def phone_digits(query: str) -> str:
    """The national part of a mobile number typed in any UK form, or "" if the query
    is not one. Stored numbers are E.164 (+447700900123)."""
    text = query.strip()
    if not _PHONE.match(text):
        return ""
    digits = re.sub(r"\D", "", text)
    return digits[2:] if digits.startswith("44") else digits.lstrip("0")


def _school_ids(word: str, *, longest: str) -> list[int]:
    """Schools whose name contains ``word`` (or whose URN it is). A short word is only
    looked for in the names that contain the query's longest word as well ("st" of
    "st mary's"), which keeps the list to the schools meant."""
    schools = School.objects.order_by().alias(lname=Lower("name"))
    if len(word) >= SHORT_WORD or longest:
        named = Q(lname__contains=word)
        if len(word) < SHORT_WORD:
            named &= Q(lname__contains=longest)
        schools = schools.filter(named | Q(urn=word))
    else:
        schools = schools.filter(urn=word)
    ids = list(schools.values_list("pk", flat=True)[: MAX_SCHOOLS_PER_WORD + 1])
    return [] if len(ids) > MAX_SCHOOLS_PER_WORD else ids


def search_filter(contacts: QuerySet, query: str) -> QuerySet:
    """``contacts`` narrowed to those matching every word of ``query``."""
    national = phone_digits(query)
    if national:
        return contacts.filter(mobile__contains=national)
    words = search_words(query)
    if not words:
        return contacts
    contacts = contacts.alias(
        search_text=SearchText(),
        first_lower=Lower("first_name"),
        last_lower=Lower("last_name"),
        email_lower=Lower("email"),
    )
    # With a long word to find them by (through the index), short words may match
    # anywhere among those few; alone they match the start of a name.
    longest = max(words, key=len)
    longest = longest if len(longest) >= SHORT_WORD else ""
    for word in words:
        if _ADDRESS.match(word):
            contacts = contacts.filter(email_lower=word)
            continue
        if len(word) >= SHORT_WORD or longest:
            match = Q(search_text__contains=word)
        else:
            match = Q(first_lower__startswith=word) | Q(last_lower__startswith=word)
        school_ids = _school_ids(word, longest=longest)
        if school_ids:
            match |= Q(school_id__in=school_ids)
        contacts = contacts.filter(match)
    return contacts


class _Unindexed(Func):
    """``column || ''``: the same order as the column, but not one an index provides.

    A search's matches are few and found through the trigram index; sorted, they are a
    page in milliseconds. Offered the list-order index instead, the planner may walk
    it from "A" hoping to meet matches early, which for "smith" means reading 130,000
    rows before the first one."""

    template = "(%(expressions)s || '')"
    output_field = CharField()


def search_order() -> list:
    return [_Unindexed(F("last_name")), _Unindexed(F("first_name")), "pk"]
