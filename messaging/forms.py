"""The message rule editor's form (SPEC G1, G2)."""

from django import forms

from messaging.models import MessageRule
from messaging.rendering import SHORTCODES


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
    subject = forms.CharField(max_length=300, required=False)
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="Shortcodes: " + ", ".join(f"%{name}%" for name in SHORTCODES),
    )

    def __init__(self, *args, properties, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["properties"].choices = [(p.pk, str(p)) for p in properties]
        self.properties_by_pk = {p.pk: p for p in properties}

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
            "properties": [self.properties_by_pk[pk] for pk in data["properties"]],
        }
