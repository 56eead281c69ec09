"""REST API for iCal feeds: the channel calendar exports locksync imports (SPEC F1-F4)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from locksync.api import HostScopedMixin, StrictBooleanField, StrictModelSerializer
from properties.api import HostPropertyField
from reservations.ical import (
    ical_feed_create,
    ical_feed_delete,
    ical_feed_drop_confirm,
    ical_feed_update,
)
from reservations.models import ICalFeed


class ICalFeedSerializer(StrictModelSerializer):
    property = HostPropertyField()
    enabled = StrictBooleanField(required=False, default=True)

    class Meta:
        model = ICalFeed
        fields = [
            "id",
            "property",
            "url",
            "source",
            "enabled",
            "last_fetched_at",
            "last_ok_at",
            "last_error",
            "drop_held_at",
            "created_at",
        ]
        read_only_fields = [
            "id",
            "last_fetched_at",
            "last_ok_at",
            "last_error",
            "drop_held_at",
            "created_at",
        ]


class ICalFeedViewSet(
    HostScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Channel calendar exports imported every 15 minutes. Deleting a feed keeps its stays."""

    serializer_class = ICalFeedSerializer
    queryset = ICalFeed.objects.none()

    def get_queryset(self):
        return ICalFeed.objects.filter(property__host=self.host).select_related("property")

    def perform_create(self, serializer):
        serializer.instance = ical_feed_create(**serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = ical_feed_update(
            feed=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance):
        ical_feed_delete(feed=instance)

    @extend_schema(
        request=None,
        responses=inline_serializer(
            "FeedDropConfirmed", fields={"cancelled": serializers.IntegerField()}
        ),
    )
    @action(detail=True, methods=["post"], url_path="confirm-drop")
    def confirm_drop(self, request, pk=None):
        """Cancel the upcoming stays the feed no longer lists, after a held mass drop (F3)."""
        feed = self.get_object()
        return Response({"cancelled": ical_feed_drop_confirm(feed=feed)})
