"""The admin support staff use: every page opens, search finds bookings, PINs stay masked."""

from datetime import date, timedelta

import pytest
from django.apps import apps
from django.contrib import admin
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accesscodes.models import (
    AccessCode,
    BackupCode,
    CodeEvent,
    HealthcheckRun,
    LockCode,
    LockLease,
    LockListing,
)
from integrations.models import Lock, LockConnection, SimulatedCode, SimulatedDevice
from messaging.models import (
    Conversation,
    Delivery,
    Message,
    MessageRule,
    OptOut,
    ScheduledMessage,
    TwilioAccount,
)
from pms.models import PmsBooking, PmsConnection, PmsEvent, PmsListing
from properties.services import api_token_create
from reservations.models import ICalFeed, ICalSeen, Reservation
from tests.factories import (
    BackupCodeFactory,
    CodeEventFactory,
    HostAlertFactory,
    HostFactory,
    HostMemberFactory,
    LockCodeFactory,
    MatchFactory,
    ReservationFactory,
    SimulatedCodeFactory,
    SmartLockSettingsFactory,
    UserFactory,
)

OUR_APPS = {"properties", "integrations", "reservations", "accesscodes", "messaging", "pms"}
OUR_MODELS = [model for model in admin.site._registry if model._meta.app_label in OUR_APPS]
PIN_MODELS = [AccessCode, LockCode, BackupCode, SimulatedCode]
# Written only by the engine: support reads them, nobody adds or edits them in the admin.
ENGINE_RECORDS = {AccessCode, LockCode, BackupCode, CodeEvent, LockLease, HealthcheckRun}
ENGINE_RECORDS |= {LockListing}
# Written only by the message sender and the iCal import, likewise read-only.
ENGINE_RECORDS |= {ScheduledMessage, Conversation, Message, ICalSeen, Delivery}
# Written only by the PMS import.
ENGINE_RECORDS |= {PmsBooking, PmsEvent}


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def estate(host):
    """One row of every model, all belonging to the host."""
    match = MatchFactory(lock__connection__host=host, property__host=host)
    reservation = ReservationFactory(
        property=match.property, guest_name="Ada Lovelace", reservation_code="HMABC123"
    )
    lock_code = LockCodeFactory(
        access_code__reservation=reservation, access_code__pin="4825", lock=match.lock
    )
    backup_code = BackupCodeFactory(lock=match.lock, pin="7391")
    CodeEventFactory(access_code=lock_code.access_code)
    SmartLockSettingsFactory(host=host)
    HostAlertFactory(host=host)
    simulated_code = SimulatedCodeFactory(device=_device_of(match.lock), pin="5164")
    LockLease.objects.create(lock=match.lock, holder="worker-1", expires_at=timezone.now())
    LockListing.objects.create(lock=match.lock, read_at=timezone.now(), entries="[]")
    HealthcheckRun.objects.create(run_date=date(2026, 11, 25), codes_checked=3)
    _messaging_and_feed_rows(host, reservation)
    _channel_and_pms_rows(host, reservation)
    return {
        "match": match,
        "reservation": reservation,
        "lock_code": lock_code,
        "backup_code": backup_code,
        "simulated_code": simulated_code,
    }


def _messaging_and_feed_rows(host, reservation) -> None:
    """An API key, a message rule with its scheduled and sent message, an iCal feed."""
    api_token_create(user=HostMemberFactory(host=host).user, name="PMS")
    rule = MessageRule.objects.create(
        host=host, name="Welcome", body="Hi", trigger="booking_accepted"
    )
    conversation = Conversation.objects.create(reservation=reservation)
    message = Message.objects.create(conversation=conversation, channel="email", body="Hi")
    ScheduledMessage.objects.create(reservation=reservation, rule=rule, message=message)
    feed = ICalFeed.objects.create(property=reservation.property, url="https://x.example/a.ics")
    ICalSeen.objects.create(
        feed=feed, uid=f"uid-{reservation.pk}", reservation=reservation, last_seen_at=timezone.now()
    )


def _channel_and_pms_rows(host, reservation) -> None:
    """A Twilio account, an opted-out number, a delivery, a PMS connection with its rows."""
    number = f"+3519{reservation.pk:08d}"
    TwilioAccount.objects.create(
        host=HostFactory(), account_sid=f"AC{reservation.pk:032d}", auth_token="secret"
    )
    OptOut.objects.create(host=host, phone=number, channel="sms")
    Delivery.objects.create(
        scheduled=ScheduledMessage.objects.get(reservation=reservation),
        channel="sms",
        recipient=number,
    )
    connection = PmsConnection.objects.create(host=host, pms="smoobu", credentials={"k": "v"})
    PmsListing.objects.create(connection=connection, remote_id="L1", property=reservation.property)
    PmsBooking.objects.create(connection=connection, remote_id="B1", reservation=reservation)
    PmsEvent.objects.create(connection=connection, event_key="e1", kind="newReservation")


def _device_of(lock: Lock) -> SimulatedDevice:
    return SimulatedDevice.objects.get(device_id=lock.remote_id)


def test_our_apps_register_every_model():
    for app_label in OUR_APPS:
        for model in apps.get_app_config(app_label).get_models():
            assert model in admin.site._registry, model


def test_support_agent_opens_every_changelist_and_change_page(client, support_agent, estate):
    client.force_login(support_agent)
    for model in OUR_MODELS:
        assert client.get(admin_url(model, "changelist")).status_code == 200, model
        obj = model._default_manager.order_by("pk").first()
        assert obj is not None, f"the estate fixture has no {model.__name__}"
        assert client.get(admin_url(model, "change", obj.pk)).status_code == 200, model


def test_support_agent_opens_every_add_page_except_for_engine_records(client, support_agent):
    client.force_login(support_agent)
    for model in OUR_MODELS:
        expected = 403 if model in ENGINE_RECORDS else 200
        assert client.get(admin_url(model, "add")).status_code == expected, model


@pytest.mark.parametrize("query", ["Lovelace", "HMABC123"])
def test_searching_reservations_finds_the_guest_by_name_or_code(
    client, support_agent, estate, query
):
    ReservationFactory(guest_name="Someone Else", reservation_code="HMZZZ999")
    client.force_login(support_agent)
    response = client.get(admin_url(Reservation, "changelist"), {"q": query})
    assert list(response.context["cl"].result_list) == [estate["reservation"]]
    assert "Someone Else" not in response.text


def test_searching_lock_codes_by_lock_name_finds_them(client, support_agent, estate):
    client.force_login(support_agent)
    lock_name = estate["match"].lock.name
    response = client.get(admin_url(LockCode, "changelist"), {"q": lock_name})
    assert list(response.context["cl"].result_list) == [estate["lock_code"]]


@pytest.mark.parametrize("model", PIN_MODELS, ids=lambda m: m.__name__)
def test_pins_are_masked_on_list_and_change_pages(client, support_agent, estate, model):
    client.force_login(support_agent)
    obj = model._default_manager.get()
    for url in (admin_url(model, "changelist"), admin_url(model, "change", obj.pk)):
        page = client.get(url).text
        assert obj.pin not in page, url
        assert "••••" in page, url
        assert "Reveal" not in page, url


@pytest.mark.parametrize("model", PIN_MODELS, ids=lambda m: m.__name__)
def test_support_agent_without_view_pin_gets_403_on_reveal(client, support_agent, estate, model):
    client.force_login(support_agent)
    obj = model._default_manager.get()
    url = admin_url(model, "reveal_pin", obj.pk)
    assert client.get(url).status_code == 403
    assert client.post(url).status_code == 403
    assert not CodeEvent.objects.filter(kind="pin_revealed").exists()


def test_access_code_change_page_has_no_editable_pin_input(client, pin_viewer, estate):
    client.force_login(pin_viewer)
    access_code = estate["lock_code"].access_code
    response = client.get(admin_url(AccessCode, "change", access_code.pk))
    assert "pin" not in response.context["adminform"].form.fields
    assert access_code.pin not in response.text


@pytest.mark.parametrize("model", PIN_MODELS, ids=lambda m: m.__name__)
def test_pin_viewer_reveals_a_pin_and_the_reveal_is_logged_without_it(
    client, pin_viewer, estate, host, model
):
    client.force_login(pin_viewer)
    obj = model._default_manager.get()
    change_page = client.get(admin_url(model, "change", obj.pk)).text
    reveal_url = admin_url(model, "reveal_pin", obj.pk)
    assert reveal_url in change_page
    assert obj.pin not in change_page
    assert reveal_url in client.get(admin_url(model, "changelist")).text

    confirmation = client.get(reveal_url)
    assert confirmation.status_code == 200
    assert obj.pin not in confirmation.text
    assert not CodeEvent.objects.filter(kind="pin_revealed").exists()

    revealed = client.post(reveal_url)
    assert revealed.status_code == 200
    assert obj.pin in revealed.text

    event = CodeEvent.objects.get(kind="pin_revealed")
    assert event.actor == CodeEvent.Actor.SUPPORT
    assert event.user == pin_viewer
    assert event.host == host
    assert obj.pin not in f"{event.before} {event.after} {event.reason}"
    lock_code = estate["lock_code"]
    expected = {
        AccessCode: {"access_code": lock_code.access_code},
        LockCode: {"lock_code": lock_code, "access_code": lock_code.access_code},
        BackupCode: {"backup_code": estate["backup_code"]},
        SimulatedCode: {"lock": estate["match"].lock},
    }[model]
    for field, value in expected.items():
        assert getattr(event, field) == value, field


def test_reveal_needs_a_csrf_token(pin_viewer, estate):
    client = Client(enforce_csrf_checks=True)
    client.force_login(pin_viewer)
    access_code = estate["lock_code"].access_code
    response = client.post(admin_url(AccessCode, "reveal_pin", access_code.pk))
    assert response.status_code == 403
    assert not CodeEvent.objects.filter(kind="pin_revealed").exists()


def test_lock_connection_credentials_are_never_shown(client, support_agent, estate):
    client.force_login(support_agent)
    connection = estate["match"].lock.connection
    connection.credentials = {"api_key": "sekrit-api-key-123"}
    connection.save()
    for url in (
        admin_url(LockConnection, "changelist"),
        admin_url(LockConnection, "change", connection.pk),
    ):
        page = client.get(url).text
        assert "sekrit-api-key-123" not in page
    assert "api_key: ••••" in client.get(admin_url(LockConnection, "change", connection.pk)).text


def test_engine_records_cannot_be_changed_or_deleted_in_the_admin(client, pin_viewer, estate):
    client.force_login(pin_viewer)
    for model in ENGINE_RECORDS:
        obj = model._default_manager.get()
        before = model._default_manager.filter(pk=obj.pk).values().get()
        change = client.post(admin_url(model, "change", obj.pk), {"state": "set", "kind": "x"})
        assert change.status_code == 403, model
        if model is not LockLease:  # a stuck lease may be deleted; it is taken again when due
            delete = client.post(admin_url(model, "delete", obj.pk), {"post": "yes"})
            assert delete.status_code == 403, model
        assert model._default_manager.filter(pk=obj.pk).values().get() == before, model


def _rows(model, host, count: int) -> None:
    """Create count rows of model, each with a full set of related rows, for the host."""
    first_day = date(2026, 1, 1) + timedelta(days=HealthcheckRun.objects.count())
    for number in range(count):
        match = MatchFactory(lock__connection__host=host, property__host=host)
        reservation = ReservationFactory(property=match.property)
        lock_code = LockCodeFactory(access_code__reservation=reservation, lock=match.lock)
        BackupCodeFactory(lock=match.lock, reservation=reservation)
        CodeEventFactory(access_code=lock_code.access_code, lock=match.lock, user=UserFactory())
        SimulatedCodeFactory(device=_device_of(match.lock))
        SmartLockSettingsFactory(host=host, property=match.property)
        HostAlertFactory(host=host)
        HostMemberFactory(host=HostFactory())
        LockLease.objects.create(lock=match.lock, holder="worker", expires_at=timezone.now())
        LockListing.objects.create(lock=match.lock, read_at=timezone.now())
        HealthcheckRun.objects.create(run_date=first_day + timedelta(days=number))
        _messaging_and_feed_rows(host, reservation)
        _channel_and_pms_rows(host, reservation)


@pytest.mark.parametrize("model", OUR_MODELS, ids=lambda m: m.__name__)
def test_changelist_queries_do_not_grow_with_rows(
    client, support_agent, host, model, django_assert_max_num_queries
):
    client.force_login(support_agent)
    url = admin_url(model, "changelist")
    bound = 12
    _rows(model, host, 1)
    with django_assert_max_num_queries(bound):
        response = client.get(url)
    assert response.context["cl"].result_count >= 1
    _rows(model, host, 29)
    with django_assert_max_num_queries(bound):
        response = client.get(url)
    assert response.context["cl"].result_count >= 30
