"""The manual reservation form: dates and times as the property's wall clock (SPEC W1)."""

from django import forms


class ReservationForm(forms.Form):
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
    reservation_code = forms.CharField(max_length=64, required=False)
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

    def __init__(self, *args, properties, **kwargs):
        super().__init__(*args, **kwargs)
        self.properties = {property.pk: property for property in properties}
        self.fields["property"].choices = [(pk, str(p)) for pk, p in self.properties.items()]

    def clean(self):
        cleaned = super().clean()
        property = self.properties.get(cleaned.get("property"))
        if (
            property is None
            or not cleaned.get("check_in_date")
            or not cleaned.get("check_out_date")
        ):
            return cleaned
        cleaned["property_obj"] = property
        cleaned["check_in"] = property.local_datetime(
            cleaned["check_in_date"], cleaned.get("check_in_time") or property.checkin_time
        )
        cleaned["check_out"] = property.local_datetime(
            cleaned["check_out_date"], cleaned.get("check_out_time") or property.checkout_time
        )
        if cleaned["check_in"] >= cleaned["check_out"]:
            self.add_error("check_out_date", "Checkout must be after check-in.")
        return cleaned
