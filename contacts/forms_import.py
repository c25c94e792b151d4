"""Forms of the organiser's import screens (contacts/views_import.py)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from contacts.importing.admin_views import ImportUploadForm
from contacts.importing.columns import FIELD_LABELS, IGNORE, REQUIRED
from contacts.importing.workspace import Column, field_choices


class AppImportUploadForm(ImportUploadForm):
    """The admin's upload form, with the file picker limited to the formats read."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].widget.attrs.update(
            {"accept": ".csv,.xlsx,.ods,.txt,.tsv", "class": "dropzone__input"}
        )


class ColumnMappingForm(forms.Form):
    """One choice per column of the file: which field it holds, or not imported."""

    def __init__(self, *args, columns: list[Column], **kwargs):
        super().__init__(*args, **kwargs)
        self.columns = columns
        for column in columns:
            self.fields[f"col_{column.position}"] = forms.ChoiceField(
                label=column.header or f"Column {column.position + 1} (no heading)",
                choices=field_choices(),
                required=False,
                initial=column.chosen,
            )

    def rows(self):
        """(column, its bound field) for the template."""
        return [(column, self[f"col_{column.position}"]) for column in self.columns]

    def clean(self):
        data = super().clean()
        seen: dict[str, str] = {}
        for column in self.columns:
            name = f"col_{column.position}"
            value = data.get(name) or IGNORE
            if value == IGNORE:
                continue
            if value in seen:
                self.add_error(
                    name,
                    f"{FIELD_LABELS[value]} is already the column "
                    f'"{self.fields[seen[value]].label}"; choose another field or '
                    '"Do not import".',
                )
            else:
                seen[value] = name
        missing = [FIELD_LABELS[name] for name in REQUIRED if name not in seen]
        if missing:
            raise ValidationError(
                "Choose the column that holds "
                + " and the one that holds ".join(missing)
                + ": Turnout cannot import supporters without them."
            )
        return data

    def chosen(self) -> list[str]:
        return [self.cleaned_data.get(f"col_{c.position}") or IGNORE for c in self.columns]
