"""Dashboard pages for alerts and message rules (SPEC G1, G2, G5)."""

from collections import Counter

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from locksync.dashboard import get_or_404, host_required
from locksync.pagination import (
    BAD_PAGE_LINK,
    BadCursor,
    list_context,
    page_from_request,
    search_filter,
    search_query,
)
from messaging.forms import MessageRuleForm, TwilioAccountForm
from messaging.models import MessageRule
from messaging.rendering import SHORTCODES, CodeMissing, unknown_shortcodes
from messaging.rendering import render as render_message
from messaging.rule_checks import message_rule_send_skipped, message_rule_skipped_count
from messaging.rule_review import message_rule_problems
from messaging.selectors import (
    host_alert_get,
    host_alert_list,
    message_rule_get,
    message_rule_list,
)
from messaging.services import (
    host_alert_resolve,
    message_rule_create,
    message_rule_update,
    message_rule_warnings,
)
from messaging.twilio_accounts import twilio_account_get, twilio_account_remove, twilio_account_save
from properties.selectors import property_list
from reservations.selectors import reservation_get, reservation_list_with_codes


@host_required
def alert_list(request: HttpRequest) -> HttpResponse:
    """What needs the host's attention, newest first, each with where to fix it.

    25 at a time with "Load more" (an htmx request gets only the next rows), searchable.
    """
    q = search_query(request)
    alerts = host_alert_list(host=request.host).filter(search_filter(q, ("subject", "body")))
    try:
        page = page_from_request(request, alerts, ordering=("-created_at", "-id"))
    except BadCursor:
        return HttpResponseBadRequest(BAD_PAGE_LINK)
    # An alert belongs to the host, not to one property: its time reads in the zone most of
    # the host's properties are in, named (SPEC V5), rather than in UTC.
    zones = Counter(property.time_zone for property in property_list(host=request.host))
    zone = zones.most_common(1)[0][0] if zones else "UTC"
    context = {"alerts": page.rows, "zone": zone, **list_context(request, page, q)}
    template = "messaging/_alert_rows.html" if request.htmx else "messaging/alert_list.html"
    return render(request, template, context)


@host_required
@require_POST
def alert_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    """The host has dealt with an alert: it stays listed, no longer counted as open."""
    alert = get_or_404(host_alert_get, host=request.host, pk=pk)
    host_alert_resolve(alert=alert)
    messages.success(request, f"“{alert.subject}” is marked as dealt with.")
    return redirect("alert_list")


@host_required
def rule_list(request: HttpRequest) -> HttpResponse:
    rules = list(message_rule_list(host=request.host))
    return render(request, "messaging/rule_list.html", {"rules": rules})


def _preview_stays(host) -> list:
    return list(reservation_list_with_codes(host=host, show="current")[:50])


@host_required
def rule_new(request: HttpRequest) -> HttpResponse:
    """The editor: shortcode help, a preview against a real stay, and the G5 warning."""
    return _rule_editor(request, rule=None)


@host_required
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a rule; its unsent messages are rescheduled, sent ones stay as they were."""
    return _rule_editor(request, rule=get_or_404(message_rule_get, host=request.host, pk=pk))


def _rule_editor(request: HttpRequest, *, rule: MessageRule | None) -> HttpResponse:
    properties = list(property_list(host=request.host))
    initial = {}
    if rule is not None:
        initial = {
            field: getattr(rule, field)
            for field in MessageRuleForm.base_fields
            if field != "properties"
        }
        initial["properties"] = [p.pk for p in rule.properties.all()]
        initial.update(MessageRuleForm.variant_initial(rule))
    form = MessageRuleForm(request.POST or None, initial=initial, properties=properties)
    problems = []
    if request.method == "POST" and form.is_valid():
        fields = form.service_fields()
        problems = _problems_before_saving(rule, request.host, fields)
        if problems and request.POST.get("checked") != "1":
            pass  # shown with the stays they affect; "Save anyway" posts checked=1 (G11)
        else:
            saved = _save_rule(form, rule, request.host, fields)
            if saved is not None:
                # The rule's page shows its warnings (G5); a flash message would repeat them.
                messages.success(request, f"The rule “{saved.name}” was saved.")
                return redirect("rule_detail", pk=saved.pk)
    context = {
        "form": form,
        "rule": rule,
        "problems": problems,
        "shortcodes": SHORTCODES,
        "stays": _preview_stays(request.host),
    }
    return render(request, "messaging/rule_form.html", context)


def _problems_before_saving(rule: MessageRule | None, host, fields: dict) -> list:
    """SPEC G11's check of the rule as it would be saved."""
    draft = MessageRule(host=host, **{k: v for k, v in fields.items() if k != "properties"})
    try:
        draft.full_clean(exclude=["host"])
    except ValidationError:
        return []  # refused when saving, with the reason
    return message_rule_problems(rule=draft, properties=fields["properties"])


def _save_rule(form, rule: MessageRule | None, host, fields: dict) -> MessageRule | None:
    try:
        if rule is None:
            return message_rule_create(host=host, **fields)
        return message_rule_update(rule=rule, **fields)
    except ValidationError as error:
        if hasattr(error, "error_dict"):
            for name, errors in error.error_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            form.add_error(None, error)
        return None


@host_required
def rule_detail(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_or_404(message_rule_get, host=request.host, pk=pk)
    context = {
        "rule": rule,
        "warnings": message_rule_warnings(rule=rule),
        "skipped_count": message_rule_skipped_count(rule=rule),
        "problems": message_rule_problems(rule=rule),
        "stays": _preview_stays(request.host),
    }
    return render(request, "messaging/rule_detail.html", context)


@host_required
@require_POST
def rule_send_skipped(request: HttpRequest, pk: int) -> HttpResponse:
    """The host confirms: the stays booked before the rule was saved get it now (SPEC G11)."""
    rule = get_or_404(message_rule_get, host=request.host, pk=pk)
    count = message_rule_send_skipped(rule=rule)
    plural = "stay gets" if count == 1 else "stays get"
    messages.success(request, f"{count} existing {plural} “{rule.name}” now.")
    return redirect("rule_detail", pk=rule.pk)


@host_required
def twilio_account(request: HttpRequest) -> HttpResponse:
    """Connect the host's own Twilio account for SMS and WhatsApp (SPEC G8)."""
    account = twilio_account_get(host=request.host)
    initial = {}
    if account is not None:
        initial = {field: getattr(account, field) for field in TwilioAccountForm.base_fields}
        initial.pop("auth_token")
    form = TwilioAccountForm(request.POST or None, initial=initial)
    if account is None:
        form.fields["auth_token"].required = True
        form.fields["auth_token"].help_text = "Stored encrypted and never shown again."
    if request.method == "POST" and request.POST.get("remove") and account is not None:
        twilio_account_remove(host=request.host)
        messages.success(request, "Twilio is disconnected: guest messages go by email.")
        return redirect("twilio_account")
    if request.method == "POST" and form.is_valid():
        try:
            twilio_account_save(host=request.host, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Twilio is connected: rules can send by SMS and WhatsApp.")
            return redirect("twilio_account")
    inbound = f"{settings.SITE_URL.rstrip('/')}{reverse('twilio_inbound')}"
    context = {"form": form, "account": account, "inbound_url": inbound}
    return render(request, "messaging/twilio_account.html", context)


@host_required
@require_POST
def rule_preview(request: HttpRequest) -> HttpResponse:
    """Render a template against one of the host's stays, as it would be sent now (SPEC G3)."""
    subject = request.POST.get("subject", "")
    body = request.POST.get("body", "")
    context: dict = {"unknown": unknown_shortcodes(f"{subject}\n{body}")}
    stay_id = request.POST.get("preview_reservation", "")
    if _is_number(stay_id) and len(stay_id) < 12:
        reservation = get_or_404(reservation_get, host=request.host, pk=int(stay_id))
        context["reservation"] = reservation
        try:
            context["rendered"] = render_message(
                reservation=reservation, subject=subject, body=body, preview=True
            )
        except CodeMissing:
            context["code_missing"] = True
    draft = MessageRule(
        host=request.host,
        subject=subject,
        body=body,
        trigger=request.POST.get("trigger", ""),
        days_before=_number(request.POST.get("days_before")),
        hours_before=_number(request.POST.get("hours_before")),
        send_time=_time(request.POST.get("send_time")),
        channel=request.POST.get("channel") or MessageRule.Channel.EMAIL,
        language=request.POST.get("language") or "en",
    )
    context["warnings"] = message_rule_warnings(rule=draft)
    context["problems"] = _preview_problems(request, draft)
    template = "messaging/_preview.html" if request.htmx else "messaging/preview_page.html"
    return render(request, template, context)


def _preview_problems(request: HttpRequest, draft: MessageRule) -> list:
    """G11's check as the editor's fields stand: the chosen properties, channel, language."""
    if draft.channel not in dict(MessageRule.Channel.choices):
        return []
    chosen = set(request.POST.getlist("properties"))
    properties = [p for p in property_list(host=request.host) if str(p.pk) in chosen]
    return message_rule_problems(rule=draft, properties=properties) if properties else []


def _is_number(value) -> bool:
    # "²".isdigit() is True but int("²") fails: only ASCII digits are numbers here.
    return bool(value) and str(value).isascii() and str(value).isdigit()


def _number(value) -> int:
    """A days/hours-before count from the editor, capped where a MessageRule caps it."""
    return min(int(value), 32767) if _is_number(value) and len(str(value)) < 12 else 0


def _time(value):
    from datetime import time

    try:
        return time.fromisoformat(value) if value else None
    except ValueError:
        return None
