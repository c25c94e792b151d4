"""The composer's form: the drive's text and its audience, scoped to the writer."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from contacts.models import Contact, District, School, Tag
from mailings.selectors import AudienceFilters
from mailings.services import mailing_validate

# A phone cannot scroll a list of thousands: past this many schools in reach, the
# school picker lists only the schools of the districts ticked.
SCHOOLS_LISTED = 400


class DriveForm(forms.Form):
    name = forms.CharField(
        max_length=200, help_text="For you and the team; supporters never see it."
    )
    subject = forms.CharField(max_length=200, help_text="Merge fields allowed: {{ first_name }}.")
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 12}),
        help_text="Markdown: **bold**, *italic*, [a link](https://…), lists with “- ”. "
        "An unsubscribe footer is added for you.",
    )
    districts = forms.ModelMultipleChoiceField(
        queryset=District.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every district you may send to.",
    )
    schools = forms.ModelMultipleChoiceField(
        queryset=School.objects.none(), required=False, help_text="None chosen: every school."
    )
    roles = forms.MultipleChoiceField(
        choices=Contact.Role.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    tags = forms.ModelMultipleChoiceField(
        queryset=Tag.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    gotv_statuses = forms.MultipleChoiceField(
        label="GOTV status",
        choices=Contact.Gotv.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["districts"].queryset = District.objects.visible_to(user).order_by("name")
        schools = School.objects.visible_to(user).select_related("district")
        if schools.count() > SCHOOLS_LISTED:
            ticked = self._ticked_districts()
            schools = schools.filter(district_id__in=ticked) if ticked else schools.none()
            self.fields[
                "schools"
            ].help_text = "Tick a district above (then save) to choose among its schools."
        self.fields["schools"].queryset = schools.order_by("name", "district__name", "pk")
        self.fields["tags"].queryset = Tag.objects.order_by("name")

    def _ticked_districts(self) -> list[int]:
        raw = self.data.getlist("districts") if self.is_bound else self.initial.get("districts", [])
        ids = []
        for value in raw:
            value = getattr(value, "pk", value)
            if str(value).isdigit():
                ids.append(int(value))
        return ids

    def clean(self):
        cleaned = super().clean()
        if "subject" in cleaned and "body" in cleaned:
            try:
                mailing_validate(subject=cleaned["subject"], body=cleaned["body"])
            except ValidationError as exc:
                for name, errors in exc.message_dict.items():
                    for error in errors:
                        self.add_error(name if name in self.fields else None, error)
        return cleaned

    def service_fields(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "subject": data["subject"],
            "body": data["body"],
            "districts": list(data["districts"]),
            "schools": list(data["schools"]),
            "tags": list(data["tags"]),
            "roles": list(data["roles"]),
            "gotv_statuses": list(data["gotv_statuses"]),
        }


def filters_from(data, *, user) -> AudienceFilters:
    """The audience filters in a composer request's (unsaved) form data, keeping only
    values the user may choose: anything else is ignored, never an error mid-typing."""

    def ids(name: str) -> tuple[int, ...]:
        return tuple(sorted({int(v) for v in data.getlist(name) if str(v).isdigit()}))

    districts = ids("districts")
    if districts:
        districts = tuple(
            District.objects.visible_to(user).filter(pk__in=districts).values_list("pk", flat=True)
        )
        if not districts:
            districts = (0,)  # only districts out of reach: matches nobody
    return AudienceFilters(
        district_ids=districts,
        school_ids=ids("schools"),
        tag_ids=ids("tags"),
        roles=tuple(v for v in data.getlist("roles") if v in Contact.Role.values),
        gotv_statuses=tuple(v for v in data.getlist("gotv_statuses") if v in Contact.Gotv.values),
    )


def initial_of(mailing) -> dict:
    return {
        "name": mailing.name,
        "subject": mailing.subject,
        "body": mailing.body,
        "districts": list(mailing.districts.all()),
        "schools": list(mailing.schools.all()),
        "tags": list(mailing.tags.all()),
        "roles": mailing.roles,
        "gotv_statuses": mailing.gotv_statuses,
    }
