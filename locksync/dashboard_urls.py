"""The host dashboard's pages. Every view behind an id answers 404 for another host's ids."""

from django.urls import path

from integrations import views as integration_views
from locksync.dashboard import favicon
from messaging import views as messaging_views
from pms import views as pms_views
from properties import views as property_views
from reservations import door_views, feed_views
from reservations import views as reservation_views

urlpatterns = [
    path("", property_views.home, name="home"),
    path("pms/", pms_views.pms_connection_list, name="pms_connection_list"),
    path("pms/new/<str:pms>/", pms_views.pms_connection_new, name="pms_connection_new"),
    path("pms/<int:pk>/", pms_views.pms_connection_detail, name="pms_connection_detail"),
    path("favicon.ico", favicon, name="favicon"),
    path("properties/", property_views.property_list_view, name="property_list"),
    path("properties/new/", property_views.property_new, name="property_new"),
    path("properties/<int:pk>/", property_views.property_detail, name="property_detail"),
    path(
        "properties/<int:pk>/calendar/",
        property_views.property_calendar,
        name="property_calendar",
    ),
    path("properties/<int:pk>/edit/", property_views.property_edit, name="property_edit"),
    path("properties/<int:pk>/match/", property_views.match_new, name="match_new"),
    path(
        "properties/<int:pk>/settings/",
        property_views.property_settings,
        name="property_settings",
    ),
    path(
        "properties/<int:pk>/settings/reset/",
        property_views.property_settings_reset,
        name="property_settings_reset",
    ),
    path("properties/<int:pk>/feeds/", property_views.ical_feed_new, name="ical_feed_new"),
    path("feeds/<int:pk>/remove/", property_views.ical_feed_remove, name="ical_feed_remove"),
    path(
        "feeds/<int:pk>/confirm-drop/",
        feed_views.ical_feed_confirm_drop,
        name="ical_feed_confirm_drop",
    ),
    path("matches/<int:pk>/remove/", property_views.match_remove, name="match_remove"),
    path("settings/", property_views.host_settings, name="host_settings"),
    path("locks/", integration_views.lock_list_view, name="lock_list"),
    path("locks/<int:pk>/", integration_views.lock_detail, name="lock_detail"),
    path("locks/<int:pk>/resync/", integration_views.lock_resync_view, name="lock_resync"),
    path("locks/<int:pk>/slots/", integration_views.lock_code_slots_view, name="lock_code_slots"),
    path("connections/", integration_views.connection_list_view, name="connection_list"),
    path("connections/new/", integration_views.connection_new, name="connection_new"),
    path("connections/<int:pk>/", integration_views.connection_detail, name="connection_detail"),
    path(
        "connections/<int:pk>/reconnect/",
        integration_views.connection_reconnect_view,
        name="connection_reconnect",
    ),
    path(
        "connections/<int:pk>/disconnect/",
        integration_views.connection_disconnect_view,
        name="connection_disconnect",
    ),
    path(
        "connections/<int:pk>/refresh/",
        integration_views.connection_refresh,
        name="connection_refresh",
    ),
    path("reservations/", reservation_views.reservation_list_view, name="reservation_list"),
    path("reservations/new/", reservation_views.reservation_new, name="reservation_new"),
    path("reservations/<int:pk>/", reservation_views.reservation_detail, name="reservation_detail"),
    path(
        "reservations/<int:pk>/edit/", reservation_views.reservation_edit, name="reservation_edit"
    ),
    path(
        "reservations/<int:pk>/cancel/",
        reservation_views.reservation_cancel_view,
        name="reservation_cancel",
    ),
    path(
        "reservations/<int:pk>/simulate-entry/",
        door_views.reservation_simulate_entry,
        name="reservation_simulate_entry",
    ),
    path("inbox/", reservation_views.inbox, name="inbox"),
    path("inbox/<int:pk>/", reservation_views.conversation, name="conversation"),
    path("inbox/<int:pk>/access/", reservation_views.access_panel, name="access_panel"),
    path(
        "inbox/<int:pk>/locks/<int:lock_pk>/resync/",
        reservation_views.conversation_lock_resync,
        name="conversation_lock_resync",
    ),
    path("codes/<int:pk>/retry/", reservation_views.lock_code_retry, name="lock_code_retry"),
    path("alerts/", messaging_views.alert_list, name="alert_list"),
    path("alerts/<int:pk>/resolve/", messaging_views.alert_resolve, name="alert_resolve"),
    path("rules/", messaging_views.rule_list, name="rule_list"),
    path("rules/new/", messaging_views.rule_new, name="rule_new"),
    path("rules/preview/", messaging_views.rule_preview, name="rule_preview"),
    path("rules/<int:pk>/", messaging_views.rule_detail, name="rule_detail"),
    path("rules/<int:pk>/edit/", messaging_views.rule_edit, name="rule_edit"),
    path(
        "rules/<int:pk>/send-skipped/",
        messaging_views.rule_send_skipped,
        name="rule_send_skipped",
    ),
    path("settings/twilio/", messaging_views.twilio_account, name="twilio_account"),
]
