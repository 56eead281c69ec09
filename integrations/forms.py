"""Connection forms, built from each adapter's `credential_fields` (a vendor is data here)."""

from django import forms

from integrations.base import Adapter

SECRET_WORDS = ("password", "token", "key", "secret")


def credentials_form_class(adapter: type[Adapter], *, with_name: bool) -> type[forms.Form]:
    """A form with one required field per credential the vendor needs."""
    fields: dict[str, forms.Field] = {}
    if with_name:
        fields["name"] = forms.CharField(
            max_length=200,
            required=False,
            label="Name for this account",
            help_text=f"Optional, e.g. “{adapter.label} – Lisbon flats”.",
        )
    for name, label in adapter.credential_fields.items():
        secret = any(word in name for word in SECRET_WORDS)
        widget = (
            forms.PasswordInput(attrs={"autocomplete": "off"})
            if secret
            else forms.TextInput(attrs={"autocomplete": "off"})
        )
        fields[name] = forms.CharField(label=label, max_length=500, widget=widget)
    return type(f"{adapter.__name__}CredentialsForm", (forms.Form,), fields)


class WebhookSecretForm(forms.Form):
    """The secret a host pastes where locksync could not register the webhook itself."""

    webhook_secret = forms.CharField(
        label="Webhook signing secret",
        max_length=500,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args, vendor: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.vendor = vendor

    def clean_webhook_secret(self) -> str:
        from integrations.connections import webhook_secret_problem

        secret = self.cleaned_data["webhook_secret"].strip()
        problem = webhook_secret_problem(self.vendor, secret)
        if problem:
            raise forms.ValidationError(problem)
        return secret
