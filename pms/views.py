"""Dashboard pages: connect a PMS account, see its webhook URL, map listings to properties
(suggested by name, Q2) and turn the door-code write-back on or off (Q5)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from locksync.dashboard import host_required
from pms.base import PmsAdapter, VendorError
from pms.models import PmsConnection
from pms.registry import ADAPTERS, adapter_for
from pms.services import listing_map, listings_refresh, suggest_property


def credentials_form(adapter: type[PmsAdapter], data=None) -> forms.Form:
    fields: dict[str, forms.Field] = {"name": forms.CharField(max_length=200, required=False)}
    for name, label in adapter.credential_fields.items():
        widget = forms.PasswordInput if "secret" in name or "password" in name else forms.TextInput
        fields[name] = forms.CharField(
            label=label, max_length=500, required="optional" not in label, widget=widget
        )
    return type("PmsCredentialsForm", (forms.Form,), fields)(data)


def _connection(request: HttpRequest, pk: int) -> PmsConnection:
    connection = PmsConnection.objects.filter(host=request.host, pk=pk).first()
    if connection is None:
        raise Http404("Not found")
    return connection


@host_required
def pms_connection_list(request: HttpRequest) -> HttpResponse:
    connections = PmsConnection.objects.filter(host=request.host)
    choices = [(key, cls.label) for key, cls in ADAPTERS.items()]
    return render(
        request, "pms/connection_list.html", {"connections": connections, "choices": choices}
    )


@host_required
def pms_connection_new(request: HttpRequest, pms: str) -> HttpResponse:
    adapter = ADAPTERS.get(pms)
    if adapter is None:
        raise Http404("Not found")
    form = credentials_form(adapter, request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if v}
        name = data.pop("name", "")
        connection = PmsConnection(host=request.host, pms=pms, name=name, credentials=data)
        try:
            adapter(connection).validate_credentials()
        except VendorError as error:
            form.add_error(None, f"{adapter.label} did not accept these details: {error.message}")
        else:
            connection.save()
            listings_refresh(connection)
            return redirect("pms_connection_detail", pk=connection.pk)
    return render(request, "pms/connection_form.html", {"form": form, "adapter": adapter})


@host_required
def pms_connection_detail(request: HttpRequest, pk: int) -> HttpResponse:
    connection = _connection(request, pk)
    properties = list(request.host.properties.all())
    if request.method == "POST":
        if "write_back" in request.POST:
            connection.write_back_codes = request.POST["write_back"] == "on"
            connection.save(update_fields=["write_back_codes", "updated_at"])
        for listing in connection.listings.all():
            value = request.POST.get(f"listing-{listing.pk}")
            if value is None or str(listing.property_id or "") == value:
                continue
            prop = next((p for p in properties if str(p.pk) == value), None)
            try:
                count = listing_map(listing, prop)
            except (ValidationError, VendorError):
                messages.error(request, f"{listing} could not be mapped now; try again.")
            else:
                if prop is not None:
                    messages.success(request, f"{listing} → {prop}: {count} stays imported.")
        return redirect("pms_connection_detail", pk=connection.pk)
    listings = list(connection.listings.select_related("property"))
    for listing in listings:
        listing.suggested = listing.property or suggest_property(listing)
    webhook_url = request.build_absolute_uri(
        reverse("pms-webhook", args=[connection.pk, connection.webhook_secret])
    )
    return render(
        request,
        "pms/connection_detail.html",
        {
            "connection": connection,
            "adapter": adapter_for(connection),
            "listings": listings,
            "properties": properties,
            "webhook_url": webhook_url,
        },
    )
