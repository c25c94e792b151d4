from django import forms
from django.core.exceptions import ValidationError

from campaign.gotv import ballot_window_check
from contacts.models import Contact, Suppression
from contacts.normalise import normalise_email, normalise_uk_mobile
from contacts.services.email_change import email_change_needs_organiser

DUPLICATE_EMAIL = (
    "Another supporter already has this email address; "
    "search for it and update that record instead."
)


class ContactForm(forms.ModelForm):
    """Normalises email and mobile before Django checks uniqueness."""

    class Meta:
        model = Contact
        fields = [
            "first_name",
            "last_name",
            "email",
            "mobile",
            "school",
            "district",
            "role",
            "tags",
            "gotv_status",
            "notes",
        ]

    # Set per request by the admin (ContactAdmin.get_form): whose edit this is.
    user = None

    def clean_email(self) -> str:
        try:
            email = normalise_email(self.cleaned_data["email"])
        except ValidationError as exc:
            raise ValidationError(exc.messages) from None
        others = Contact.objects.filter(email=email).exclude(pk=self.instance.pk)
        if (
            self.user is not None
            and self.instance.pk
            and email != self.instance.email
            and email_change_needs_organiser(self.user)
        ):
            # Only records the user can already see may be named; any other outcome
            # must look the same, so the change waits for an organiser (the instance
            # keeps its address and the uniqueness checks see nothing new).
            if others.visible_to(self.user).exists():
                raise ValidationError(DUPLICATE_EMAIL)
            self.pending_email = email
            return self.instance.email
        if others.exists():
            raise ValidationError(DUPLICATE_EMAIL)
        return email

    def clean_gotv_status(self) -> str:
        status = self.cleaned_data["gotv_status"]
        if "gotv_status" in self.changed_data:
            ballot_window_check(status=status)
        return status

    def clean_mobile(self) -> str:
        return normalise_uk_mobile(self.cleaned_data.get("mobile", ""))


class SuppressionForm(forms.ModelForm):
    """Takes the address itself; only its keyed hash is stored."""

    email = forms.EmailField(help_text="Stored only as a keyed hash.")

    class Meta:
        model = Suppression
        fields = ["reason", "source"]

    def clean_email(self) -> str:
        return normalise_email(self.cleaned_data["email"])
