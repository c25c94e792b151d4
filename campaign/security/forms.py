from django import forms


class OneTimeCodeForm(forms.Form):
    token = forms.CharField(
        label="6-digit code",
        max_length=12,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "pattern": "[0-9 ]*",
                "autofocus": True,
            }
        ),
    )

    def clean_token(self) -> str:
        digits = "".join(ch for ch in self.cleaned_data["token"] if ch.isdigit())
        if len(digits) != 6:
            raise forms.ValidationError("Enter the 6 digits your authenticator app shows.")
        return digits
