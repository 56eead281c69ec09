from django.apps import AppConfig


class GuestsConfig(AppConfig):
    name = "guests"
    verbose_name = "Guest pages, arrivals and pre-arrival checks"

    def ready(self) -> None:
        from guests import receivers  # noqa: F401
