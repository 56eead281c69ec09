from django.apps import AppConfig


class PmsConfig(AppConfig):
    name = "pms"
    verbose_name = "Property-management systems"
