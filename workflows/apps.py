from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkflowsConfig(AppConfig):
    name = "workflows"
    verbose_name = _("Applications and routing")

    def ready(self) -> None:
        # Department handlers register themselves in services.registry on import, so that
        # publish validation and the workers both see them.
        from workflows.engine import handlers

        handlers.load_extra_handler_modules()
        # The vault asks workflows where a document is used (documents never imports workflows).
        from documents.uses import uses_finder_register
        from workflows.apply.vault import AttachmentUses

        uses_finder_register(AttachmentUses())
        # Registers the tasks in this process too, so the embedded mode can run them in-process
        # (Celery's autodiscovery only runs when a worker starts).
        # The working-day calendar is cached per process: any change to it is announced.
        from django.db.models.signals import post_delete, post_save

        import workflows.tasks
        import workflows.transparency.checks  # noqa: F401  (deployment check of the signing key)
        from workflows.models import CalendarDay, CalendarYear, ClockStop
        from workflows.models.calendar import on_calendar_row_change

        for model in (CalendarDay, CalendarYear, ClockStop):
            for signal in (post_save, post_delete):
                signal.connect(on_calendar_row_change, sender=model, dispatch_uid=f"calendar-{model.__name__}-{signal}")
