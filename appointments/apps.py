from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AppointmentsConfig(AppConfig):
    name = "appointments"
    verbose_name = _("Appointments")

    def ready(self) -> None:
        # The progress page asks what an appointment step waits for (workflows never imports us).
        import appointments.tasks  # noqa: F401  (registers the reminder sweep in this process)
        from appointments.waits import appointment_waits
        from workflows.engine.waits import wait_describer_register
        from workflows.models import WorkItem

        wait_describer_register(WorkItem.Kind.APPOINTMENT, appointment_waits)
