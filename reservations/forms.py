"""The stay forms: dates and times as the property's wall clock (SPEC W1).

Every bad input is a form error, never a 500: a checkout in the past, a year outside
2000–2100 (year 1 minus a buffer, or 9999 plus one, does not fit in a datetime).
"""

import hashlib
from datetime import date

from django import forms
from django.utils import timezone

from reservations.phones import phone_entry_error

EARLIEST_YEAR, LATEST_YEAR = 2000, 2100


class StayForm(forms.Form):
    property = forms.TypedChoiceField(coerce=int)
    guest_name = forms.CharField(max_length=200, label="Guest's full name")
    guest_phone = forms.CharField(
        max_length=64,
        required=False,
        label="Guest's phone",
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
        help_text="With the country code, e.g. +351 912 345 678.",
    )
    guest_email = forms.EmailField(required=False, label="Guest's email")
    check_in_date = forms.DateField(
        label="Check-in date", widget=forms.DateInput(attrs={"type": "date"})
    )
    check_in_time = forms.TimeField(
        required=False,
        label="Check-in time",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text="Property-local. Empty: the property's check-in time.",
    )
    check_out_date = forms.DateField(
        label="Checkout date", widget=forms.DateInput(attrs={"type": "date"})
    )
    check_out_time = forms.TimeField(
        required=False,
        label="Checkout time",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text="Property-local. Empty: the property's checkout time.",
    )
    overlap_confirmed = forms.BooleanField(
        required=False,
        label="Yes, keep this stay although it overlaps another one on the property",
    )

    def __init__(self, *args, properties, **kwargs):
        super().__init__(*args, **kwargs)
        self.properties = {property.pk: property for property in properties}
        self.fields["property"].choices = [(pk, str(p)) for pk, p in self.properties.items()]

    def _clean_year(self, name: str) -> None:
        day: date | None = self.cleaned_data.get(name)
        if day is not None and not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
            self.add_error(name, f"Enter a date between {EARLIEST_YEAR} and {LATEST_YEAR}.")

    def clean(self):
        cleaned = super().clean()
        self._clean_year("check_in_date")
        self._clean_year("check_out_date")
        property = self.properties.get(cleaned.get("property"))
        if property is None or self.errors:
            return cleaned
        cleaned["property_obj"] = property
        phone_error = phone_entry_error(
            raw=cleaned.get("guest_phone", ""), time_zone=property.time_zone
        )
        if phone_error:
            self.add_error("guest_phone", phone_error)  # SPEC G8: SMS needs a real number
            return cleaned
        cleaned["check_in"] = property.local_datetime(
            cleaned["check_in_date"], cleaned.get("check_in_time") or property.checkin_time
        )
        cleaned["check_out"] = property.local_datetime(
            cleaned["check_out_date"], cleaned.get("check_out_time") or property.checkout_time
        )
        if cleaned["check_in"] >= cleaned["check_out"]:
            self.add_error("check_out_date", "Checkout must be after check-in.")
        elif cleaned["check_out"] <= timezone.now():
            self.add_error("check_out_date", "Checkout is in the past: this stay has ended.")
        return cleaned


class ReservationForm(StayForm):
    """A stay entered by hand."""

    reservation_code = forms.CharField(max_length=64, required=False)
    field_order = ["property", "guest_name", "guest_phone", "guest_email", "reservation_code"]


class ReservationEditForm(StayForm):
    """Change a stay; the first valid post shows what will happen to the codes, the second
    (carrying the review token of the same data) saves."""

    def __init__(self, *args, reservation, **kwargs):
        self.reservation = reservation
        super().__init__(*args, initial=self.initial_from(reservation), **kwargs)

    def clean(self):
        cleaned = super().clean()
        # The form shows minutes; an untouched time keeps its exact instant (an API-made stay
        # may carry seconds), so an unchanged time never reads as a change on the locks.
        for name in ("check_in", "check_out"):
            current = getattr(self.reservation, name)
            if cleaned.get(name) == current.replace(second=0, microsecond=0):
                cleaned[name] = current
        return cleaned

    @classmethod
    def initial_from(cls, reservation) -> dict:
        zone = reservation.property.zone
        check_in = reservation.check_in.astimezone(zone)
        check_out = reservation.check_out.astimezone(zone)
        return {
            "property": reservation.property_id,
            "guest_name": reservation.guest_name,
            "guest_phone": reservation.guest_phone,
            "guest_email": reservation.guest_email,
            "check_in_date": check_in.date(),
            "check_in_time": check_in.time().replace(second=0, microsecond=0),
            "check_out_date": check_out.date(),
            "check_out_time": check_out.time().replace(second=0, microsecond=0),
        }

    def review_token(self) -> str:
        """A digest of what is about to be saved: saving needs the review of this very data."""
        data = self.cleaned_data
        parts = [
            data["property_obj"].pk,
            data["guest_name"],
            data["guest_phone"],
            data["guest_email"],
            data["check_in"].isoformat(),
            data["check_out"].isoformat(),
        ]
        return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:16]

    def is_reviewed(self, token: str) -> bool:
        return token == self.review_token()
