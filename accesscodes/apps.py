from django.apps import AppConfig


class AccesscodesConfig(AppConfig):
    name = "accesscodes"
    verbose_name = "Access codes"

    def ready(self) -> None:
        from accesscodes import receivers  # noqa: F401
