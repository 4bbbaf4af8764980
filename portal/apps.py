from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "One Door"

    def ready(self) -> None:
        from portal.demo_eid import checks  # noqa: F401  (registers the deploy checks)
