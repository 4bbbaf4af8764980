"""The department workbench pages: queue, work item, decisions, supervisor pages.

Thin: parse, call one selector or action (the engine's for transitions), render. Anyone who is
not staff of a department gets 404 on every URL here; a clerk gets 404 for another
department's work."""

from workflows.workbench.views.item import (
    assign,
    correction,
    decide,
    document,
    document_preview,
    document_preview_image,
    item_detail,
    note,
    reveal,
    revoke,
    transfer,
)
from workflows.workbench.views.queue import bulk, claim, queue, release
from workflows.workbench.views.staff import staff_only
from workflows.workbench.views.supervision import (
    INCIDENT_ACTIONS,
    TRANSFER_DECISIONS,
    incident,
    supervision,
    transfer_decide,
)

__all__ = [
    "INCIDENT_ACTIONS",
    "TRANSFER_DECISIONS",
    "assign",
    "bulk",
    "claim",
    "correction",
    "decide",
    "document",
    "document_preview",
    "document_preview_image",
    "incident",
    "item_detail",
    "note",
    "queue",
    "release",
    "reveal",
    "revoke",
    "staff_only",
    "supervision",
    "transfer",
    "transfer_decide",
]
