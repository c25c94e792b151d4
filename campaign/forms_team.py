"""Forms of the team and campaign settings pages (campaign/views_team.py)."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import SetPasswordForm

from campaign.models import Campaign
from campaign.roles import Role
from contacts.models import District


class MemberForm(forms.Form):
    role = forms.ChoiceField(label="Role", choices=Role.choices)
    districts = forms.ModelMultipleChoiceField(
        label="Districts",
        queryset=District.objects.order_by("name"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text="Which districts a district lead leads or a volunteer works in. "
        "Organisers see every district.",
    )
    all_districts = forms.BooleanField(label="Volunteer may read every district", required=False)


class InviteForm(MemberForm):
    email = forms.EmailField(label="Email address", max_length=150)
    field_order = ["email", "role", "districts", "all_districts"]


class InvitationPasswordForm(SetPasswordForm):
    """Django's set-password form (its validators beside the fields)."""


class CampaignSettingsForm(forms.ModelForm):
    class Meta:
        model = Campaign
        fields = [
            "name",
            "candidate",
            "ballot_opens",
            "ballot_closes",
            "sender_name",
            "sender_email",
            "reply_to",
        ]
        labels = {
            "ballot_opens": "Ballot opens",
            "ballot_closes": "Ballot closes",
            "sender_email": "Sender address",
            "reply_to": "Reply-to address",
        }
        widgets = {
            "ballot_opens": forms.DateTimeInput(
                attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"
            ),
            "ballot_closes": forms.DateTimeInput(
                attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"
            ),
        }

    def clean(self):
        from django.core.exceptions import ValidationError

        from campaign.campaign_settings import campaign_validate

        data = super().clean()
        try:
            campaign_validate(data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                if field in self.fields and field not in self.errors:
                    self.add_error(field, errors)
        return data

    def _post_clean(self):
        # The service saves (and audits); the model's own checks run there.
        pass
