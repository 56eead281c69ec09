from django.apps import AppConfig


class AccesscodesConfig(AppConfig):
    name = "accesscodes"
    verbose_name = "Access codes"
