from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = _("Payments")

    def ready(self) -> None:
        # Registers the tasks in this process too, so the embedded mode and the outbox can run
        # them (Celery's autodiscovery only runs when a worker starts).
        import payments.tasks  # noqa: F401
