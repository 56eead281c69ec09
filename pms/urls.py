from django.urls import path

from pms.webhooks import pms_webhook

urlpatterns = [
    path("<int:connection_id>/<str:secret>/", pms_webhook, name="pms-webhook"),
]
