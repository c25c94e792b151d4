"""File-level errors: refused before anything is written, with a message saying what to do."""

import pytest

from contacts.importing import FileError, ImportOptions, supporters_import
from contacts.models import Contact, ImportBatch


def test_a_file_without_a_consent_column_is_refused_before_anything_is_written(organiser, tmp_path):
    path = tmp_path / "no-consent.csv"
    path.write_text("Email,First name\nnew@example.org,New\n")
    batches = ImportBatch.objects.count()

    with pytest.raises(FileError, match="Consent to email"):
        supporters_import(path=path, file_name="no-consent.csv", actor=organiser)

    assert not Contact.objects.exists()
    assert ImportBatch.objects.count() == batches


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "empty"),
        ("broken.xlsx", b"this is not a spreadsheet", "damaged"),
        ("broken.ods", b"PK\x03\x04 truncated", "damaged"),
        ("old.xls", b"\xd0\xcf\x11\xe0", ".xls"),
        ("binary.csv", b"Email,Consent\n\x81\x8d\x8f\x90\x9d,yes\n", "encoding"),
    ],
)
def test_unreadable_files_are_a_file_error_that_writes_nothing(
    organiser, tmp_path, name, content, message
):
    path = tmp_path / name
    path.write_bytes(content)

    with pytest.raises(FileError, match=message):
        supporters_import(path=path, file_name=name, actor=organiser)

    assert not Contact.objects.exists() and not ImportBatch.objects.exists()


def test_exceeding_the_row_limit_is_a_file_error_that_writes_nothing(organiser, tmp_path, settings):
    settings.IMPORT_MAX_ROWS = 5
    path = tmp_path / "big.csv"
    path.write_text("Email,Consent\n" + "".join(f"p{n}@example.org,yes\n" for n in range(12)))

    with pytest.raises(FileError, match="more than 5 rows"):
        supporters_import(
            path=path, file_name="big.csv", actor=organiser, options=ImportOptions(chunk_size=4)
        )

    assert not Contact.objects.exists() and not ImportBatch.objects.exists()


def test_exceeding_the_size_limit_is_a_file_error(organiser, tmp_path, settings):
    settings.IMPORT_MAX_BYTES = 1024
    path = tmp_path / "big.csv"
    path.write_text("Email,Consent\n" + "x@example.org,yes\n" * 200)

    with pytest.raises(FileError, match="limit"):
        supporters_import(path=path, file_name="big.csv", actor=organiser)


def test_a_file_with_only_its_header_imports_nothing_and_says_so(organiser, tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("Email,Consent\n\n\n")

    report = supporters_import(path=path, file_name="header.csv", actor=organiser)

    assert (report.rows, report.blank_rows, report.created) == (0, 0, 0)
    assert ImportBatch.objects.get(pk=report.batch_id).counts["rows"] == 0


def test_a_file_of_blank_lines_is_a_file_error(organiser, tmp_path):
    path = tmp_path / "blank.csv"
    path.write_text("\n\n,,\n")

    with pytest.raises(FileError, match="no rows"):
        supporters_import(path=path, file_name="blank.csv", actor=organiser)
