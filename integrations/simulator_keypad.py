"""What a guest typing a PIN on a simulated lock's keypad would see (issue #25): the door
opens when the lock holds a code with that PIN that it has taken and whose window holds the
moment. Read from the simulated device's own codes, so it shows what the lock holds, not what
locksync believes it holds. A keypad works without the cloud: being offline changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from integrations.models import SimulatedCode


@dataclass(frozen=True)
class KeypadAnswer:
    opens: bool
    why: str  # "opens", "no_code", "not_taken", "not_yet", "ended"
    starts_at: datetime | None = None
    ends_at: datetime | None = None


def keypad_try(*, device_id: str, pin: str, at: datetime) -> KeypadAnswer:
    codes = SimulatedCode.objects.filter(device__device_id=device_id, never_applies=False)
    matching = [code for code in codes.order_by("id") if code.pin == pin]
    if not matching:
        return KeypadAnswer(False, "no_code")
    taken = [code for code in matching if code.applies_at <= at]
    if not taken:
        return KeypadAnswer(False, "not_taken")
    for code in taken:
        if (code.starts_at is None or code.starts_at <= at) and (
            code.ends_at is None or at < code.ends_at
        ):
            return KeypadAnswer(True, "opens", code.starts_at, code.ends_at)
    code = taken[0]
    why = "not_yet" if code.starts_at is not None and at < code.starts_at else "ended"
    return KeypadAnswer(False, why, code.starts_at, code.ends_at)
