"""Supporter spreadsheet import: messy CSV/XLSX/ODS in, clean consented contacts out.

``supporters_import`` is the one pipeline behind the CLI, the admin and the queue;
``import_batch_undo`` takes an import back out.
"""

from contacts.importing.errors import FileError
from contacts.importing.pipeline import ImportOptions, supporters_import
from contacts.importing.report import ImportReport, Problem

__all__ = ["FileError", "ImportOptions", "ImportReport", "Problem", "supporters_import"]
