"""What a change to a stay would do, said before it is made. Reads only."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from accesscodes.models import LockCode
from accesscodes.presentation import local_time
from integrations.models import Lock
from properties.models import Property
from properties.selectors import smart_lock_settings_effective
from reservations.models import Reservation

SHORT = "D j M, H:i"


def stays_overlapping(
    *,
    property: Property,
    check_in: datetime,
    check_out: datetime,
    exclude_pk: int | None = None,
) -> QuerySet[Reservation]:
    """Accepted stays at the property whose dates overlap these (a double booking, or a
    channel manager's deliberate overlap): warned about, never refused."""
    stays = Reservation.objects.filter(
        property=property,
        status=Reservation.Status.ACCEPTED,
        check_in__lt=check_out,
        check_out__gt=check_in,
    ).order_by("check_in", "id")
    return stays.exclude(pk=exclude_pk) if exclude_pk else stays


def overlap_warnings(
    *, property: Property, check_in: datetime, check_out: datetime, exclude_pk=None
) -> list[str]:
    """One sentence per overlapping stay, times in the property's zone (SPEC V5)."""
    return [
        f"Overlaps the stay of {stay.guest_name} "
        f"({local_time(stay.check_in, property, SHORT)} – "
        f"{local_time(stay.check_out, property, SHORT)}): both guests' codes will open "
        f"the door at the same time."
        for stay in stays_overlapping(
            property=property, check_in=check_in, check_out=check_out, exclude_pk=exclude_pk
        )[:10]
    ]


def _locks_of(property: Property) -> list[Lock]:
    return list(
        Lock.objects.filter(matches__property=property, connection__host_id=property.host_id)
        .order_by("name", "id")
        .distinct()
    )


def _window(property: Property, check_in: datetime, check_out: datetime):
    settings = smart_lock_settings_effective(property=property)
    return check_in - settings.buffer_before, check_out + settings.buffer_after


def _lock_effects(lock: Lock, lock_code: LockCode | None, window, at, *, renamed: bool):
    """What saving does to the guest's code on one lock of the (new) property."""
    start, end = window
    if lock_code is None:
        return [f"A code will be created on {lock.name}, from {at(start)} to {at(end)}."]
    effects = []
    old_start, old_end = lock_code.access_code.starts_at, lock_code.access_code.ends_at
    if old_start != start:
        effects.append(f"The code's window on {lock.name} will start {at(start)}.")
    if old_end != end:
        effects.append(f"The code's window on {lock.name} will end {at(end)}.")
    if renamed:
        effects.append(f"The name on {lock.name} follows the new guest name.")
    if old_start == start and old_end == end:
        effects.append(f"The code on {lock.name} keeps its window ({at(start)} – {at(end)}).")
    return effects


def code_effects(
    *,
    reservation: Reservation | None,
    property: Property,
    check_in: datetime,
    check_out: datetime,
    guest_name: str,
) -> list[str]:
    """Sentences on what happens to the guest's codes on each lock if the stay is saved so:
    "The code's window on Front Door will end Sat 14 Mar, 10:00 (Europe/Lisbon)."."""
    if reservation is not None and reservation.status != Reservation.Status.ACCEPTED:
        return [f"No code is affected: this stay is {reservation.get_status_display().lower()}."]
    start, end = _window(property, check_in, check_out)

    def at(moment: datetime) -> str:
        return local_time(moment, property, SHORT)

    live: dict[int, LockCode] = {}
    if reservation is not None:
        live = {
            lock_code.lock_id: lock_code
            for lock_code in LockCode.objects.filter(access_code__reservation=reservation)
            .exclude(state=LockCode.State.REMOVED)
            .select_related("lock", "access_code")
        }
    effects: list[str] = []
    new_locks = _locks_of(property)
    for lock_code in live.values():
        if lock_code.lock_id not in {lock.pk for lock in new_locks}:
            effects.append(
                f"The code leaves {lock_code.lock.name} at once (the stay moves to {property})."
            )
    renamed = reservation is not None and guest_name != reservation.guest_name
    for lock in new_locks:
        effects += _lock_effects(lock, live.get(lock.pk), (start, end), at, renamed=renamed)
    if not new_locks:
        effects.append(f"No lock is matched to {property}, so no code will be on a lock.")
    elif live:
        effects.append("The guest keeps the same PIN.")
    return effects
