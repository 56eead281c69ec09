"""The PMS webhook endpoint (Q3): the URL carries the connection's secret; the PMS's own
signature is checked where it has one. It only records the event and queues it, so it answers
at once; the same event twice is recorded once. Anything that does not verify or read is
answered 400 or 404 and counted, never 500."""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from pms.base import BadWebhook, secrets_match
from pms.models import PmsConnection, PmsEvent
from pms.registry import adapter_for

logger = logging.getLogger(__name__)


def _refuse(connection: PmsConnection | None, status: int, why: str) -> HttpResponse:
    if connection is not None:
        PmsConnection.objects.filter(pk=connection.pk).update(
            webhooks_refused=F("webhooks_refused") + 1
        )
    return HttpResponse(why, status=status, content_type="text/plain")


@csrf_exempt
@require_POST
def pms_webhook(request: HttpRequest, connection_id: int, secret: str) -> HttpResponse:
    connection = PmsConnection.objects.filter(pk=connection_id).first()
    if connection is None:
        return _refuse(None, 404, "unknown connection")
    if not secrets_match(secret, connection.webhook_secret):
        return _refuse(connection, 403, "bad secret")
    headers = {key.lower(): value for key, value in request.headers.items()}
    try:
        hints = adapter_for(connection).read_webhook(body=request.body, headers=headers)
    except BadWebhook as error:
        return _refuse(connection, 400, str(error))
    from pms.tasks import pms_event_process

    for hint in hints:
        if not hint.reservation_id:
            continue  # messages, rates, … : nothing for stays
        try:
            with transaction.atomic():
                event = PmsEvent.objects.create(
                    connection=connection,
                    event_key=hint.event_key[:200],
                    kind=hint.kind[:100],
                    reservation_remote_id=hint.reservation_id[:128],
                )
        except IntegrityError:
            continue  # a duplicate delivery: processed once
        transaction.on_commit(lambda pk=event.pk: pms_event_process.delay(pk))
    return HttpResponse("ok", content_type="text/plain")
