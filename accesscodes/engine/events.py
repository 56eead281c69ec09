"""The code history: one append-only CodeEvent per change."""

from __future__ import annotations

from accesscodes.models import AccessCode, BackupCode, CodeEvent, LockCode
from integrations.models import Lock


def code_event_record(
    *,
    host_id: int,
    kind: str,
    access_code: AccessCode | None = None,
    lock_code: LockCode | None = None,
    backup_code: BackupCode | None = None,
    lock: Lock | None = None,
    reason: str = "",
    before: dict | None = None,
    after: dict | None = None,
    actor: str = CodeEvent.Actor.SYSTEM,
    user=None,
) -> CodeEvent:
    """Append one history line. Never pass a PIN in before/after."""
    if lock_code is not None:
        access_code = access_code or lock_code.access_code
        lock = lock or lock_code.lock
    if backup_code is not None:
        lock = lock or backup_code.lock
    return CodeEvent.objects.create(
        host_id=host_id,
        kind=kind,
        access_code=access_code,
        lock_code=lock_code,
        backup_code=backup_code,
        lock=lock,
        reason=reason[:200],
        before=before or {},
        after=after or {},
        actor=actor,
        user=user,
    )


def actor_for(user) -> str:
    return CodeEvent.Actor.USER if user else CodeEvent.Actor.SYSTEM
