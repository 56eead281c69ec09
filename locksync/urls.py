"""URL configuration."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from health_check.views import HealthCheckView

from locksync.health import HEALTH_CHECKS
from locksync.metrics import metrics_view
from properties.views import signup

urlpatterns = [
    path("", include("locksync.dashboard_urls")),
    path("accounts/signup/", signup, name="signup"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "accounts/password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("admin/", admin.site.urls),
    path("api/v1/", include("locksync.api_urls")),
    path("webhooks/pms/", include("pms.urls")),
    path("webhooks/twilio/", include("messaging.urls")),
    path("webhooks/", include("integrations.urls")),
    # For load balancers and compose healthchecks: 200 when the database, cache, broker and
    # beat are fine, 500 naming what is not.
    path("healthz", HealthCheckView.as_view(checks=HEALTH_CHECKS), name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("", include("guests.urls")),
]

handler404 = "locksync.api.api_not_found"
