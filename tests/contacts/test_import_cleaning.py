"""The importer's fast cleaning paths agree with the shared normalisers they stand in for."""

import pytest

from contacts.models import School


@pytest.mark.parametrize(
    "raw",
    [
        "a@example.org",
        "A.B+tag@Example.ORG",
        "o'neill@example.org",
        "bad@",
        "no at sign",
        "two@@example.org",
        "x@localhost",
        "x@[127.0.0.1]",
        "x@exa mple.org",
        "user@xn--bcher-kva.example",
        "ü@example.org",
    ],
)
def test_the_fast_email_check_agrees_with_djangos_validator(raw):
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    from contacts.importing.cells import parse_email

    def django_says(value):
        try:
            validate_email(value.strip().lower())
            return True
        except ValidationError:
            return False

    def ours(value):
        try:
            parse_email(value)
            return True
        except ValidationError:
            return False

    assert ours(raw) == django_says(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "07700 900001",
        "+44 7700 900001",
        "+44 (0)7700 900001",
        "447700900001",
        "0770-090-0001",
        "7700900001",
        "07911 123456",
        "07400 123456",
        "+44 20 7946 0000",
        "12345",
        "+1 202 555 0100",
        "07624 123456",
        "+44 7700",
        "07700 90000",
        "",
        "+447700900001234",
    ],
)
def test_the_fast_mobile_path_agrees_with_the_shared_normaliser(raw):
    from django.core.exceptions import ValidationError

    from contacts.importing.cells import parse_mobile
    from contacts.normalise import normalise_uk_mobile

    def outcome(function):
        try:
            return function(raw)
        except ValidationError:
            return "invalid"

    assert outcome(parse_mobile) == outcome(normalise_uk_mobile)


@pytest.mark.parametrize(
    ("name", "urn"),
    [
        ("St. Mary's C of E Primary ", "100123 "),
        ("Ysgol Gymraeg Aberystwyth", ""),
        ("École & Lycée", None),
        ("x" * 250, "9"),
    ],
)
def test_schools_the_importer_creates_are_normalised_like_school_prepare(name, urn):
    from contacts.importing.places import NewSchool
    from contacts.services import school_prepare

    prepared = school_prepare(school=School(name=name[:200], urn=urn))
    new = NewSchool(name=name[:200], urn=urn)

    assert (new.name, new.name_key, new.urn) == (
        prepared.name,
        prepared.name_key,
        prepared.urn,
    )


@pytest.mark.parametrize(
    "name",
    [
        "St. Mary's C of E Primary ",
        "ST MARYS C OF E PRIMARY",
        "Alder & Birch  Federation",
        "O’Neill Academy",
        "École Élémentaire",
        "Ysgol  Gymraeg - Aberystwyth",
        "Oak_Tree School (Infants)",
        "王伟 School",
        "",
    ],
)
def test_the_importers_school_name_key_matches_the_models(name):
    from contacts.importing.places import name_key as importer_key
    from contacts.models import name_key

    assert importer_key(name) == name_key(name)
