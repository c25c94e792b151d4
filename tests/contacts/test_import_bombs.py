"""Crafted files are refused before they are parsed: fast, in little memory, with a
message naming what is too big and what to do.

Each file is imported by the real ``import_supporters --json`` command in a child
process on a SQLite file of its own; the kernel's account of that one child (wait4)
gives its peak resident memory, start-up included. The time is the command's own, from
the moment Django is set up (start-up varies by seconds on a shared machine).
"""

import sqlite3

import pytest

from tests.contacts import crafted_files
from tests.contacts.import_processes import import_file, migrated_database

SECONDS = 2.0
PEAK_MB = 300.0


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    return migrated_database(tmp_path_factory.mktemp("bombs"))


def nothing_stored(database) -> bool:
    with sqlite3.connect(database) as connection:
        counts = [
            connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
            for table in ("contacts_contact", "contacts_importbatch", "contacts_school")
        ]
    return counts == [0, 0, 0]


CASES = [
    pytest.param(
        crafted_files.xlsx_sheet_of_gigabytes,
        "sheet.xlsx",
        {},
        ["expands to 2,048 MB", "IMPORT_MAX_UNCOMPRESSED_BYTES", "save the sheet as CSV"],
        id="xlsx-sheet-expanding-to-gigabytes-without-dimension",
    ),
    pytest.param(
        lambda path: crafted_files.xlsx_sheet_of_gigabytes(path, gigabytes=0.25),
        "tight.xlsx",
        {},
        ["compressed", "IMPORT_MAX_COMPRESSION_RATIO"],
        id="xlsx-sheet-compressed-a-thousand-to-one",
    ),
    pytest.param(
        crafted_files.xlsx_huge_shared_strings,
        "strings.xlsx",
        {},
        ["shared strings", "400 MB", "IMPORT_MAX_SHARED_STRINGS_BYTES"],
        id="xlsx-huge-shared-strings",
    ),
    pytest.param(
        crafted_files.xlsx_two_far_cells,
        "far.xlsx",
        {},
        ["1,048,576 rows", "IMPORT_MAX_ROWS"],
        id="xlsx-two-cells-spanning-the-whole-grid",
    ),
    pytest.param(
        crafted_files.ods_of_blank_rows,
        "blank.ods",
        {},
        ["expands to 1,536 MB", "IMPORT_MAX_UNCOMPRESSED_BYTES"],
        id="ods-of-gigabytes-of-blank-rows",
    ),
    pytest.param(
        crafted_files.ods_repeated_blank_rows,
        "repeated.ods",
        {},
        ["50,000,002 rows", "IMPORT_MAX_ROWS", "delete the empty rows"],
        id="ods-of-repeated-blank-rows-before-a-supporter",
    ),
    pytest.param(
        crafted_files.ods_row_of_repeated_columns,
        "wide.ods",
        {},
        ["200,000,002 columns", "IMPORT_MAX_COLUMNS"],
        id="ods-row-of-200-million-repeated-columns",
    ),
    pytest.param(
        lambda path: crafted_files.csv_rows(path, 300_000),
        "long.csv",
        {"IMPORT_MAX_ROWS": "1000"},
        ["more than 1,000 rows", "Split it"],
        id="csv-over-the-row-limit",
    ),
    pytest.param(
        crafted_files.csv_with_a_huge_cell,
        "cell.csv",
        {},
        ["Row 2", "longer than"],
        id="csv-with-a-100-mb-cell",
    ),
]


@pytest.mark.parametrize(("build", "name", "env", "message"), CASES)
def test_a_crafted_file_is_refused_fast_in_little_memory_with_a_clear_message(
    database, tmp_path, build, name, env, message
):
    path = build(tmp_path / name)
    assert path.stat().st_size < 160 * crafted_files.MB

    run = import_file(database, path, **env)

    assert run.returncode == 0, run.stderr[-3000:]
    result = run.result()
    for words in message:
        assert words in result["error"], result["error"]
    assert "nothing was imported" in result["error"]
    assert run.peak_mb < PEAK_MB, f"peak {run.peak_mb:.0f} MB"
    assert result["seconds"] < SECONDS, f"refused after {result['seconds']:.2f} s"
    assert nothing_stored(database)
