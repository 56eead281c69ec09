"""What guest codes (LockCode) and backup codes (BackupCode) share on their way to a lock.

- `store`: the pass's guarded write-back (SPEC S9). The pass writes the fields it owns only
  if the row's `version` is the one it read; otherwise a service changed the row meanwhile,
  and the pass records just what it learned about the lock (its vendor id, the state and
  window it wrote, the attempt) and leaves the code due again for the next pass.
- `record_failure` / `record_success`: one failure path and one retry schedule (R1–R5).
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection
from django.db.models import BooleanField, F
from django.db.models.expressions import RawSQL
from django.utils import timezone

from accesscodes.engine.retry import MIN_SPACING, rate_limit_time, retry_time
from accesscodes.models import BackupCode, Delivery, LockCode
from integrations.base import Reason, VendorError

# Written as last_error_message before a write is sent; cleared by the answer (SPEC R4).
UNANSWERED = "sent; no answer yet"

_ATTEMPT_FIELDS = (
    "state",
    "vendor_code_id",
    "confirmation",
    "attempts",
    "first_failed_at",
    "last_attempt_at",
    "last_error",
    "last_error_message",
    "set_at",
    "removed_at",
)
# What a pass may write back when nobody changed the row meanwhile.
PASS_FIELDS: dict[type[Delivery], tuple[str, ...]] = {
    LockCode: (
        *_ATTEMPT_FIELDS,
        "pin",
        "name_on_lock",
        "window_starts_at",
        "window_ends_at",
        "in_sync",
        "next_attempt_at",
        "delete_after",
    ),
    BackupCode: (*_ATTEMPT_FIELDS, "pin", "next_attempt_at", "retire_after"),
}
# What a pass learned about the lock, written even when a service changed the row: losing it
# would leave a code on the lock we no longer know about.
FACT_FIELDS: dict[type[Delivery], tuple[str, ...]] = {
    LockCode: (*_ATTEMPT_FIELDS, "window_starts_at", "window_ends_at"),
    BackupCode: _ATTEMPT_FIELDS,
}


def remember_stored(item: Delivery) -> None:
    """Note the pass's fields as the row holds them (just loaded or just written): a guarded
    write then sends only what changed since, which is the same row when the version matches."""
    item._stored = {name: getattr(item, name) for name in PASS_FIELDS[type(item)]}
    item._stored_version = item.version


def _changed(item: Delivery) -> dict:
    stored = getattr(item, "_stored", None)
    values = {name: getattr(item, name) for name in PASS_FIELDS[type(item)]}
    if stored is None or getattr(item, "_stored_version", None) != item.version:
        return values  # never noted, or reloaded since: write every field
    return {name: value for name, value in values.items() if stored.get(name) != value}


def _written(item: Delivery) -> None:
    item.version += 1
    remember_stored(item)


def store(item: Delivery) -> bool:
    """Write the pass's fields if the row is still the version the pass read (SPEC S9).

    Returns False after a conflict; the item then holds the row as the service left it."""
    model = type(item)
    now = timezone.now()
    written = model.objects.filter(pk=item.pk, version=item.version).update(
        **_changed(item), version=item.version + 1, updated_at=now
    )
    if written:
        _written(item)
        return True
    _conflict(item, now)
    return False


def _conflict(item: Delivery, now: datetime) -> None:
    if _learned_from_lock(item):
        _store_facts(item, now)
    else:
        item.refresh_from_db()  # nothing learned from the lock: the change stands as it is
    remember_stored(item)


def store_many(items: list[Delivery]) -> list[bool]:
    """`store` for many rows of one model: one UPDATE guarded by each row's version (S9).
    Rows a service changed meanwhile are left out of it and handled one by one as `store`
    does; which rows it wrote is told by their new version and this write's `updated_at`."""
    if len(items) < 2:
        return [store(item) for item in items]
    model = type(items[0])
    now = timezone.now()
    changes = [_changed(item) for item in items]
    values = {}
    for name in sorted({name for change in changes for name in change}):
        column = [getattr(item, name) for item in items]
        if all(value == column[0] for value in column):
            values[name] = column[0]
        else:
            values[name] = _case(model._meta.get_field(name), items, column)
    written = (
        model.objects.filter(_versions_match(items))
        .order_by()
        .update(**values, version=F("version") + 1, updated_at=now)
    )
    if written == len(items):
        for item in items:
            _written(item)
        return [True] * len(items)
    rows = {
        pk: (version, updated_at)
        for pk, version, updated_at in model.objects.filter(
            pk__in=[item.pk for item in items]
        ).values_list("pk", "version", "updated_at")
    }
    results = []
    for item in items:
        if rows.get(item.pk) == (item.version + 1, now):
            _written(item)
            results.append(True)
        else:
            results.append(store(item))  # changed meanwhile: its version no longer matches
    return results


# Raw SQL for the two many-row expressions: built from ORM When()s and Q()s they cost more
# CPU than the queries they save. Column names come from the model; every value is a parameter.


def _case(field, items: list[Delivery], column: list) -> RawSQL:
    """CASE id WHEN … THEN … ELSE column END: each row's own value."""
    quote = connection.ops.quote_name
    whens = " ".join("WHEN %s THEN %s" for _ in items)
    sql = f"CASE {quote('id')} {whens} ELSE {quote(field.column)} END"
    if connection.features.requires_casted_case_in_updates:
        sql = f"CAST({sql} AS {field.cast_db_type(connection)})"
    params = []
    for item, value in zip(items, column, strict=True):
        params += [item.pk, field.get_db_prep_save(value, connection)]
    return RawSQL(sql, params, output_field=field)  # noqa: S611


def _versions_match(items: list[Delivery]) -> RawSQL:
    """(id, version) IN ((…), …): every row still the version its item holds (S9)."""
    quote = connection.ops.quote_name
    rows = ", ".join("(%s, %s)" for _ in items)
    params = [value for item in items for value in (item.pk, item.version)]
    sql = f"({quote('id')}, {quote('version')}) IN ({rows})"
    return RawSQL(sql, params, output_field=BooleanField())  # noqa: S611


def _learned_from_lock(item: Delivery) -> bool:
    """Whether this pass wrote to the lock for the item, or found its copy there."""
    if getattr(item, "sent_this_pass", False):
        return True
    row_vendor_id = (
        type(item).objects.filter(pk=item.pk).values_list("vendor_code_id", flat=True).first()
    )
    return bool(item.vendor_code_id) and item.vendor_code_id != row_vendor_id


def _store_facts(item: Delivery, now: datetime) -> None:
    model = type(item)
    facts = {name: getattr(item, name) for name in FACT_FIELDS[model]}
    if isinstance(item, LockCode):
        if item.state == LockCode.State.REMOVED:
            # Our copy is gone from the lock, but the row was changed since: let the next pass
            # decide from scratch whether it is wanted (moved back) or done (cancelled).
            facts.update(state=LockCode.State.SCHEDULED, vendor_code_id="", removed_at=None)
        facts["in_sync"] = False
    model.objects.filter(pk=item.pk).update(
        **facts, next_attempt_at=now, version=F("version") + 1, updated_at=now
    )
    item.refresh_from_db()


def store_attempt(item: Delivery) -> bool:
    """Record that a write is about to be sent, before sending it (a crash leaves evidence).

    False when a service changed the row since the pass read it: the pass must not send."""
    model = type(item)
    written = model.objects.filter(pk=item.pk, version=item.version).update(
        **_changed(item), version=item.version + 1, updated_at=timezone.now()
    )
    if written:
        _written(item)
        item.sent_this_pass = True
        return True
    item.refresh_from_db()
    remember_stored(item)
    return False


def record_success(item: Delivery) -> None:
    item.last_error, item.last_error_message = "", ""
    item.attempts, item.first_failed_at = 0, None


def record_failure(
    item: Delivery,
    error: VendorError,
    *,
    removing: bool = False,
    window_end: datetime | None = None,
    keep_trying: bool = False,
) -> str:
    """Note a failed attempt and when to try again; return the event kind to record.

    - rate_limited: wait as the vendor says; not an attempt (R3).
    - a code being removed stays `removing` (R5); a code on the lock stays `set`.
    - the next attempt is never in the past and never within a minute (R5); a code whose
      window has ended is given up on (it leaves the lock by `delete_after`), unless it is
      still on the lock with a stale window (`keep_trying`, C3) or being removed.
    """
    now = timezone.now()
    item.last_error = error.reason
    item.last_error_message = error.message[:500]
    item.last_attempt_at = now
    if error.reason == Reason.RATE_LIMITED:
        item.next_attempt_at = rate_limit_time(error.retry_after, now)
        if item.state == "setting" and not item.vendor_code_id:
            item.state = "failed"
        return "rate_limited"
    item.attempts += 1
    item.first_failed_at = item.first_failed_at or now
    if removing:
        item.state = "removing"
    elif item.state not in ("set", "removing"):
        item.state = "failed"
    retry_at = retry_time(item.attempts, now)
    if removing or keep_trying or item.state == "removing" or window_end is None:
        item.next_attempt_at = retry_at
    elif window_end <= now:
        item.next_attempt_at = None  # nothing left to try: the window has ended
    else:
        # The last look is at the window's end, where sending gives up.
        item.next_attempt_at = min(retry_at, max(window_end, now + MIN_SPACING))
    return "failed"
