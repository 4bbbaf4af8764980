from celery import shared_task

from workflows.growth.partitions import audit_partitions_ensure
from workflows.growth.pruning import growth_prune


@shared_task(name="workflows.growth.prune")
def prune() -> dict[str, int | bool]:
    result = growth_prune()
    return {
        "outbox": result.outbox,
        "deliveries": result.deliveries,
        "notifications": result.notifications,
        "complete": result.complete,
    }


@shared_task(name="workflows.growth.partitions_ensure")
def partitions_ensure() -> dict[str, list[str]]:
    report = audit_partitions_ensure()
    return {"created": report.created, "failed": report.failed}
