"""What the soak proves once the work has drained, read straight from the soak's database:
nothing accepted was lost, nothing was done twice, every application ended where it should,
the outbox is empty and no incident is left unexplained."""

from typing import Any

from django.db.models import Count, Q

# Failures of an automatic step that our own faults explain: the database or the broker went away.
INFRASTRUCTURE_ERRORS = (
    "OperationalError",
    "InterfaceError",
    "ConnectionError",
    "connection",
    "server closed",
    "terminating connection",
    "the database system is",
    "Connection refused",
    "WorkerLostError",
    "TimeLimitExceeded",
)


def _dupes(queryset, *fields: str) -> list[dict[str, Any]]:
    return list(queryset.values(*fields).annotate(n=Count("id")).filter(n__gt=1).order_by()[:20])


def progress() -> dict[str, int]:
    """How far the drain is: unfinished applications, live review items, unconfirmed outbox rows."""
    from workflows.models import Application, Incident, OutboxMessage, WorkItem

    return {
        "unfinished": Application.objects.exclude(status__in=Application.FINISHED).count(),
        "live_items": WorkItem.objects.filter(
            status__in=[WorkItem.Status.OPEN, WorkItem.Status.CLAIMED, WorkItem.Status.WAITING]
        ).count(),
        "outbox_unconfirmed": OutboxMessage.objects.filter(confirmed_at__isnull=True).count(),
        "incidents_open": Incident.objects.filter(status=Incident.Status.OPEN).count(),
    }


def explained(error: str) -> bool:
    return any(marker.lower() in error.lower() for marker in INFRASTRUCTURE_ERRORS)


def incidents_retry(supervisor) -> dict[str, int]:
    """A supervisor retries every open incident whose error our faults explain (what the
    supervision page offers); the others stay open and fail the soak."""
    from workflows.engine.actions import TransitionRefused, incident_retry
    from workflows.models import Incident

    retried = unexplained = 0
    for incident in Incident.objects.filter(status=Incident.Status.OPEN):
        if not explained(incident.error):
            unexplained += 1
            continue
        try:
            incident_retry(incident_id=incident.pk, actor=supervisor, note="Soak: infrastructure fault injected.")
            retried += 1
        except TransitionRefused:
            pass
    return {"retried": retried, "unexplained_open": unexplained}


def verify(accepted: list[dict[str, Any]]) -> dict[str, Any]:
    from documents.models import Certificate
    from workflows.models import (
        Application,
        ApplicationEvent,
        ApplicationGroup,
        Incident,
        Notification,
        OutboxMessage,
        TaxpayerNumber,
        WorkItem,
    )

    # 1. Every submission that got a success response exists, as the API said.
    groups = {
        g["pk"]: g
        for g in ApplicationGroup.objects.filter(pk__in=[a["group_id"] for a in accepted]).values(
            "pk", "idempotency_key", "number", "submitted_at"
        )
    }
    apps_per_group = dict(
        Application.objects.filter(group_id__in=list(groups)).values_list("group_id").annotate(n=Count("id"))
    )
    lost = []
    for submission in accepted:
        group = groups.get(submission["group_id"])
        if (
            group is None
            or group["submitted_at"] is None
            or group["idempotency_key"] != submission["key"]
            or group["number"] != submission["number"]
            or apps_per_group.get(submission["group_id"], 0) != 1
        ):
            lost.append(submission)

    # 2. Nothing done twice.
    once_events = Q(kind__in=["routing_started", "application_approved", "application_rejected"])
    duplicates = {
        "submissions": _dupes(ApplicationGroup.objects.exclude(idempotency_key=None), "applicant", "idempotency_key"),
        "applications": _dupes(Application.objects.all(), "group", "service"),
        "work_items": _dupes(WorkItem.objects.all(), "application", "step_key", "round"),
        "steps_done_twice": _dupes(WorkItem.objects.filter(status=WorkItem.Status.DONE), "application", "step_key"),
        "events": _dupes(ApplicationEvent.objects.filter(once_events), "application", "kind")
        + _dupes(ApplicationEvent.objects.exclude(work_item=None), "work_item", "kind", "from_status", "to_status"),
        "taxpayer_numbers": _dupes(TaxpayerNumber.objects.all(), "number")
        + _dupes(TaxpayerNumber.objects.all(), "application"),
        "notifications": _dupes(
            Notification.objects.filter(event__in=["receipt", "decision", "certificate_issued", "rating_invitation"]),
            "user",
            "application",
            "event",
        ),
        "certificates": _dupes(Certificate.objects.all(), "application_number", "document_type"),
    }

    # 3. Every application reached a consistent state (the clerks approve everything).
    inconsistent = []
    certified = set(Certificate.objects.values_list("application_number", flat=True))
    taxed = set(TaxpayerNumber.objects.values_list("application_id", flat=True))
    live = set(
        WorkItem.objects.filter(
            status__in=[WorkItem.Status.OPEN, WorkItem.Status.CLAIMED, WorkItem.Status.WAITING, WorkItem.Status.FAILED]
        ).values_list("application_id", flat=True)
    )
    for application in Application.objects.select_related("service").only("pk", "number", "status", "service"):
        problems = []
        if application.status != Application.Status.APPROVED:
            problems.append(f"status {application.status}")
        if application.pk in live:
            problems.append("work left open")
        if application.status == Application.Status.APPROVED and application.number not in certified:
            problems.append("approved without its certificate")
        if application.service.code == "tax-registration" and application.pk not in taxed:
            problems.append("no taxpayer number")
        if problems:
            inconsistent.append({"number": application.number, "problems": problems})

    incidents = Incident.objects.all()
    return {
        "applications": Application.objects.count(),
        "lost": lost,
        "duplicated": {kind: rows for kind, rows in duplicates.items() if rows},
        "inconsistent": inconsistent[:50],
        "inconsistent_count": len(inconsistent),
        "outbox_unconfirmed": OutboxMessage.objects.filter(confirmed_at__isnull=True).count(),
        "outbox_total": OutboxMessage.objects.count(),
        "incidents": {
            "opened": incidents.count(),
            "open": incidents.filter(status=Incident.Status.OPEN).count(),
            "unexplained": [{"id": i.pk, "error": i.error[:300]} for i in incidents if not explained(i.error)],
        },
        "certificates": Certificate.objects.count(),
        "taxpayer_numbers": TaxpayerNumber.objects.count(),
    }
