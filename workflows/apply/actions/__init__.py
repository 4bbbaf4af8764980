"""Writes for applying once: start a draft, save it field by field, attach documents, move a
stale draft to the current versions, submit idempotently, purge abandoned drafts.

Each action is keyword-only and runs in one transaction. The group row is locked
(`select_for_update`) for every change of a draft, so two tabs or a double click are
serialised by the database; outsiders get Http404 from the scoped selector."""

from workflows.apply.actions.drafts import (
    DraftSaveResult,
    draft_attach_document,
    draft_detach_document,
    draft_move_to_current,
    draft_save,
    draft_start,
    draft_upload_document,
)
from workflows.apply.actions.purge import PurgeResult, drafts_purge
from workflows.apply.actions.refusals import (
    APPLICATION_START_TASK,
    ApplyError,
    AssuranceTooLow,
    AttachRefused,
    CalendarNotReady,
    DraftAlreadySubmitted,
    DraftIncomplete,
    DraftStale,
    IdempotencyKeyReused,
    IdentityNotVerified,
    NotARepresentative,
    ServiceUnavailable,
)
from workflows.apply.actions.submission import SubmitOutcome, group_submit

__all__ = [
    "APPLICATION_START_TASK",
    "ApplyError",
    "AssuranceTooLow",
    "AttachRefused",
    "CalendarNotReady",
    "DraftAlreadySubmitted",
    "DraftIncomplete",
    "DraftSaveResult",
    "DraftStale",
    "IdempotencyKeyReused",
    "IdentityNotVerified",
    "NotARepresentative",
    "PurgeResult",
    "ServiceUnavailable",
    "SubmitOutcome",
    "draft_attach_document",
    "draft_detach_document",
    "draft_move_to_current",
    "draft_save",
    "draft_start",
    "draft_upload_document",
    "drafts_purge",
    "group_submit",
]
