from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "One Door"

    def ready(self) -> None:
        from celery import signals

        from portal import metrics, request_context
        from portal.demo_eid import checks  # noqa: F401  (registers the deploy checks)

        # Tasks carry the request id that sent them (portal/request_context.py) and are counted
        # by outcome (portal/metrics.py), in the web process and in every worker.
        signals.before_task_publish.connect(request_context.add_request_id_header, weak=False)
        signals.task_prerun.connect(request_context.enter_task, weak=False)
        signals.task_postrun.connect(request_context.leave_task, weak=False)
        signals.task_postrun.connect(metrics.count_task, weak=False)
