"""The append-only application events (DESIGN §5.8): one per state change.

A work item's status change writes an event naming the work item; an application's status
change writes an event without one. So the citizen's timeline and the audit trail are two
views of the same rows, and each row says who, what, when, from → to and why.

Events of one application form a hash chain (each row's hash covers the previous row's
hash), written under the application's row lock, so a removed or edited row is evident.
"""

import hashlib
import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from accounts.models import User
from workflows.models import Application, ApplicationEvent, WorkItem
from workflows.progress import hooks as progress_hooks


def _digest(previous_hash: str, content: dict[str, Any]) -> str:
    body = json.dumps(content, sort_keys=True, cls=DjangoJSONEncoder, ensure_ascii=False)
    return hashlib.sha256(f"{previous_hash}\n{body}".encode()).hexdigest()


def event_record(
    *,
    application: Application,
    kind: str,
    from_status: str = "",
    to_status: str = "",
    actor: User | None = None,
    work_item: WorkItem | None = None,
    reason: str = "",
    payload: dict[str, Any] | None = None,
) -> ApplicationEvent:
    """Writes one event. Call under the application's row lock (inside its transaction)."""
    previous_hash = (
        ApplicationEvent.objects.filter(application=application).order_by("-id").values_list("hash", flat=True).first()
        or ""
    )
    payload = payload or {}
    content = {
        "application": application.pk,
        "work_item": work_item.pk if work_item else None,
        "actor": actor.pk if actor else None,
        "kind": kind,
        "from": from_status,
        "to": to_status,
        "reason": reason,
        "payload": payload,
    }
    event = ApplicationEvent.objects.create(
        application=application,
        work_item=work_item,
        actor=actor,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        reason=reason,
        payload=payload,
        previous_hash=previous_hash,
        hash=_digest(previous_hash, content),
    )
    # Notifications (receipt, correction, decision, deadlines…) in the same transaction.
    progress_hooks.on_event(event)
    return event
