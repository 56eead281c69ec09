"""REST API for the host's properties."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import mixins, serializers, viewsets

from locksync.api import (
    HostScopedMixin,
    StrictCharField,
    StrictModelSerializer,
    StrictPrimaryKeyRelatedField,
    WallClockTimeField,
)
from properties import selectors, services
from properties.models import Property, validate_time_zone


@extend_schema_field(OpenApiTypes.INT)
class HostPropertyField(StrictPrimaryKeyRelatedField):
    """A property id of the caller's host; any other id is 'does not exist'."""

    def get_queryset(self):
        return selectors.property_list(host=self.context["view"].host)


class PropertySerializer(StrictModelSerializer):
    time_zone = StrictCharField(
        max_length=64,
        validators=[validate_time_zone],
        help_text="IANA time zone, e.g. Europe/Lisbon; check-in/checkout are wall-clock here.",
    )
    checkin_time = WallClockTimeField(required=False, help_text="Default check-in, local.")
    checkout_time = WallClockTimeField(required=False, help_text="Default checkout, local.")
    matched_lock_ids = serializers.SerializerMethodField()

    class Meta:
        model = Property
        fields = [
            "id",
            "name",
            "address",
            "time_zone",
            "checkin_time",
            "checkout_time",
            "matched_lock_ids",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def get_matched_lock_ids(self, obj: Property) -> list[int]:
        return sorted(match.lock_id for match in obj.matches.all())


class PropertyViewSet(
    HostScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """The host's properties (rentals): list, read, create, change."""

    serializer_class = PropertySerializer
    queryset = Property.objects.none()  # for the schema; requests use get_queryset

    def get_queryset(self):
        return selectors.property_list(host=self.host).prefetch_related("matches")

    def perform_create(self, serializer):
        serializer.instance = services.property_create(host=self.host, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.property_update(
            property=serializer.instance, **serializer.validated_data
        )
