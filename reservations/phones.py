"""Guest phone numbers, normalised with `phonenumbers`.

A national number ("912 345 678") needs a country to be read. Property has no country field;
its IANA time zone names one almost always, so the default region is the country the tz
database itself assigns to that zone (`zone.tab`, shipped with the system tz data and with the
`tzdata` package): Europe/Lisbon → PT, America/New_York → US, Atlantic/Madeira → PT. Zones
without a country (UTC, Etc/*) or legacy aliases give no default; a number in international
form (+44…) is read regardless.

Never raises on bad input: a number that cannot be read is kept as given and marked invalid,
so an import with a garbled phone still creates the reservation (the PIN falls back to random,
SPEC P3). Digits of other scripts ("٤٨٦٧", Arabic-Indic) are stored as the ASCII digits they
mean, as `phonenumbers` reads them; look-alikes that are not decimal digits ("²", "⁴") are
not digits at all. A PIN is only ever made of ASCII 0-9.
"""

from __future__ import annotations

import functools
import importlib.resources
import re
import unicodedata
import zoneinfo
from dataclasses import dataclass
from pathlib import Path

import phonenumbers


@dataclass(frozen=True)
class Phone:
    raw: str
    e164: str  # "" unless valid
    valid: bool

    def last_digits(self, count: int) -> str:
        """The last `count` ASCII digits of the number ("" when there are fewer)."""
        digits = re.sub(r"[^0-9]", "", self.e164 or self.raw)
        return digits[-count:] if len(digits) >= count else ""


def ascii_digits(text: str) -> str:
    """Write every decimal digit of any script as its ASCII digit; leave the rest alone."""
    return "".join(
        str(unicodedata.decimal(ch)) if not ch.isascii() and ch.isdecimal() else ch for ch in text
    )


def _zone_tab_text() -> str:
    for directory in zoneinfo.TZPATH:
        path = Path(directory) / "zone.tab"
        if path.is_file():
            return path.read_text(encoding="utf-8")
    try:
        return (
            importlib.resources.files("tzdata")
            .joinpath("zoneinfo", "zone.tab")
            .read_text(encoding="utf-8")
        )
    except (ModuleNotFoundError, FileNotFoundError):
        return ""


@functools.cache
def _zone_countries() -> dict[str, str]:
    mapping = {}
    for line in _zone_tab_text().splitlines():
        if not line or line.startswith("#"):
            continue
        columns = line.split("\t")
        if len(columns) >= 3:
            mapping[columns[2]] = columns[0]
    return mapping


def region_for_time_zone(time_zone: str) -> str | None:
    """Return the ISO country code the tz database gives the zone, or None."""
    region = _zone_countries().get(time_zone)
    if region and region in phonenumbers.SUPPORTED_REGIONS:
        return region
    return None


def phone_normalise(*, raw: str, time_zone: str = "") -> Phone:
    """Read a phone number, taking national numbers as from the zone's country."""
    raw = ascii_digits((raw or "").strip())
    if not raw:
        return Phone(raw="", e164="", valid=False)
    region = region_for_time_zone(time_zone) if time_zone else None
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return Phone(raw=raw, e164="", valid=False)
    if not phonenumbers.is_valid_number(number):
        return Phone(raw=raw, e164="", valid=False)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return Phone(raw=raw, e164=e164, valid=True)


def phone_entry_error(*, raw: str, time_zone: str = "") -> str:
    """Why a number typed by a host (dashboard, API) cannot be used, or "" when it can or is
    empty. Imports keep what they are given (see above); a person entering it is told."""
    if not (raw or "").strip():
        return ""
    phone = phone_normalise(raw=raw, time_zone=time_zone)
    if phone.valid:
        return ""
    region = region_for_time_zone(time_zone) if time_zone else None
    read_as = f" (without a country code it is read as a number in {region})" if region else ""
    return (
        f"“{raw.strip()}” is not a valid phone number{read_as}: enter it with its country "
        "code, e.g. +351 912 345 678, or leave it empty."
    )
