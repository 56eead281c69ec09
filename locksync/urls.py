"""URL configuration."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("locksync.api_urls")),
]

handler404 = "locksync.api.api_not_found"
