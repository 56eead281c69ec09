"""How messaging follows reservations and codes: Django signals, connected in apps.ready().

Reservation changes arrive as post_save on Reservation (the engine saves the reservation on
accept, alter, move and cancel), so the engine needs no call into messaging.
"""

from django.db.models.signals import post_save
from django.dispatch import receiver

from accesscodes.models import AccessCode
from accesscodes.signals import backup_code_assigned, pin_changed
from messaging import services
from messaging.models import ScheduledMessage
from reservations.models import Reservation


@receiver(post_save, sender=Reservation, dispatch_uid="messaging_reservation_saved")
def reservation_saved(sender, instance: Reservation, raw: bool = False, **kwargs) -> None:
    if raw:  # loaddata
        return
    services.messages_schedule_for_reservation(reservation=instance)


@receiver(post_save, sender=AccessCode, dispatch_uid="messaging_access_code_saved")
def access_code_saved(sender, instance: AccessCode, created: bool, raw: bool = False, **kwargs):
    # A message held for want of a code can go now (SPEC G4).
    if created and not raw:
        services.messages_release_held(reservation=instance.reservation)


@receiver(pin_changed, dispatch_uid="messaging_pin_changed")
def on_pin_changed(sender, access_code: AccessCode, **kwargs) -> None:
    services.messages_on_pin_changed(reservation=access_code.reservation)


@receiver(backup_code_assigned, dispatch_uid="messaging_backup_code_assigned")
def on_backup_code_assigned(sender, backup_code, reservation: Reservation, **kwargs) -> None:
    services.message_follow_up_schedule(
        reservation=reservation, kind=ScheduledMessage.Kind.BACKUP_CODE
    )
