"""REST API for reservations: idempotent upsert by the host's external id, alter, move, cancel,
and the guest's access (PIN, window, per-lock state).

Dates and times: check-in and checkout are given as the property's wall-clock date and time
(`check_in_date` + optional `check_in_time`, defaulting to the property's check-in time; the
same for checkout) and converted with zoneinfo, so a 16:00 check-in is 16:00 local on either
side of a DST change (SPEC W1). A wall-clock time that does not exist (skipped by a spring
DST change) is read with the offset before the change, i.e. it lands one hour later. Every
instant in responses is in the property's zone with its UTC offset.
"""

from __future__ import annotations

from datetime import date, datetime, time

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from guests.services import arrival_json, stay_language_set
from guests.timeline import stay_timeline
from locksync.api import (
    HostScopedMixin,
    KnownFieldsMixin,
    StrictCharField,
    StrictChoiceField,
    StrictEmailField,
    WallClockTimeField,
    check_guest_phone,
)
from messaging.api import MessageSerializer, messages_for
from properties.api import HostPropertyField
from properties.models import Property
from reservations import selectors
from reservations.api_access import (
    AccessSerializer,
    ArrivalSerializer,
    TimelineStepSerializer,
    local_iso,
    reservation_access,
)
from reservations.models import GUEST_LANGUAGES, Reservation
from reservations.previews import stays_overlapping
from reservations.services import (
    reservation_alter,
    reservation_cancel,
    reservation_move,
    reservation_upsert,
)

# Dates outside this range are typing mistakes; rejecting them also keeps every conversion
# to UTC inside what datetime can represent.
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100


def local_instant(*, property: Property, day: date, at: time) -> datetime:
    """Return the instant of a wall-clock date and time in the property's zone."""
    return datetime.combine(day, at.replace(tzinfo=None), tzinfo=property.zone)


LANGUAGE_HELP = "The guest's language for their page and messages (SPEC K4); empty: browser's."


def validate_year(value: date) -> date:
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise serializers.ValidationError(
            f"Enter a date between {EARLIEST_YEAR} and {LATEST_YEAR}."
        )
    return value


WITH_WARNINGS = {"warnings": True}


class ReservationSerializer(serializers.ModelSerializer):
    arrival = serializers.SerializerMethodField()
    language = StrictChoiceField(
        choices=GUEST_LANGUAGES, allow_blank=True, read_only=True, help_text=LANGUAGE_HELP
    )
    check_in = serializers.SerializerMethodField()
    check_out = serializers.SerializerMethodField()
    time_zone = serializers.CharField(source="property.time_zone", read_only=True)
    warnings = serializers.SerializerMethodField()
    # "" when the host gave none: declared as text, since "" is no email address.
    guest_email = serializers.CharField(read_only=True, help_text="The guest's email, or empty.")

    class Meta:
        model = Reservation
        fields = [
            "id",
            "external_id",
            "property",
            "status",
            "source",
            "guest_name",
            "guest_phone",
            "guest_phone_e164",
            "guest_phone_valid",
            "guest_phone_last_digits",
            "guest_email",
            "reservation_code",
            "check_in",
            "check_out",
            "time_zone",
            "cancelled_at",
            "language",
            "arrival",
            "created_at",
            "updated_at",
            "warnings",
        ]
        read_only_fields = fields

    @extend_schema_field(ArrivalSerializer(allow_null=True))
    def get_arrival(self, obj: Reservation) -> dict | None:
        return arrival_json(reservation=obj)

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_check_in(self, obj: Reservation) -> str | None:
        return local_iso(property=obj.property, moment=obj.check_in)

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_check_out(self, obj: Reservation) -> str | None:
        return local_iso(property=obj.property, moment=obj.check_out)

    @extend_schema_field(
        {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "code": {"type": "string", "enum": ["overlap"]},
                    "message": {"type": "string"},
                    "reservation": {"type": "string", "description": "its external_id"},
                },
            },
        }
    )
    def get_warnings(self, obj: Reservation) -> list[dict]:
        """Warnings that are not refusals, given on writes: an overlap with another accepted
        stay at the property (channel managers sometimes mean it). Empty on reads."""
        if not self.context.get("warnings") or obj.status != Reservation.Status.ACCEPTED:
            return []
        overlapping = stays_overlapping(
            property=obj.property, check_in=obj.check_in, check_out=obj.check_out, exclude_pk=obj.pk
        )[:20]
        return [
            {
                "code": "overlap",
                "message": (
                    f"Overlaps the stay of {stay.guest_name} "
                    f"({local_iso(property=obj.property, moment=stay.check_in)} – "
                    f"{local_iso(property=obj.property, moment=stay.check_out)})."
                ),
                "reservation": stay.external_id,
            }
            for stay in overlapping
        ]


class ReservationWriteSerializer(KnownFieldsMixin, serializers.Serializer):
    """A whole reservation, as sent by PUT (or POST with external_id)."""

    property = HostPropertyField()
    guest_name = StrictCharField(max_length=200)
    guest_phone = StrictCharField(max_length=64, required=False, allow_blank=True)
    guest_email = StrictEmailField(required=False, allow_blank=True)
    reservation_code = StrictCharField(max_length=64, required=False, allow_blank=True)
    check_in_date = serializers.DateField(validators=[validate_year])
    check_in_time = WallClockTimeField(
        required=False, help_text="Property-local; defaults to the property's check-in time."
    )
    check_out_date = serializers.DateField(validators=[validate_year])
    check_out_time = WallClockTimeField(
        required=False, help_text="Property-local; defaults to the property's checkout time."
    )
    status = StrictChoiceField(
        choices=Reservation.Status.choices, default=Reservation.Status.ACCEPTED
    )
    language = StrictChoiceField(
        choices=GUEST_LANGUAGES, required=False, allow_blank=True, help_text=LANGUAGE_HELP
    )

    def validate(self, attrs):
        prop: Property = attrs["property"]
        attrs["check_in"] = local_instant(
            property=prop,
            day=attrs.pop("check_in_date"),
            at=attrs.pop("check_in_time", prop.checkin_time),
        )
        attrs["check_out"] = local_instant(
            property=prop,
            day=attrs.pop("check_out_date"),
            at=attrs.pop("check_out_time", prop.checkout_time),
        )
        if attrs["check_out"] <= attrs["check_in"]:
            raise serializers.ValidationError(
                {"check_out_date": ["Checkout must be after check-in."]}
            )
        check_guest_phone(attrs, time_zone=prop.time_zone)
        return attrs


class ReservationCreateSerializer(ReservationWriteSerializer):
    external_id = StrictCharField(
        max_length=200, help_text="Your id for the booking; sending it again updates it."
    )


class ReservationAlterSerializer(KnownFieldsMixin, serializers.Serializer):
    """Only the fields sent change; a date without a time keeps the current local time."""

    unknown_field_hints = {
        "status": "Not changed here: cancel with POST …/cancel/, accept again with PUT.",
        "property": "Not changed here: move the stay with POST …/move/.",
    }

    guest_name = StrictCharField(max_length=200, required=False)
    guest_phone = StrictCharField(max_length=64, required=False, allow_blank=True)
    guest_email = StrictEmailField(required=False, allow_blank=True)
    check_in_date = serializers.DateField(required=False, validators=[validate_year])
    check_in_time = WallClockTimeField(required=False)
    check_out_date = serializers.DateField(required=False, validators=[validate_year])
    check_out_time = WallClockTimeField(required=False)
    language = StrictChoiceField(
        choices=GUEST_LANGUAGES, required=False, allow_blank=True, help_text=LANGUAGE_HELP
    )

    def _moved(self, attrs, *, prefix: str, current: datetime) -> datetime | None:
        day, at = attrs.pop(f"{prefix}_date", None), attrs.pop(f"{prefix}_time", None)
        if day is None and at is None:
            return None
        prop: Property = self.instance.property
        local = current.astimezone(prop.zone)
        return local_instant(property=prop, day=day or local.date(), at=at or local.time())

    def validate(self, attrs):
        reservation: Reservation = self.instance
        check_in = self._moved(attrs, prefix="check_in", current=reservation.check_in)
        check_out = self._moved(attrs, prefix="check_out", current=reservation.check_out)
        if (check_in or check_out) and (check_out or reservation.check_out) <= (
            check_in or reservation.check_in
        ):
            raise serializers.ValidationError(
                {"check_out_date": ["Checkout must be after check-in."]}
            )
        if check_in:
            attrs["check_in"] = check_in
        if check_out:
            attrs["check_out"] = check_out
        check_guest_phone(attrs, time_zone=reservation.property.time_zone)
        return attrs


class ReservationMoveSerializer(KnownFieldsMixin, serializers.Serializer):
    property = HostPropertyField()


class ReservationViewSet(
    HostScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """The host's reservations, addressed by the host's own external id."""

    serializer_class = ReservationSerializer
    queryset = Reservation.objects.none()
    lookup_field = "external_id"
    # No NUL or control characters: PostgreSQL text cannot hold NUL, so such an id is a 404.
    lookup_value_regex = r"[^/\x00-\x1f\x7f]+"

    def get_queryset(self):
        return selectors.reservation_list(host=self.host)

    def _upsert(self, *, external_id: str, data: dict) -> Response:
        reservation, created = reservation_upsert(
            host=self.host,
            external_id=external_id,
            property=data["property"],
            guest_name=data["guest_name"],
            check_in=data["check_in"],
            check_out=data["check_out"],
            status=data["status"],
            reservation_code=data.get("reservation_code", ""),
            guest_phone=data.get("guest_phone", ""),
            guest_email=data.get("guest_email", ""),
            source=Reservation.Source.API,
        )
        if "language" in data:
            stay_language_set(reservation=reservation, language=data["language"])
        reservation.refresh_from_db()
        return Response(
            ReservationSerializer(reservation, context=WITH_WARNINGS).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(
        request=ReservationCreateSerializer,
        responses={201: ReservationSerializer, 200: ReservationSerializer},
    )
    def create(self, request):
        """Create a reservation, or update the one with the same external_id (idempotent)."""
        serializer = ReservationCreateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        return self._upsert(external_id=data.pop("external_id"), data=data)

    @extend_schema(
        request=ReservationWriteSerializer,
        responses={201: ReservationSerializer, 200: ReservationSerializer},
    )
    def update(self, request, external_id=None):
        """Create or replace the reservation with this external id (idempotent)."""
        if len(external_id) > 200:
            raise serializers.ValidationError({"external_id": ["At most 200 characters."]})
        serializer = ReservationWriteSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        return self._upsert(external_id=external_id, data=dict(serializer.validated_data))

    @extend_schema(request=ReservationAlterSerializer, responses=ReservationSerializer)
    def partial_update(self, request, external_id=None):
        """Change dates, times or guest details; the PIN stays (SPEC C1)."""
        reservation = self.get_object()
        serializer = ReservationAlterSerializer(
            reservation, data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        if "language" in changes:
            stay_language_set(reservation=reservation, language=changes.pop("language"))
        if changes:
            reservation_alter(reservation=reservation, **changes)
        reservation.refresh_from_db()
        return Response(ReservationSerializer(reservation, context=WITH_WARNINGS).data)

    @extend_schema(request=ReservationMoveSerializer, responses=ReservationSerializer)
    @action(detail=True, methods=["post"])
    def move(self, request, external_id=None):
        """Move the stay to another of the host's properties (SPEC C2)."""
        reservation = self.get_object()
        serializer = ReservationMoveSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        if serializer.validated_data["property"] != reservation.property:
            reservation_move(
                reservation=reservation, property=serializer.validated_data["property"]
            )
        reservation.refresh_from_db()
        return Response(ReservationSerializer(reservation, context=WITH_WARNINGS).data)

    @extend_schema(request=None, responses=ReservationSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, external_id=None):
        """Cancel the stay: codes stop working now and leave the locks 24 h later (SPEC C3).

        A lock that can never remove a code (igloohome algoPIN) keeps it working until its end;
        the access endpoint says until when (`works_until`)."""
        reservation = self.get_object()
        if reservation.status != Reservation.Status.CANCELLED:
            reservation_cancel(reservation=reservation)
        reservation.refresh_from_db()
        return Response(ReservationSerializer(reservation).data)

    @extend_schema(responses=MessageSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def messages(self, request, external_id=None):
        """The reservation's conversation: every message with its delivery state (SPEC G6)."""
        reservation = self.get_object()
        return Response(MessageSerializer(messages_for(reservation), many=True).data)

    @extend_schema(responses=TimelineStepSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def timeline(self, request, external_id=None):
        """The stay's plan: which PIN goes to which lock when, when it works, which messages
        carry it, the pre-arrival checks, when it is removed (issue #25)."""
        reservation = self.get_object()
        return Response([step.as_dict() for step in stay_timeline(reservation=reservation)])

    @extend_schema(responses=AccessSerializer)
    @action(detail=True, methods=["get"])
    def access(self, request, external_id=None):
        """The guest's PIN, access window and each lock's state, in property-local time."""
        reservation = self.get_object()
        return Response(reservation_access(reservation=reservation))
