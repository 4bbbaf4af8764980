"""Applications and the routing engine's state (DESIGN §4–§5), one module per concept.

The database is the truth; the broker is a doorbell. Every state change happens in one
transaction that locks the application row and writes work items, timers, events and
outbox rows together. Everything is re-exported here: `from workflows.models import WorkItem`.
"""

from workflows.models.applications import Application, ApplicationGroup, GroupDocument, NumberSequence, TaxpayerNumber
from workflows.models.audit import (
    AppendOnlyError,
    AppendOnlyModel,
    AppendOnlyQuerySet,
    ApplicationEvent,
    DataAccessRecord,
)
from workflows.models.calendar import CalendarDay, CalendarYear, ClockStop
from workflows.models.mandates import Mandate
from workflows.models.notifications import Notification, NotificationDelivery, NotificationPreference
from workflows.models.offers import Offer, OfferRecord
from workflows.models.outbox import OutboxMessage
from workflows.models.privacy import DataExport, ErasureRequest, RetentionRecord
from workflows.models.ratings import Rating, RatingFollowUp
from workflows.models.rollups import DashboardRollup, DashboardRollupState, LiveWorkCount, LiveWorkSnapshot
from workflows.models.transparency import Checkpoint, LogHead, LogLeaf, LogNode, LogPending, LogSource
from workflows.models.work import Incident, Note, Timer, TransferRequest, WorkItem

__all__ = [
    "AppendOnlyError",
    "AppendOnlyModel",
    "AppendOnlyQuerySet",
    "Application",
    "ApplicationEvent",
    "ApplicationGroup",
    "CalendarDay",
    "CalendarYear",
    "Checkpoint",
    "ClockStop",
    "DashboardRollup",
    "DashboardRollupState",
    "DataAccessRecord",
    "DataExport",
    "ErasureRequest",
    "GroupDocument",
    "Incident",
    "LiveWorkCount",
    "LiveWorkSnapshot",
    "LogHead",
    "LogLeaf",
    "LogNode",
    "LogPending",
    "LogSource",
    "Mandate",
    "Note",
    "Notification",
    "NotificationDelivery",
    "NotificationPreference",
    "NumberSequence",
    "Offer",
    "OfferRecord",
    "OutboxMessage",
    "Rating",
    "RatingFollowUp",
    "RetentionRecord",
    "TaxpayerNumber",
    "Timer",
    "TransferRequest",
    "WorkItem",
]
