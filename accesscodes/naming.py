"""The name a code carries on the lock (SPEC N1–N2)."""

import re

# Letters of the GSM 03.38 default alphabet (Latin and the Greek capitals it carries).
GSM_LETTERS = (
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyzÄÖÑÜäöñüàèéùìòÇØøÅåÆæßÉΔΦΓΛΩΠΨΣΘΞ"
)
_ALLOWED = re.compile("^[" + re.escape(GSM_LETTERS) + r"0-9 .\-']+$")


def is_gsm_name(name: str) -> bool:
    """Tell whether a name has only GSM 03.38 letters, digits, spaces, `.`, `-` and `'`."""
    return bool(_ALLOWED.match(name))


def fallback_name(*, reservation_code: str, external_id: str, max_length: int | None) -> str:
    name = reservation_code or external_id
    return name[:max_length] if max_length else name


def code_name_choose(
    *,
    guest_name: str,
    reservation_code: str,
    external_id: str,
    max_length: int | None,
    names_on_lock: set[str],
    guest_has_other_code_on_lock: bool,
    force_fallback: bool = False,
) -> str:
    """Return the guest's full name, or the reservation code where the name can't be used."""
    name = " ".join(guest_name.split())
    use_fallback = (
        force_fallback
        or not name
        or (max_length is not None and len(name) > max_length)
        or not is_gsm_name(name)
        or name in names_on_lock
        or guest_has_other_code_on_lock
    )
    if use_fallback:
        return fallback_name(
            reservation_code=reservation_code, external_id=external_id, max_length=max_length
        )
    return name
