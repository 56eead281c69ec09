"""What a host, a guest and a lock see, for the QA tests."""

from datetime import datetime, timedelta

from django.utils import timezone

from integrations.models import SimulatedCode
from reservations.services import reservation_upsert


def on_lock(lock) -> dict[str, tuple[str, datetime | None, datetime | None]]:
    """What the simulated lock holds: name -> (PIN, window start, window end)."""
    return {
        code.name: (code.pin, code.starts_at, code.ends_at)
        for code in SimulatedCode.objects.filter(
            device__device_id=lock.remote_id, never_applies=False
        )
    }


def book(prop, *, starts_in: timedelta, nights: int = 3, name="Ana Silva", external_id="B1", **kw):
    check_in = timezone.now() + starts_in
    reservation, _ = reservation_upsert(
        host=prop.host,
        external_id=external_id,
        property=prop,
        guest_name=name,
        check_in=check_in,
        check_out=check_in + timedelta(days=nights),
        reservation_code=kw.pop("reservation_code", f"HM{external_id}"),
        **kw,
    )
    return reservation
