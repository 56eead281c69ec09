"""The engine's public services, for the other apps (reservations, integrations, views, API,
admin, the demo). The code lives in `accesscodes.engine`, one module per concern."""

from accesscodes.engine.actions import EngineError, lock_code_retry_now
from accesscodes.engine.announcements import pin_announcements_due
from accesscodes.engine.backups import (
    backup_code_assign,
    backup_code_assign_seen,
    backup_pool_ensure,
    backup_pool_size,
)
from accesscodes.engine.choices import pin_choose
from accesscodes.engine.delivery import store
from accesscodes.engine.events import code_event_record
from accesscodes.engine.lease import LEASE_TTL, PASS_BUDGET
from accesscodes.engine.lock_pass import BATCH_SIZE
from accesscodes.engine.provisioning import (
    access_code_cancel,
    access_code_pin_replace,
    access_code_provision,
    dispatch_on_commit,
    lock_code_ensure,
    lock_code_retire,
    lock_dispatch_enqueue,
    matched_locks,
)
from accesscodes.engine.reconciliation import (
    connection_codes_resync,
    lock_reconcile,
    lock_resync,
    locks_reconcile_all,
)
from accesscodes.engine.retry import retry_time
from accesscodes.engine.sweeps import (
    delete_due,
    deletion_due_lock_ids,
    dispatch_due,
    due_lock_ids,
    lock_process,
)
from accesscodes.engine.windows import DELETE_GRACE, access_window

# The old private name, kept for integrations.services (match_create / match_delete).
_dispatch_on_commit = dispatch_on_commit

__all__ = [
    "BATCH_SIZE",
    "DELETE_GRACE",
    "LEASE_TTL",
    "PASS_BUDGET",
    "EngineError",
    "access_code_cancel",
    "access_code_pin_replace",
    "access_code_provision",
    "access_window",
    "backup_code_assign",
    "backup_code_assign_seen",
    "backup_pool_ensure",
    "backup_pool_size",
    "code_event_record",
    "connection_codes_resync",
    "delete_due",
    "deletion_due_lock_ids",
    "dispatch_due",
    "dispatch_on_commit",
    "due_lock_ids",
    "lock_code_ensure",
    "lock_code_retire",
    "lock_code_retry_now",
    "lock_dispatch_enqueue",
    "lock_process",
    "lock_reconcile",
    "lock_resync",
    "locks_reconcile_all",
    "matched_locks",
    "pin_announcements_due",
    "pin_choose",
    "retry_time",
    "store",
]
