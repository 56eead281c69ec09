"""The host's own Twilio account (SPEC G8): checked with Twilio before it is saved, the auth
token encrypted at rest (SPEC §3)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from twilio.base.exceptions import TwilioException, TwilioRestException

from messaging.channels import twilio_client
from messaging.models import TwilioAccount
from properties.models import Host

FIELDS = (
    "account_sid",
    "sms_from",
    "messaging_service_sid",
    "whatsapp_from",
    "whatsapp_content_sid",
    "whatsapp_variables",
)


def twilio_account_get(*, host: Host) -> TwilioAccount | None:
    return TwilioAccount.objects.filter(host=host).first()


def twilio_credentials_check(*, account: TwilioAccount) -> None:
    """Ask Twilio for the account: a wrong SID or token is a ValidationError saying so."""
    try:
        twilio_client(account).api.v2010.accounts(account.account_sid).fetch()
    except TwilioRestException as error:
        if error.status in (401, 403, 404):
            raise ValidationError(
                "Twilio refused this account SID and auth token: copy both again from the "
                "Account Info box on your Twilio console's home page.",
                code="refused",
            ) from error
        raise ValidationError(
            f"Twilio could not check the account just now ({error.code}: {error.msg}); "
            "try again in a minute.",
            code="unavailable",
        ) from error
    except (TwilioException, OSError) as error:
        raise ValidationError(
            f"Twilio could not be reached to check the account ({type(error).__name__}); "
            "try again in a minute.",
            code="unavailable",
        ) from error


def twilio_account_save(*, host: Host, auth_token: str = "", **fields) -> TwilioAccount:
    """Create or change the host's Twilio account; an empty auth token keeps the saved one."""
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise ValueError(f"not editable: {', '.join(sorted(unknown))}")
    account = twilio_account_get(host=host) or TwilioAccount(host=host)
    for name, value in fields.items():
        setattr(account, name, value)
    if auth_token:
        account.auth_token = auth_token
    if not account.auth_token:
        raise ValidationError({"auth_token": "Enter the account's auth token."})
    if TwilioAccount.objects.filter(account_sid=account.account_sid).exclude(host=host).exists():
        raise ValidationError({"account_sid": "This Twilio account is connected to another host."})
    twilio_credentials_check(account=account)
    account.save()
    return account


def twilio_account_remove(*, host: Host) -> None:
    """Disconnect Twilio: SMS and WhatsApp messages fall back to email from now on."""
    TwilioAccount.objects.filter(host=host).delete()
