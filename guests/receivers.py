"""Keep each stay's check rows in step with its access window (SPEC H6)."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from accesscodes.models import AccessCode


@receiver(post_save, sender=AccessCode, dispatch_uid="guests-stay-checks-schedule")
def access_code_saved(sender, instance: AccessCode, **kwargs) -> None:
    from guests.prearrival import stay_checks_schedule

    stay_checks_schedule(access_code=instance)
