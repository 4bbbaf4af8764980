"""Applications and the routing engine's state (DESIGN §4–§5), one module per concept.

The database is the truth; the broker is a doorbell. Every state change happens in one
transaction that locks the application row and writes work items, timers, events and
outbox rows together. Everything is re-exported here: `from workflows.models import WorkItem`.
"""

from workflows.models.applications import Application, ApplicationGroup, GroupDocument, NumberSequence, TaxpayerNumber
from workflows.models.audit import (
    AppendOnlyError,
    AppendOnlyQuerySet,
    ApplicationEvent,
    AuditChainedModel,
    ChainHashField,
    DataAccessRecord,
    audit_hash,
    audit_text,
)
from workflows.models.calendar import CalendarDay, CalendarYear, ClockStop
from workflows.models.notifications import Notification, NotificationDelivery, NotificationPreference
from workflows.models.outbox import OutboxMessage
from workflows.models.ratings import Rating, RatingFollowUp
from workflows.models.work import Incident, Note, Timer, TransferRequest, WorkItem

__all__ = [
    "AppendOnlyError",
    "AppendOnlyQuerySet",
    "Application",
    "ApplicationEvent",
    "ApplicationGroup",
    "AuditChainedModel",
    "CalendarDay",
    "CalendarYear",
    "ChainHashField",
    "ClockStop",
    "DataAccessRecord",
    "GroupDocument",
    "Incident",
    "Note",
    "Notification",
    "NotificationDelivery",
    "NotificationPreference",
    "NumberSequence",
    "OutboxMessage",
    "Rating",
    "RatingFollowUp",
    "TaxpayerNumber",
    "Timer",
    "TransferRequest",
    "WorkItem",
    "audit_hash",
    "audit_text",
]
