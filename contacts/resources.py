"""django-import-export resources for supporters.

Column names match the importer's aliases, so an export can be edited and imported
again. Importing through a resource goes through Turnout's own pipeline (the same
rules, report and batch as the command line and the admin), never import-export's
row-by-row import.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from import_export import fields, resources

from contacts.importing import ImportOptions, ImportReport, supporters_import
from contacts.models import Contact


class ContactResource(resources.ModelResource):
    email = fields.Field(attribute="email", column_name="Email")
    first_name = fields.Field(attribute="first_name", column_name="First name")
    last_name = fields.Field(attribute="last_name", column_name="Last name")
    mobile = fields.Field(attribute="mobile", column_name="Mobile")
    school = fields.Field(attribute="school__name", column_name="School")
    urn = fields.Field(attribute="school__urn", column_name="School URN")
    district = fields.Field(attribute="district__name", column_name="District")
    role = fields.Field(attribute="role", column_name="Role")
    consent = fields.Field(column_name="Consent to email")
    notes = fields.Field(attribute="notes", column_name="Notes")
    gotv_status = fields.Field(attribute="gotv_status", column_name="GOTV status")

    class Meta:
        model = Contact
        fields = (
            "email",
            "first_name",
            "last_name",
            "mobile",
            "school",
            "urn",
            "district",
            "role",
            "consent",
            "notes",
            "gotv_status",
        )
        export_order = fields

    def dehydrate_consent(self, contact: Contact) -> str:
        has = getattr(contact, "has_consent", None)
        if has is None:
            has = contact.is_mailable()
        return "yes" if has else "no"

    def filter_export(self, queryset, **kwargs):
        return queryset.select_related("school", "district")

    def import_data(self, dataset, dry_run=False, raise_errors=False, **kwargs) -> ImportReport:
        """Import a tablib Dataset through the supporter pipeline (the same rules as
        every other import); returns its ImportReport. Needs ``user`` (an organiser)."""
        user = kwargs.get("user")
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / "dataset.csv"
            path.write_text(dataset.export("csv"), encoding="utf-8")
            return supporters_import(
                path=path,
                file_name=kwargs.get("file_name") or "dataset.csv",
                actor=user,
                options=ImportOptions(dry_run=dry_run),
            )
