"""The one PIN validator, from the constraint vocabulary of SPEC §5 (rules P2, P4)."""

import pytest

from accesscodes.pin import is_trivial, phone_pin, pin_violations, pins_collide, random_pin
from integrations.base import Constraint, LockCapabilities

NUKI = LockCapabilities(
    supported_code_lengths=(6,),
    code_constraints=frozenset({Constraint.NO_ZEROS, Constraint.CANNOT_START_WITH_12}),
    name_max_length=20,
)
ANY = LockCapabilities()


@pytest.mark.parametrize(
    ("pin", "problem"),
    [
        ("482615", None),
        ("48261", "must be 6 digits long"),
        ("402615", "may not contain 0"),
        ("124869", "may not start with 12"),
        ("4826a5", "must contain the digits 0-9 only"),
    ],
)
def test_nuki_rules(pin, problem):  # rule P2, P3
    problems = pin_violations(pin, NUKI)
    assert (problems == []) if problem is None else (problem in problems)


@pytest.mark.parametrize(
    ("constraint", "bad", "good"),
    [
        (Constraint.NO_ALL_SAME_DIGITS, "7777", "7778"),
        (Constraint.NO_ASCENDING_OR_DESCENDING_SEQUENCE, "3456", "3457"),
        (Constraint.NO_ASCENDING_OR_DESCENDING_SEQUENCE, "9876", "9875"),
        (Constraint.NO_TRIPLE_CONSECUTIVE_INTS, "91236", "91246"),
        (Constraint.AT_LEAST_THREE_UNIQUE_DIGITS, "1121", "1123"),
        (Constraint.CANNOT_CONTAIN_089, "4518", "4516"),
        (Constraint.CANNOT_CONTAIN_0789, "4517", "4516"),
    ],
)
def test_each_constraint_refuses_what_it_names(constraint, bad, good):  # rule P2
    capabilities = LockCapabilities(code_constraints=frozenset({constraint}))
    assert pin_violations(bad, capabilities)
    assert pin_violations(good, capabilities) == []


@pytest.mark.parametrize(
    ("pin", "trivial"),
    [
        ("1111", True),
        ("1234", True),
        ("9876", True),
        ("345678", True),
        ("1357", False),
        ("4826", False),
        ("1233", False),
    ],
)
def test_trivial_pins_are_recognised(pin, trivial):  # rule P4
    assert is_trivial(pin) is trivial


def test_unique_first_four_digits_makes_prefixes_collide():  # rule P4
    capabilities = LockCapabilities(
        code_constraints=frozenset({Constraint.UNIQUE_FIRST_FOUR_DIGITS})
    )
    assert pins_collide("482615", "482699", capabilities)
    assert not pins_collide("482615", "482699", ANY)
    assert pins_collide("4826", "4826", ANY)


def test_pins_are_ascii_digits_only():  # rule P3, P4
    caps = LockCapabilities()
    assert pin_violations("٤٨٦٧", caps) == ["must contain the digits 0-9 only"]
    assert pin_violations("²³⁴⁵", caps) == ["must contain the digits 0-9 only"]
    # Only ASCII digits count; the engine hands over phonenumbers' national number.
    assert phone_pin("٣٣٣٤٨٦٧", 4, [caps], set()) is None


def test_a_lock_that_reads_pins_as_integers_never_gets_a_leading_zero():  # rule P2, P4
    caps = LockCapabilities(code_constraints=frozenset({Constraint.CANNOT_START_WITH_0}))
    assert pin_violations("0582", caps) == ["may not start with 0"]
    assert pin_violations("5802", caps) == []
    assert all(not random_pin(4, [caps], set()).startswith("0") for _ in range(300))
