"""factory_boy factories for every model, keeping related objects on one host."""

from datetime import time, timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from accesscodes.models import AccessCode, BackupCode, CodeEvent, LockCode
from integrations.models import (
    Lock,
    LockConnection,
    Match,
    SimulatedAccount,
    SimulatedCode,
    SimulatedDevice,
)
from messaging.models import HostAlert
from properties.models import Host, HostMember, Property, SmartLockSettings
from reservations.models import Reservation


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}@example.com")
    email = factory.LazyAttribute(lambda o: o.username)
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")

    @factory.post_generation
    def saved(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()


class HostFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Host

    name = factory.Sequence(lambda n: f"Host {n}")
    alert_email = factory.Sequence(lambda n: f"host{n}@example.com")


class HostMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HostMember

    user = factory.SubFactory(UserFactory)
    host = factory.SubFactory(HostFactory)


class PropertyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Property

    host = factory.SubFactory(HostFactory)
    name = factory.Sequence(lambda n: f"Property {n}")
    address = "1 Main Street"
    time_zone = "Europe/Lisbon"
    checkin_time = time(16, 0)
    checkout_time = time(11, 0)


class SmartLockSettingsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SmartLockSettings

    host = factory.SubFactory(HostFactory)
    property = None


class SimulatedAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SimulatedAccount

    api_key = factory.Sequence(lambda n: f"sim-account-{n}")


class LockConnectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LockConnection

    class Params:
        account = factory.SubFactory(SimulatedAccountFactory)

    host = factory.SubFactory(HostFactory)
    vendor = "simulator"
    name = "Simulator"
    credentials = factory.LazyAttribute(lambda o: {"api_key": o.account.api_key})


class SimulatedDeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SimulatedDevice

    account = factory.SubFactory(SimulatedAccountFactory)
    name = factory.Sequence(lambda n: f"Front door {n}")
    supported_code_lengths = [4, 5, 6, 7, 8]


class LockFactory(factory.django.DjangoModelFactory):
    """A lock on a simulator connection, backed by a simulated device on the same account."""

    class Meta:
        model = Lock

    class Params:
        device = factory.SubFactory(
            SimulatedDeviceFactory,
            account=factory.LazyAttribute(
                lambda o: SimulatedAccount.objects.get(
                    api_key=o.factory_parent.connection.credentials["api_key"]
                )
            ),
        )

    connection = factory.SubFactory(LockConnectionFactory)
    remote_id = factory.LazyAttribute(lambda o: o.device.device_id)
    name = factory.LazyAttribute(lambda o: o.device.name)
    model = factory.LazyAttribute(lambda o: o.device.model)
    capabilities = factory.LazyAttribute(lambda o: o.device.capability_record().to_json())


class MatchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Match

    lock = factory.SubFactory(LockFactory)
    property = factory.SubFactory(
        PropertyFactory, host=factory.LazyAttribute(lambda o: o.factory_parent.lock.connection.host)
    )


class ReservationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Reservation

    property = factory.SubFactory(PropertyFactory)
    host = factory.LazyAttribute(lambda o: o.property.host)
    external_id = factory.Sequence(lambda n: f"EXT-{n}")
    reservation_code = factory.Sequence(lambda n: f"HM{n:08d}")
    guest_name = factory.Sequence(lambda n: f"Guest Number{n}")
    guest_email = factory.Sequence(lambda n: f"guest{n}@example.com")
    check_in = factory.LazyFunction(lambda: timezone.now() + timedelta(days=5))
    check_out = factory.LazyAttribute(lambda o: o.check_in + timedelta(days=3))
    status = Reservation.Status.ACCEPTED


class AccessCodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AccessCode

    reservation = factory.SubFactory(ReservationFactory)
    pin = factory.Sequence(lambda n: f"{4000 + n % 5000:04d}")
    name = factory.LazyAttribute(lambda o: o.reservation.guest_name)
    starts_at = factory.LazyAttribute(lambda o: o.reservation.check_in)
    ends_at = factory.LazyAttribute(lambda o: o.reservation.check_out)


class LockCodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LockCode

    access_code = factory.SubFactory(AccessCodeFactory)
    lock = factory.SubFactory(
        LockFactory,
        connection__host=factory.LazyAttribute(
            lambda o: o.factory_parent.factory_parent.access_code.reservation.host
        ),
    )
    pin = factory.LazyAttribute(lambda o: o.access_code.pin)
    name_on_lock = factory.LazyAttribute(lambda o: o.access_code.name)


class BackupCodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BackupCode

    lock = factory.SubFactory(LockFactory)
    slot = factory.Sequence(lambda n: n + 1)
    name = factory.LazyAttribute(lambda o: f"Backup {o.slot}")
    pin = factory.Sequence(lambda n: f"{7000 + n % 2000:04d}")


class CodeEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CodeEvent

    access_code = factory.SubFactory(AccessCodeFactory)
    host = factory.LazyAttribute(lambda o: o.access_code.reservation.host)
    kind = "created"


class SimulatedCodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SimulatedCode

    device = factory.SubFactory(SimulatedDeviceFactory)
    code_id = factory.Sequence(lambda n: f"hand-{n}")
    pin = factory.Sequence(lambda n: f"{5000 + n % 4000:04d}")
    name = factory.Sequence(lambda n: f"Cleaner {n}")
    applies_at = factory.LazyFunction(timezone.now)
    created_by_hand = True


class HostAlertFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HostAlert

    host = factory.SubFactory(HostFactory)
    kind = HostAlert.Kind.LOCK_OFFLINE
    subject = "Front door is offline"
    body = "Replace the battery if it is low."
