"""Load the demo: a host with two properties, three simulated locks and a dozen reservations.

Safe to run any number of times: every row is found by a stable key before it is created, so
a second run changes nothing. Dates are laid around the day of the first run; delete the
database (var/) to lay them around today again.

Matches and current or future stays go through the same services as the dashboard and the API,
so the guests get their codes and the worker puts them on the simulated locks. Stays that have
already ended are written as history: there is nothing left to provision for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from integrations.models import (
    Lock,
    LockConnection,
    SimulatedAccount,
    SimulatedCode,
    SimulatedDevice,
)
from integrations.services import match_create
from messaging.models import MessageRule
from messaging.services import message_rule_create
from properties.models import Host, HostMember, Property, SmartLockSettings
from reservations.models import Reservation
from reservations.services import reservation_upsert

DEMO_EMAIL = "demo@locksync.test"
SUPPORT_EMAIL = "support@locksync.test"
DEMO_PASSWORD = "locksync-demo"  # noqa: S105 (a published demo login, printed on purpose)
SIMULATOR_API_KEY = "demo"
OUR_APPS = ["properties", "integrations", "reservations", "accesscodes", "messaging", "pms"]

LISBON, BROOKLYN = "Lisbon Loft", "Brooklyn Brownstone"

PROPERTIES = [
    {
        "name": LISBON,
        "address": "Rua da Rosa 12, 1200-385 Lisboa, Portugal",
        "time_zone": "Europe/Lisbon",
        "checkin_time": time(15, 0),
        "checkout_time": time(11, 0),
    },
    {
        "name": BROOKLYN,
        "address": "245 Clinton Avenue, Brooklyn, NY 11205, USA",
        "time_zone": "America/New_York",
        "checkin_time": time(16, 0),
        "checkout_time": time(10, 0),
    },
]

DEVICES = [
    {
        "device_id": "sim-demo-lisbon-door",
        "name": "Lisbon Front Door",
        "model": "Simulated keypad lock",
        "battery_level": 87,
    },
    {
        # Nuki's keypad rules (see the FAQ): six digits, no 0, not starting with 12.
        "device_id": "sim-demo-brooklyn-door",
        "name": "Brooklyn Front Door",
        "model": "Simulated Nuki Keypad 2.0",
        "battery_level": 64,
        "supported_code_lengths": [6],
        "code_constraints": ["no_zeros", "cannot_start_with_12"],
        "name_max_length": 20,
    },
    {
        # Confirms writes 20 seconds after accepting them, like cloud-to-hub vendors, and
        # refuses the first write as offline, so the demo shows a failure and its retry.
        "device_id": "sim-demo-brooklyn-garage",
        "name": "Brooklyn Garage",
        "model": "Simulated hub-connected lock",
        "battery_level": 23,
        "confirm_delay_seconds": 20,
        "fault_count": 1,
        "fault_reason": "lock_offline",
    },
]

MATCHES = [
    ("sim-demo-lisbon-door", LISBON),
    ("sim-demo-brooklyn-door", BROOKLYN),
    ("sim-demo-brooklyn-garage", BROOKLYN),
]


@dataclass(frozen=True)
class DemoStay:
    external_id: str
    property_name: str
    guest_name: str
    arrives_in_days: int
    nights: int
    status: str = Reservation.Status.ACCEPTED
    guest_phone: str = ""


SMS_RULE = "Door code by SMS"
ACCEPTED, CANCELLED, INQUIRY = (
    Reservation.Status.ACCEPTED,
    Reservation.Status.CANCELLED,
    Reservation.Status.INQUIRY,
)
# Past, in stay, arriving today and tomorrow, next week, one cancelled, one inquiry; no two
# stays at one property overlap. Some names exercise the naming rules (SPEC N2).
STAYS = [
    DemoStay("DEMO-1", LISBON, "Inês Carvalho", -10, 3, guest_phone="+351 912 345 678"),
    DemoStay("DEMO-2", BROOKLYN, "Marcus Johnson", -8, 3, guest_phone="+1 718 555 0142"),
    DemoStay("DEMO-3", LISBON, "Sophie Martin", -3, 3),
    DemoStay("DEMO-4", BROOKLYN, "Priya Raman", -2, 3, guest_phone="+1 347 555 0199"),
    DemoStay("DEMO-5", LISBON, "Lukas Schneider", 0, 3, guest_phone="+49 151 23456789"),
    DemoStay("DEMO-6", BROOKLYN, "Maximiliana Featherstonehaugh", 1, 3),
    DemoStay("DEMO-7", LISBON, "Zoë O'Brien", 3, 3, guest_phone="+353 87 123 4567"),
    DemoStay("DEMO-8", BROOKLYN, "李雷", 5, 3),
    DemoStay("DEMO-9", LISBON, "Ana Souza", 7, 3, guest_phone="+55 11 91234 5678"),
    DemoStay("DEMO-10", BROOKLYN, "James Wilson", 9, 3, guest_phone="+1 212 555 0173"),
    DemoStay("DEMO-11", LISBON, "Olivia Brown", 12, 3, status=CANCELLED),
    DemoStay("DEMO-12", BROOKLYN, "Hiroshi Tanaka", 14, 2, status=INQUIRY),
]


class Command(BaseCommand):
    help = "Create (or leave in place) the demo host, its properties, locks and reservations."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        host, _ = Host.objects.get_or_create(name="Demo Host", defaults={"alert_email": DEMO_EMAIL})
        demo_user = self._user(DEMO_EMAIL, first_name="Demo", last_name="Host")
        HostMember.objects.get_or_create(user=demo_user, defaults={"host": host})
        support_user = self._user(SUPPORT_EMAIL, first_name="Support", is_staff=True)
        support_user.user_permissions.set(
            Permission.objects.filter(content_type__app_label__in=OUR_APPS).exclude(
                codename="view_pin"
            )
        )

        properties = {
            spec["name"]: Property.objects.get_or_create(
                host=host, name=spec["name"], defaults=spec
            )[0]
            for spec in PROPERTIES
        }
        # Backup codes on by default (Lisbon keeps 2); Brooklyn's override leaves them off.
        SmartLockSettings.objects.get_or_create(
            host=host,
            property=None,
            defaults={"backup_codes_enabled": True, "backup_pool_size": 2},
        )
        # Brooklyn's front door is a Nuki that takes only 6 digits; ask for 6 there.
        SmartLockSettings.objects.get_or_create(
            host=host, property=properties[BROOKLYN], defaults={"code_length": 6}
        )

        account, _ = SimulatedAccount.objects.get_or_create(api_key=SIMULATOR_API_KEY)
        connection, _ = LockConnection.objects.get_or_create(
            host=host,
            vendor="simulator",
            name="Demo simulator",
            defaults={"credentials": {"api_key": SIMULATOR_API_KEY}},
        )
        locks = {}
        for spec in DEVICES:
            device, _ = SimulatedDevice.objects.get_or_create(
                device_id=spec["device_id"],
                defaults={**spec, "account": account, "capacity": 100},
            )
            if spec["device_id"] == "sim-demo-lisbon-door":
                # A code the owner put on the lock by hand: locksync must never touch it (D2).
                SimulatedCode.objects.get_or_create(
                    code_id="demo-hand-made-cleaner",
                    defaults={
                        "device": device,
                        "pin": "2580",
                        "name": "Cleaner",
                        "applies_at": timezone.now(),
                        "created_by_hand": True,
                    },
                )
            locks[device.device_id], _ = Lock.objects.get_or_create(
                connection=connection,
                remote_id=device.device_id,
                defaults={
                    "name": device.name,
                    "model": device.model,
                    "online": device.online,
                    "battery_level": device.battery_level,
                    "capabilities": device.capability_record().to_json(),
                    "code_count": device.codes.filter(never_applies=False).count(),
                    "last_seen_at": timezone.now(),
                    "state_refreshed_at": timezone.now(),
                },
            )
        for device_id, property_name in MATCHES:
            match_create(lock=locks[device_id], property=properties[property_name])

        # An SMS conversation (SPEC G8): with the embedded default SMS_BACKEND=console the
        # worker prints each SMS to its log and records its delivery; guests without a mobile
        # number get it by email and the host is told once.
        if not MessageRule.objects.filter(host=host, name=SMS_RULE).exists():
            message_rule_create(
                host=host,
                properties=[properties[BROOKLYN]],
                name=SMS_RULE,
                body="Hi %guest_first_name%, your door code for %property_name% is "
                "%smartlock_code%. Check-in from %checkin_time% on %checkin_date%.",
                subject="Your door code for %property_name%",
                trigger=MessageRule.Trigger.BEFORE_CHECK_IN,
                days_before=1,
                channel=MessageRule.Channel.SMS,
                send_to_existing=True,
            )

        created = 0
        for stay in STAYS:
            created += self._reservation(
                host=host, property=properties[stay.property_name], stay=stay
            )

        self.stdout.write(
            f"Demo host '{host.name}': {len(properties)} properties, {len(locks)} simulated "
            f"locks, {Reservation.objects.filter(host=host).count()} reservations "
            f"({created} new this run)."
        )
        self.stdout.write(f"Log in as {DEMO_EMAIL} / {DEMO_PASSWORD}")
        self.stdout.write(f"Admin (support staff): {SUPPORT_EMAIL} / {DEMO_PASSWORD}")

    def _user(self, email: str, *, is_staff: bool = False, **names: str):
        user, created = get_user_model().objects.get_or_create(
            username=email, defaults={"email": email, "is_staff": is_staff, **names}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        return user

    def _reservation(self, *, host: Host, property: Property, stay: DemoStay) -> int:
        """Create one demo stay unless its external id exists; return how many were created."""
        if Reservation.objects.filter(host=host, external_id=stay.external_id).exists():
            return 0
        today = timezone.now().astimezone(property.zone).date()
        arrival = today + timedelta(days=stay.arrives_in_days)
        number = int(stay.external_id.split("-")[1])
        details: dict[str, Any] = {
            "host": host,
            "external_id": stay.external_id,
            "property": property,
            "reservation_code": f"HMDEMO{number:02d}",
            "guest_name": stay.guest_name,
            "guest_phone": stay.guest_phone,
            "guest_email": f"guest{number}@example.com",
            "check_in": property.local_datetime(arrival, property.checkin_time),
            "check_out": property.local_datetime(
                arrival + timedelta(days=stay.nights), property.checkout_time
            ),
            "status": stay.status,
            "source": Reservation.Source.DEMO,
        }
        if details["check_out"] <= timezone.now():
            Reservation.objects.create(**details)
        else:
            reservation_upsert(**details)
        return 1
