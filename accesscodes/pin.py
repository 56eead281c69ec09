"""Choosing and validating PINs: one validator built from the vocabulary of SPEC §5."""

import secrets

from integrations.base import Constraint, LockCapabilities


def _is_run(pin: str, step: int) -> bool:
    return all(int(b) - int(a) == step for a, b in zip(pin, pin[1:], strict=False))


def is_trivial(pin: str) -> bool:
    """Tell whether a PIN is one repeated digit or an ascending/descending run (SPEC P4)."""
    return len(set(pin)) == 1 or _is_run(pin, 1) or _is_run(pin, -1)


def pin_violations(pin: str, capabilities: LockCapabilities) -> list[str]:
    """List every rule of the lock the PIN breaks; empty means the lock accepts it."""
    problems: list[str] = []
    # str.isdigit() also accepts "٤" and "²", which no keypad can type: PINs are ASCII 0-9.
    if not (pin.isascii() and pin.isdigit()):
        return ["must contain the digits 0-9 only"]
    if len(pin) not in capabilities.supported_code_lengths:
        lengths = ", ".join(str(n) for n in capabilities.supported_code_lengths)
        problems.append(f"must be {lengths} digits long")
    constraints = capabilities.code_constraints
    if Constraint.NO_ZEROS in constraints and "0" in pin:
        problems.append("may not contain 0")
    if Constraint.CANNOT_START_WITH_12 in constraints and pin.startswith("12"):
        problems.append("may not start with 12")
    if Constraint.CANNOT_START_WITH_0 in constraints and pin.startswith("0"):
        problems.append("may not start with 0")
    if Constraint.CANNOT_CONTAIN_089 in constraints and set(pin) & set("089"):
        problems.append("may not contain 0, 8 or 9")
    if Constraint.CANNOT_CONTAIN_0789 in constraints and set(pin) & set("0789"):
        problems.append("may not contain 0, 7, 8 or 9")
    if Constraint.NO_ALL_SAME_DIGITS in constraints and len(set(pin)) == 1:
        problems.append("may not repeat one digit")
    if Constraint.NO_ASCENDING_OR_DESCENDING_SEQUENCE in constraints and (
        _is_run(pin, 1) or _is_run(pin, -1)
    ):
        problems.append("may not be an ascending or descending sequence")
    if Constraint.NO_TRIPLE_CONSECUTIVE_INTS in constraints and any(
        _is_run(pin[i : i + 3], 1) for i in range(len(pin) - 2)
    ):
        problems.append("may not contain three consecutive digits")
    if Constraint.AT_LEAST_THREE_UNIQUE_DIGITS in constraints and len(set(pin)) < 3:
        problems.append("needs at least three different digits")
    return problems


def pins_collide(pin: str, other: str, capabilities: LockCapabilities) -> bool:
    """Tell whether two PINs cannot both be on the lock."""
    if pin == other:
        return True
    return Constraint.UNIQUE_FIRST_FOUR_DIGITS in capabilities.code_constraints and (
        pin[:4] == other[:4]
    )


def combined_lengths(capabilities: list[LockCapabilities]) -> tuple[int, ...]:
    """Return the code lengths every lock accepts."""
    lengths = set(range(4, 13))
    for record in capabilities:
        lengths &= set(record.supported_code_lengths)
    return tuple(sorted(lengths))


def nearest_length(wanted: int, allowed: tuple[int, ...]) -> int | None:
    """Return the allowed length closest to the host's choice, preferring the longer (SPEC P2)."""
    if not allowed:
        return None
    return min(allowed, key=lambda length: (abs(length - wanted), -length))


def _acceptable(pin: str, capabilities: list[LockCapabilities], taken: set[str]) -> bool:
    if is_trivial(pin):
        return False
    for record in capabilities:
        if pin_violations(pin, record):
            return False
        if any(pins_collide(pin, other, record) for other in taken):
            return False
    return True


def phone_pin(
    digits: str, length: int, capabilities: list[LockCapabilities], taken: set[str]
) -> str | None:
    """Return the last `length` digits of the phone if every lock takes them (SPEC P3)."""
    digits = "".join(ch for ch in digits if ch in "0123456789")
    if len(digits) < length:
        return None
    pin = digits[-length:]
    return pin if _acceptable(pin, capabilities, taken) else None


def random_pin(length: int, capabilities: list[LockCapabilities], taken: set[str]) -> str:
    """Return a random PIN from `secrets` that every lock takes and no lock holds (SPEC P4)."""
    alphabet = "0123456789"
    for record in capabilities:
        constraints = record.code_constraints
        if Constraint.NO_ZEROS in constraints:
            alphabet = alphabet.replace("0", "")
        if Constraint.CANNOT_CONTAIN_089 in constraints:
            alphabet = "".join(ch for ch in alphabet if ch not in "089")
        if Constraint.CANNOT_CONTAIN_0789 in constraints:
            alphabet = "".join(ch for ch in alphabet if ch not in "0789")
    for _ in range(10_000):
        pin = "".join(secrets.choice(alphabet) for _ in range(length))
        if _acceptable(pin, capabilities, taken):
            return pin
    raise ValueError("no PIN satisfies the locks' rules; check their constraints")
