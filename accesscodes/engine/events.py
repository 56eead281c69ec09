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


class EventBuffer:
    """History lines of one lock pass, written together at its end (one INSERT, not one per
    line); the rows they describe carry the evidence of an interrupted pass themselves."""

    def __init__(self, host_id: int, lock: Lock) -> None:
        self.host_id = host_id
        self.lock = lock
        self.pending: list[CodeEvent] = []

    def add(
        self,
        kind: str,
        *,
        lock_code: LockCode | None = None,
        backup_code: BackupCode | None = None,
        reason: str = "",
        after: dict | None = None,
    ) -> None:
        self.pending.append(
            CodeEvent(
                host_id=self.host_id,
                kind=kind,
                access_code_id=lock_code.access_code_id if lock_code else None,
                lock_code=lock_code,
                backup_code=backup_code,
                lock=self.lock,
                reason=reason[:200],
                after=after or {},
            )
        )

    def flush(self) -> None:
        if self.pending:
            CodeEvent.objects.bulk_create(self.pending)
            self.pending = []


def actor_for(user) -> str:
    return CodeEvent.Actor.USER if user else CodeEvent.Actor.SYSTEM
