"""Celery discovers `workflows.tasks`; importing each sub-package's tasks module registers its tasks."""

from workflows.apply import tasks as apply_tasks
from workflows.engine import tasks as engine_tasks
from workflows.growth import tasks as growth_tasks
from workflows.notifications import tasks as notification_tasks
from workflows.offers import tasks as offer_tasks
from workflows.privacy import tasks as privacy_tasks
from workflows.progress import tasks as progress_tasks
from workflows.transparency import tasks as transparency_tasks

__all__ = [
    "apply_tasks",
    "engine_tasks",
    "growth_tasks",
    "notification_tasks",
    "offer_tasks",
    "privacy_tasks",
    "progress_tasks",
    "transparency_tasks",
]
