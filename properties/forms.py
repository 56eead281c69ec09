"""Dashboard forms for sign-up, properties and smart lock settings."""

import zoneinfo
from datetime import timedelta

from django import forms
from django.contrib.auth import password_validation

from properties.models import SmartLockSettings
from reservations.models import ICalFeed

TIME_ZONE_CHOICES = [(zone, zone) for zone in sorted(zoneinfo.available_timezones())]


class SignupForm(forms.Form):
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    host_name = forms.CharField(
        label="Your business or host name",
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )

    def clean(self):
        cleaned = super().clean()
        password = cleaned.get("password")
        if password:
            try:
                password_validation.validate_password(password)
            except forms.ValidationError as error:
                self.add_error("password", error)
        return cleaned


class PropertyForm(forms.Form):
    name = forms.CharField(max_length=200)
    address = forms.CharField(max_length=500, required=False)
    time_zone = forms.ChoiceField(
        choices=TIME_ZONE_CHOICES,
        initial="Europe/Lisbon",
        help_text="Changing it keeps upcoming stays at their local dates and times; "
        "their codes follow.",
    )
    checkin_time = forms.TimeField(
        label="Check-in time", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    checkout_time = forms.TimeField(
        label="Checkout time", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )


class MatchForm(forms.Form):
    lock = forms.TypedChoiceField(coerce=int, label="Lock to match")

    def __init__(self, *args, locks, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lock"].choices = [(lock.pk, str(lock)) for lock in locks]


# A buffer longer than a week is a typo, not a setting; and 10**12 hours overflows a datetime.
MAX_BUFFER_MINUTES = 7 * 24 * 60


class SmartLockSettingsForm(forms.Form):
    """Buffers are entered in minutes or hours, as hosts think of them."""

    UNITS = [("minutes", "minutes"), ("hours", "hours")]

    code_source = forms.ChoiceField(
        choices=SmartLockSettings.CodeSource.choices,
        widget=forms.RadioSelect,
        help_text="Phone codes fall back to a random number when the phone can't be used.",
    )
    code_length = forms.IntegerField(
        min_value=4,
        max_value=8,
        help_text="4 to 8 digits; a lock that can't take it gets the nearest length it allows.",
    )
    buffer_before = forms.IntegerField(
        min_value=0, max_value=MAX_BUFFER_MINUTES, label="Buffer before check-in"
    )
    buffer_before_unit = forms.ChoiceField(choices=UNITS, label="Unit of the buffer before")
    buffer_after = forms.IntegerField(
        min_value=0, max_value=MAX_BUFFER_MINUTES, label="Buffer after checkout"
    )
    buffer_after_unit = forms.ChoiceField(choices=UNITS, label="Unit of the buffer after")
    backup_codes_enabled = forms.BooleanField(
        required=False,
        label="Keep backup codes on each lock",
        help_text="Given to a guest whose own code could not be set before arrival.",
    )
    backup_pool_size = forms.IntegerField(min_value=1, max_value=10, label="Backup codes per lock")

    @classmethod
    def initial_from(cls, row: SmartLockSettings) -> dict:
        initial = {
            "code_source": row.code_source,
            "code_length": row.code_length,
            "backup_codes_enabled": row.backup_codes_enabled,
            "backup_pool_size": row.backup_pool_size,
        }
        for name in ("buffer_before", "buffer_after"):
            minutes = int(getattr(row, name).total_seconds() // 60)
            if minutes and minutes % 60 == 0:
                initial[name], initial[f"{name}_unit"] = minutes // 60, "hours"
            else:
                initial[name], initial[f"{name}_unit"] = minutes, "minutes"
        return initial

    def clean(self):
        cleaned = super().clean()
        for name in ("buffer_before", "buffer_after"):
            amount, unit = cleaned.get(name), cleaned.get(f"{name}_unit")
            if amount is not None and unit == "hours" and amount > MAX_BUFFER_MINUTES // 60:
                self.add_error(name, f"At most {MAX_BUFFER_MINUTES // 60} hours (7 days).")
        return cleaned

    def service_fields(self) -> dict:
        data = self.cleaned_data
        fields = {
            key: data[key]
            for key in ("code_source", "code_length", "backup_codes_enabled", "backup_pool_size")
        }
        for name in ("buffer_before", "buffer_after"):
            fields[name] = timedelta(**{data[f"{name}_unit"]: data[name]})
        return fields


class ICalFeedForm(forms.Form):
    url = forms.URLField(
        max_length=1000,
        label="Calendar export address",
        assume_scheme="https",
        help_text="The channel's iCal export link for this property.",
    )
    source = forms.ChoiceField(choices=ICalFeed.Source.choices, label="Channel")
