"""REST API plumbing: token authentication, host scoping, per-token throttling, errors.

The viewsets live in each app's `api.py`; `locksync/api_urls.py` mounts them at /api/v1/.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models, transaction
from django.http import JsonResponse
from django.views.defaults import page_not_found
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, pagination, parsers, permissions, serializers, throttling
from rest_framework.request import Request
from rest_framework.response import Response

from properties.models import ApiToken, Host
from reservations.phones import phone_entry_error

logger = logging.getLogger(__name__)


@extend_schema_field(
    {"type": "string", "pattern": r"^\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?$", "example": "16:00"}
)
class WallClockTimeField(serializers.TimeField):
    """A wall-clock time of day without offset (it is read in the property's zone).

    Declared as a pattern, not OpenAPI's `time` format, which requires an offset.
    """

    def to_internal_value(self, data):
        # Django's parse_time drops an offset silently: "14:00Z" would be read as 14:00
        # local, putting the guest's window hours off (SPEC W1).
        if isinstance(data, str) and _has_offset(data):
            raise serializers.ValidationError(
                "Give the property's local time without an offset, e.g. 16:00: it is read "
                "in the property's time zone.",
                code="invalid",
            )
        return super().to_internal_value(data)


def _has_offset(text: str) -> bool:
    try:
        return datetime.time.fromisoformat(text.strip()).tzinfo is not None
    except ValueError:
        return False


class StrictBooleanField(serializers.BooleanField):
    """JSON true/false only: 0, 1, "yes" and the other spellings DRF accepts are refused."""

    def to_internal_value(self, data):
        if isinstance(data, bool):
            return data
        self.fail("invalid", input=data)


class SafeJSONParser(parsers.JSONParser):
    """DRF's JSON parser, answering 400 to a body nested too deep to decode (not a 500)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as error:
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from error


class StrictTextMixin:
    """Text fields take JSON strings only: 12345 for a name is a mistake, not "12345"."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            raise serializers.ValidationError("Enter text (a JSON string).", code="invalid")
        return super().to_internal_value(data)


class StrictCharField(StrictTextMixin, serializers.CharField):
    pass


class StrictEmailField(StrictTextMixin, serializers.EmailField):
    pass


class StrictURLField(StrictTextMixin, serializers.URLField):
    pass


class StrictChoiceField(StrictTextMixin, serializers.ChoiceField):
    pass


class StrictPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """An id is a JSON whole number: 1.5, true, "1" and [1] are refused, not read as 1."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(data)


class KnownFieldsMixin:
    """A body field the endpoint does not know is refused, not ignored, as unknown query
    parameters are: {"status": "cancelled"} sent to PATCH, or a typo such as "guest_phne",
    is a 400 naming the field rather than a 200 that changed nothing. Read-only fields a
    client echoes back are known, and ignored."""

    unknown_field_hints: dict[str, str] = {}

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {
                        name: [self.unknown_field_hints.get(name, "Unknown field.")]
                        for name in unknown
                    }
                )
        return super().to_internal_value(data)


class StrictModelSerializer(KnownFieldsMixin, serializers.ModelSerializer):
    """A ModelSerializer whose text fields take strings only and whose body has no unknown
    fields."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.EmailField: StrictEmailField,
        models.URLField: StrictURLField,
        models.SlugField: StrictCharField,
    }
    serializer_choice_field = StrictChoiceField


class IsHostMember(permissions.BasePermission):
    """Authenticated with an API token of a host."""

    def has_permission(self, request: Request, view) -> bool:
        return isinstance(request.auth, ApiToken)


class ApiTokenRateThrottle(throttling.SimpleRateThrottle):
    """Throttle per API token (not per user: one integration must not starve another).

    The rate is read from settings.API_THROTTLE_RATE on every request so it can be changed
    without reimporting DRF's settings.
    """

    scope = "api_token"

    def get_rate(self) -> str:
        return settings.API_THROTTLE_RATE

    def allow_request(self, request, view) -> bool:
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        try:
            return super().allow_request(request, view)
        except Exception as error:  # the cache is down: serve the request (issue #21)
            logger.warning("API throttle skipped, the cache failed: %r", error)
            return True

    def get_cache_key(self, request: Request, view) -> str | None:
        if not isinstance(request.auth, ApiToken):
            return None  # unauthenticated requests are refused before doing any work
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


def exception_handler(exc, context):
    """DRF's handler, plus Django ValidationErrors from services answered as 400 per field."""
    # Imported here: DRF imports this module's classes while rest_framework.views is loading.
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            detail = {
                ("non_field_errors" if field == "__all__" else field): messages
                for field, messages in exc.message_dict.items()
            }
        else:
            detail = {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail)
    elif type(exc).__name__ == "EngineError":  # accesscodes.services, imported late (cycles)
        response = Response({"detail": str(exc)}, status=409)
        return response
    return drf_exception_handler(exc, context)


class HostScopedMixin:
    """For viewsets: `self.host` is the caller's host; a request that fails stores nothing."""

    # DRF's Request; typed loosely, as the viewsets it mixes into declare it too.
    request: Any

    @property
    def host(self) -> Host | None:
        # None only while drf-spectacular inspects the view without a request.
        return getattr(getattr(self, "request", None) and self.request.auth, "host", None)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if getattr(self, "action", None) is None:
            return  # a method this route does not have: DRF answers 405
        # Unknown query parameters are refused rather than ignored, so a typo such as
        # ?ofset=100 is an error, not a silently different answer.
        allowed = set()
        if getattr(self, "action", None) == "list" and self.paginator is not None:
            allowed = {self.paginator.limit_query_param, self.paginator.offset_query_param}
        unknown = sorted(set(request.query_params) - allowed)
        if unknown:
            raise exceptions.ValidationError(
                {name or "(empty)": ["Unknown query parameter."] for name in unknown}
            )

    def dispatch(self, request, *args, **kwargs):
        # One transaction per request; any error answer (400, 404, 409…) rolls it back, so a
        # half-applied change is never left behind.
        with transaction.atomic():
            response = super().dispatch(request, *args, **kwargs)
            if response.status_code >= 400:
                transaction.set_rollback(True)
        return response


class StrictLimitOffsetPagination(pagination.LimitOffsetPagination):
    """limit/offset paging that answers 400 to a malformed value instead of ignoring it."""

    max_limit = 500
    bounds = {"limit": (1, 500), "offset": (0, None)}

    def _check(self, request: Request, name: str) -> None:
        raw = request.query_params.getlist(name)
        if not raw:
            return
        low, high = self.bounds[name]
        ok = len(raw) == 1 and raw[0].isascii() and raw[0].isdigit()
        ok = ok and int(raw[0]) >= low and (high is None or int(raw[0]) <= high)
        if not ok:
            upto = f" to {high}" if high else " or more"
            raise exceptions.ValidationError({name: [f"Enter one whole number, {low}{upto}."]})

    def paginate_queryset(self, queryset, request, view=None):
        self._check(request, self.limit_query_param)
        self._check(request, self.offset_query_param)
        return super().paginate_queryset(queryset, request, view)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            low, high = self.bounds[parameter["name"]]
            parameter["schema"]["minimum"] = low
            if high is not None:
                parameter["schema"]["maximum"] = high
        return parameters


def api_not_found(request, exception=None):
    """JSON 404 under /api/ (an id that matches no route), Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)


ERROR_SCHEMA = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
VALIDATION_ERROR_SCHEMA = {
    "type": "object",
    "description": (
        "A list of messages per field (`non_field_errors` for the whole request), or `detail` "
        "when the body could not be read at all."
    ),
    "additionalProperties": {
        "oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}]
    },
}


def document_error_responses(result, generator, request, public):
    """drf-spectacular hook: document the error answers every endpoint can give."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR_SCHEMA
    components["ValidationError"] = VALIDATION_ERROR_SCHEMA

    def body(name: str, description: str) -> dict:
        return {
            "description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
        }

    for path, operations in result.get("paths", {}).items():
        if path.endswith(("/schema/", "/docs/")):
            continue
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            responses.setdefault(
                "400", body("ValidationError", "Invalid input; nothing was stored.")
            )
            responses.setdefault("401", body("Error", "No API key, or a revoked one."))
            responses.setdefault("403", body("Error", "Not allowed."))
            responses.setdefault("404", body("Error", "Not found, or another host's."))
            responses.setdefault("405", body("Error", "Method not allowed."))
            responses.setdefault("406", body("Error", "Unsupported Accept header."))
            if method in ("post", "put", "patch", "delete"):
                responses.setdefault("409", body("Error", "Not possible in the current state."))
            if method in ("post", "put", "patch"):
                responses.setdefault("415", body("Error", "Unsupported content type."))
            responses.setdefault("429", body("Error", "Too many requests; see Retry-After."))
    return result


def check_guest_phone(attrs: dict, *, time_zone: str) -> None:
    """A guest number SMS and WhatsApp cannot use is refused where it is entered (SPEC G8)."""
    error = phone_entry_error(raw=attrs.get("guest_phone", ""), time_zone=time_zone)
    if error:
        raise serializers.ValidationError({"guest_phone": [error]})
