"""Signals the engine sends for the messaging engine (SPEC G7, H2)."""

from django.dispatch import Signal

# A guest's PIN changed after it may have been sent to them. kwargs: access_code.
pin_changed = Signal()
# A backup code was assigned to a reservation and must be sent. kwargs: backup_code, reservation.
backup_code_assigned = Signal()
