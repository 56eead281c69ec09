"""/api/v1/: the REST API's routes, its OpenAPI schema and the docs page (local static files)."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny
from rest_framework.routers import DefaultRouter

from integrations.api import LockConnectionViewSet, LockViewSet, MatchViewSet
from messaging.api import MessageRuleViewSet
from properties.api import PropertyViewSet
from reservations.api import ReservationViewSet
from reservations.feed_api import ICalFeedViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("properties", PropertyViewSet, basename="property")
router.register("lock-connections", LockConnectionViewSet, basename="lock-connection")
router.register("locks", LockViewSet, basename="lock")
router.register("matches", MatchViewSet, basename="match")
router.register("reservations", ReservationViewSet, basename="reservation")
router.register("ical-feeds", ICalFeedViewSet, basename="ical-feed")
router.register("message-rules", MessageRuleViewSet, basename="message-rule")

urlpatterns = [
    path(
        "schema/",
        SpectacularAPIView.as_view(
            authentication_classes=[], permission_classes=[AllowAny], throttle_classes=[]
        ),
        name="api-schema",
    ),
    path(
        "docs/",
        SpectacularSwaggerView.as_view(
            url_name="api-schema",
            authentication_classes=[],
            permission_classes=[AllowAny],
            throttle_classes=[],
        ),
        name="api-docs",
    ),
    path("", include(router.urls)),
]
