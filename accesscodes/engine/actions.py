"""What hosts and support ask for (dashboard, API, admin): mark work due, queue a pass on
commit, return at once. A web request never waits on a vendor; the panel shows the progress
(SPEC V2, V4, Y1)."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accesscodes.engine.events import actor_for, code_event_record
from accesscodes.engine.provisioning import NOT_ON_LOCK, lock_dispatch_enqueue
from accesscodes.engine.reconciliation import lock_resync as lock_resync
from accesscodes.engine.windows import send_time
from accesscodes.models import LockCode


class EngineError(Exception):
    """A request the engine cannot carry out, with a message for the user."""


@transaction.atomic
def lock_code_retry_now(*, lock_code: LockCode, user=None) -> LockCode:
    """Have the next pass re-attempt this code at once; queued on commit."""
    if lock_code.state == LockCode.State.REMOVED:
        raise EngineError("This code has been removed from the lock; there is nothing to retry.")
    # A code still waiting for its send time stays waiting: sent early, a permanent-only
    # lock would open the door days before the stay (SPEC S2, W2).
    now = timezone.now()
    due = send_time(lock_code, now) if lock_code.state in NOT_ON_LOCK else now
    LockCode.objects.filter(pk=lock_code.pk).update(next_attempt_at=due, version=F("version") + 1)
    code_event_record(
        host_id=lock_code.lock.connection.host_id,
        kind="retry_requested",
        lock_code=lock_code,
        actor=actor_for(user),
        user=user,
    )
    lock_id = lock_code.lock_id
    transaction.on_commit(lambda: lock_dispatch_enqueue(lock_id=lock_id))
    lock_code.refresh_from_db()
    return lock_code
