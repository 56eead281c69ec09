from django.urls import path

from guests import views

urlpatterns = [
    path("g/<str:token>/", views.guest_page_view, name="guest_page"),
    path("g/<str:token>/locks/<int:lock_id>/help/", views.guest_help_view, name="guest_help"),
    path("settings/guests/", views.guest_settings_view, name="guest_settings"),
    path(
        "settings/guests/properties/<int:pk>/notes/",
        views.checkin_notes_view,
        name="guest_checkin_notes",
    ),
    path("inbox/<int:pk>/guest-page/", views.guest_page_open_view, name="guest_page_open"),
    path(
        "inbox/<int:pk>/guest-links/revoke/",
        views.guest_links_revoke_view,
        name="guest_links_revoke",
    ),
]
