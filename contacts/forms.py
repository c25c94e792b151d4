from django import forms
from django.core.exceptions import ValidationError

from campaign.gotv import ballot_window_check
from contacts.models import Contact, Suppression
from contacts.normalise import normalise_email, normalise_uk_mobile


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

    def clean_email(self) -> str:
        try:
            email = normalise_email(self.cleaned_data["email"])
        except ValidationError as exc:
            raise ValidationError(exc.messages) from None
        others = Contact.objects.filter(email=email).exclude(pk=self.instance.pk)
        if others.exists():
            raise ValidationError(
                "Another supporter already has this email address; "
                "search for it and update that record instead."
            )
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


# --- The supporter pages in the app --------------------------------------------------


class ScopedModelChoiceField(forms.ModelChoiceField):
    """A choice among the user's own rows. Nonsense (not an id) is ignored; the id of a
    row outside the user's scope is an error, so the list shows nothing rather than
    quietly widening the search."""

    def to_python(self, value):
        if value in self.empty_values or not str(value).strip().isdigit():
            return None
        return super().to_python(value)


class SupporterSearchForm(forms.Form):
    """Search and filters of the supporter list. Sent by POST, so a searched email
    address or phone number never lands in a URL, the browser history or an access
    log; filters that name no one (district, role, status...) also work from a link."""

    CONSENT_CHOICES = [
        ("", "Any"),
        ("yes", "Has email consent"),
        ("no", "No email consent"),
    ]
    PRIVATE_FIELDS = ("q",)

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=200,
        help_text="Name, email address or mobile number.",
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    district = ScopedModelChoiceField(
        queryset=None,
        required=False,
        empty_label="All my districts",
        error_messages={"invalid_choice": "That district is not one of yours."},
    )
    school = forms.CharField(
        label="School",
        required=False,
        max_length=200,
        help_text="Name or URN.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    role = forms.ChoiceField(choices=[("", "Any role"), *Contact.Role.choices], required=False)
    gotv = forms.ChoiceField(
        label="GOTV status",
        choices=[("", "Any status"), ("not_voted", "Not yet voted"), *Contact.Gotv.choices],
        required=False,
    )
    consent = forms.ChoiceField(label="Email consent", choices=CONSENT_CHOICES, required=False)
    tag = ScopedModelChoiceField(queryset=None, required=False, empty_label="Any tag")
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        from contacts.models import District, Tag

        self.fields["district"].queryset = District.objects.visible_to(user)
        self.fields["tag"].queryset = Tag.objects.all()

    def filters(self) -> dict:
        """Cleaned filters for the selector (empty values dropped)."""
        data = self.cleaned_data if self.is_valid() else {}
        return {
            key: value for key, value in data.items() if key != "page" and value not in (None, "")
        }

    def carried(self) -> list[tuple[str, str]]:
        """(name, value) of every filter, to carry into the pager's hidden fields."""
        if not self.is_valid():
            return []
        carried = []
        for name, value in self.cleaned_data.items():
            if name == "page" or value in (None, ""):
                continue
            carried.append((name, str(value.pk if hasattr(value, "pk") else value)))
        return carried


class SupporterEditForm(forms.Form):
    """What a district lead may change on a supporter's page: phone, role, notes and
    GOTV status. Statuses the ballot window forbids now are not offered."""

    mobile = forms.CharField(
        label="Mobile",
        required=False,
        max_length=32,
        help_text="UK mobile, e.g. 07700 900123.",
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
    )
    role = forms.ChoiceField(choices=Contact.Role.choices)
    gotv_status = forms.ChoiceField(label="GOTV status", choices=Contact.Gotv.choices)
    notes = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Seen by everyone who can see this supporter. Facts only.",
    )

    def __init__(self, *args, contact: Contact, **kwargs):
        kwargs.setdefault(
            "initial",
            {
                "mobile": contact.mobile,
                "role": contact.role,
                "gotv_status": contact.gotv_status,
                "notes": contact.notes,
            },
        )
        super().__init__(*args, **kwargs)
        self.contact = contact
        allowed, self.gotv_reason = [], ""
        for value, label in Contact.Gotv.choices:
            if value == contact.gotv_status:
                allowed.append((value, label))
                continue
            try:
                ballot_window_check(status=value)
            except ValidationError as exc:
                self.gotv_reason = exc.messages[0]
                continue
            allowed.append((value, label))
        self.fields["gotv_status"].choices = allowed
        if self.gotv_reason:
            self.fields["gotv_status"].help_text = self.gotv_reason

    def clean_mobile(self) -> str:
        return normalise_uk_mobile(self.cleaned_data.get("mobile", ""))

    def changes(self) -> dict[str, str]:
        return {name: self.cleaned_data[name] for name in self.fields}
