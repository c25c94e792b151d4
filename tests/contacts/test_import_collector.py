"""The import holds back Python's cyclic collector, and always gives it back."""

import gc
import threading

import pytest

from contacts.importing.cells import mobile_from_text, mobile_or_none
from contacts.importing.collector import collector_relaxed
from contacts.importing.errors import FileError
from contacts.importing.pipeline import supporters_import


@pytest.fixture
def thresholds():
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield (700, 10, 10)
    gc.set_threshold(*before)


def test_the_thresholds_are_raised_inside_and_put_back_after(thresholds):
    with collector_relaxed():
        assert gc.get_threshold()[0] >= 100_000
    assert gc.get_threshold() == thresholds


def test_the_thresholds_are_put_back_when_the_block_fails(thresholds):
    with pytest.raises(RuntimeError), collector_relaxed():
        raise RuntimeError("the import failed")
    assert gc.get_threshold() == thresholds


def test_overlapping_imports_put_the_thresholds_back_only_when_the_last_ends(thresholds):
    first_inside, second_inside, first_left = (threading.Event() for _ in range(3))
    seen = {}

    def first():
        with collector_relaxed():
            first_inside.set()
            second_inside.wait(5)
        first_left.set()

    def second():
        first_inside.wait(5)
        with collector_relaxed():
            second_inside.set()
            first_left.wait(5)
            seen["while the second runs"] = gc.get_threshold()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert seen["while the second runs"][0] >= 100_000
    assert gc.get_threshold() == thresholds


@pytest.mark.django_db
def test_an_import_refused_for_its_file_puts_the_thresholds_back(thresholds, organiser, tmp_path):
    path = tmp_path / "supporters.csv"
    path.write_text("Email,First name\nellie@example.com,Ellie\n")

    with pytest.raises(FileError):
        supporters_import(path=path, file_name=path.name, actor=organiser)

    assert gc.get_threshold() == thresholds


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ""),
        ("07700 900123", "+447700900123"),
        ("+44 (0)7700 900123", "+447700900123"),
        ("12345", None),
        ("020 7946 0000", None),  # a London landline: phonenumbers says not a mobile
        ("not a number", None),
    ],
)
def test_a_mobile_is_checked_without_raising_and_the_same_as_before(text, expected):
    assert mobile_or_none(text) == expected
    if expected is None:
        with pytest.raises(Exception, match="not a UK mobile"):
            mobile_from_text(text)
    else:
        assert mobile_from_text(text) == expected
