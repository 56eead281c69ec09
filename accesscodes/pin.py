"""The one PIN validator, built from the constraint vocabulary of SPEC §5."""

from integrations.base import Constraint, LockCapabilities


def _is_run(pin: str, step: int) -> bool:
    return all(int(b) - int(a) == step for a, b in zip(pin, pin[1:], strict=False))


def is_trivial(pin: str) -> bool:
    """Tell whether a PIN is one repeated digit or an ascending/descending run (SPEC P4)."""
    return len(set(pin)) == 1 or _is_run(pin, 1) or _is_run(pin, -1)


def pin_violations(pin: str, capabilities: LockCapabilities) -> list[str]:
    """List every rule of the lock the PIN breaks; empty means the lock accepts it."""
    problems: list[str] = []
    if not pin.isdigit():
        return ["must contain digits only"]
    if len(pin) not in capabilities.supported_code_lengths:
        lengths = ", ".join(str(n) for n in capabilities.supported_code_lengths)
        problems.append(f"must be {lengths} digits long")
    constraints = capabilities.code_constraints
    if Constraint.NO_ZEROS in constraints and "0" in pin:
        problems.append("may not contain 0")
    if Constraint.CANNOT_START_WITH_12 in constraints and pin.startswith("12"):
        problems.append("may not start with 12")
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
