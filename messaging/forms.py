"""The message rule editor's form (SPEC G1, G2)."""

import re

from django import forms

from messaging.channels import CHANNELS
from messaging.models import MessageRule
from messaging.rendering import SHORTCODES, unknown_shortcodes
from reservations.models import GUEST_LANGUAGES
from reservations.phones import ascii_digits, phone_normalise


def channel_choices() -> list[tuple[str, str]]:
    """The rule's channels: best available, then each registered one (a PMS thread too)."""
    labels = dict(MessageRule.Channel.choices)
    keys = ["best", *CHANNELS]
    return [(key, labels.get(key) or getattr(CHANNELS[key], "label", key)) for key in keys]


class MessageRuleForm(forms.Form):
    name = forms.CharField(max_length=200, help_text="For you, e.g. “Door code, 1 day before”.")
    properties = forms.TypedMultipleChoiceField(
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        help_text="Stays at these properties get the message.",
    )
    trigger = forms.ChoiceField(choices=MessageRule.Trigger.choices, label="When")
    days_before = forms.IntegerField(min_value=0, initial=0, required=False, label="Days before")
    hours_before = forms.IntegerField(min_value=0, initial=0, required=False, label="Hours before")
    send_time = forms.TimeField(
        required=False,
        label="At (property-local time)",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text="Before check-in only: the time of day the message goes, N days before.",
    )
    channel = forms.ChoiceField(
        initial=MessageRule.Channel.EMAIL,
        required=False,
        help_text="Best available: the booking platform's thread for a PMS booking, else SMS "
        "where the guest has a mobile number, else email. Any other channel falls back to "
        "email when it cannot reach the guest, and you are told once per stay.",
    )
    subject = forms.CharField(max_length=300, required=False)
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="Shortcodes: " + ", ".join(f"%{name}%" for name in SHORTCODES),
    )

    language = forms.ChoiceField(
        choices=GUEST_LANGUAGES,
        initial="en",
        required=False,
        label="Written in",
        help_text="Below, the same message in other languages: a guest whose stay is in one "
        "of them gets that text.",
    )

    def __init__(self, *args, properties, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["properties"].choices = [(p.pk, str(p)) for p in properties]
        self.fields["channel"].choices = channel_choices()
        self.properties_by_pk = {p.pk: p for p in properties}
        for code, name in GUEST_LANGUAGES:
            self.fields[f"subject_{code}"] = forms.CharField(
                max_length=300, required=False, label=f"Subject in {name}"
            )
            self.fields[f"body_{code}"] = forms.CharField(
                required=False,
                label=f"Message in {name}",
                widget=forms.Textarea(attrs={"rows": 3}),
            )

    @staticmethod
    def variant_initial(rule: MessageRule) -> dict:
        initial = {}
        for code, variant in (rule.variants or {}).items():
            initial[f"subject_{code}"] = variant.get("subject", "")
            initial[f"body_{code}"] = variant.get("body", "")
        return initial

    def _variants(self, language: str) -> dict:
        data = self.cleaned_data
        variants = {}
        for code, _ in GUEST_LANGUAGES:
            body = (data.get(f"body_{code}") or "").strip()
            if body and code != language:
                variants[code] = {"subject": data.get(f"subject_{code}") or "", "body": body}
        return variants

    def service_fields(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "subject": data["subject"],
            "body": data["body"],
            "trigger": data["trigger"],
            "days_before": data.get("days_before") or 0,
            "hours_before": data.get("hours_before") or 0,
            "send_time": data.get("send_time"),
            "channel": data.get("channel") or MessageRule.Channel.EMAIL,
            "language": data.get("language") or "en",
            "variants": self._variants(data.get("language") or "en"),
            "properties": [self.properties_by_pk[pk] for pk in data["properties"]],
        }


def _sid(prefix: str, what: str):
    pattern = re.compile(rf"^{prefix}[0-9a-fA-F]{{32}}$")

    def check(value: str) -> str:
        value = value.strip()
        if value and not pattern.match(value):
            raise forms.ValidationError(
                f"{what} starts with {prefix} followed by 32 characters 0-9 and a-f "
                f"({len(value)} characters given)."
            )
        return value

    return check


def e164(value: str) -> str:
    """A sender number in international form, stored as E.164; a clear error otherwise."""
    value = ascii_digits((value or "").strip())
    if not value:
        return ""
    if not value.startswith("+"):
        raise forms.ValidationError(
            "Enter the number with its country code, starting with +, e.g. +12125550100."
        )
    phone = phone_normalise(raw=value)
    if not phone.valid:
        raise forms.ValidationError(f"{value} is not a valid phone number.")
    return phone.e164


class TwilioAccountForm(forms.Form):
    """The host's own Twilio account (SPEC G8); the token is write-only."""

    account_sid = forms.CharField(
        label="Account SID", max_length=64, help_text="On your Twilio console's home page."
    )
    auth_token = forms.CharField(
        label="Auth token",
        max_length=64,
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Stored encrypted and never shown again. Empty: keep the saved token.",
    )
    sms_from = forms.CharField(
        label="SMS sender number",
        max_length=32,
        required=False,
        help_text="A Twilio number of yours, e.g. +12125550100.",
    )
    messaging_service_sid = forms.CharField(
        label="Messaging Service SID",
        max_length=64,
        required=False,
        help_text="MG…; used instead of the sender number when set.",
    )
    whatsapp_from = forms.CharField(label="WhatsApp sender number", max_length=32, required=False)
    whatsapp_content_sid = forms.CharField(
        label="Approved WhatsApp template SID",
        max_length=64,
        required=False,
        help_text="HX…; sent with the variables below outside WhatsApp's 24-hour window.",
    )
    whatsapp_variables = forms.JSONField(
        label="Template variables",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text='e.g. {"1": "%guest_first_name%", "2": "%smartlock_code%"}',
    )

    def clean_account_sid(self) -> str:
        return _sid("AC", "An account SID")(self.cleaned_data["account_sid"])

    def clean_auth_token(self) -> str:
        value = self.cleaned_data["auth_token"].strip()
        if value and not re.fullmatch(r"[0-9a-fA-F]{32}", value):
            raise forms.ValidationError(
                "An auth token is 32 characters 0-9 and a-f: use the Auth Token shown "
                "under the account SID, not an API key."
            )
        return value

    def clean_messaging_service_sid(self) -> str:
        return _sid("MG", "A Messaging Service SID")(self.cleaned_data["messaging_service_sid"])

    def clean_whatsapp_content_sid(self) -> str:
        return _sid("HX", "A template (content) SID")(self.cleaned_data["whatsapp_content_sid"])

    def clean_sms_from(self) -> str:
        return e164(self.cleaned_data["sms_from"])

    def clean_whatsapp_from(self) -> str:
        return e164(self.cleaned_data["whatsapp_from"])

    def clean_whatsapp_variables(self) -> dict:
        value = self.cleaned_data["whatsapp_variables"] or {}
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise forms.ValidationError(
                'Enter the variables as {"1": "%guest_first_name%", …}: numbers to text.'
            )
        unknown = unknown_shortcodes(" ".join(value.values()))
        if unknown:
            raise forms.ValidationError(f"Unknown shortcode: {', '.join(unknown)}")
        return value

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        if not (
            cleaned["sms_from"] or cleaned["messaging_service_sid"] or cleaned["whatsapp_from"]
        ):
            raise forms.ValidationError(
                "Enter an SMS sender number, a Messaging Service SID or a WhatsApp sender: "
                "without one locksync cannot send."
            )
        if cleaned["whatsapp_content_sid"] and not cleaned["whatsapp_from"]:
            self.add_error("whatsapp_from", "A WhatsApp template needs the WhatsApp sender.")
        return cleaned
