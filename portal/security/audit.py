"""Verification of the tamper-evident audit trail.

ApplicationEvent and DataAccessRecord rows are append-only and chained by hash, one chain per
table in id order (workflows.models.AuditChainedModel; the PostgreSQL triggers of migration
workflows/0007_audit_chain). This module walks a chain and recomputes every link in Python,
independently of the database's trigger functions, and names the first link that does not hold.

A chain proves that no row in it was edited, removed or inserted out of order. Removing rows
from the end leaves a shorter valid chain: record the head hash that verify_audit prints (for
example in an off-site log) to detect that too.
"""

from dataclasses import dataclass

from django.db import connections, models
from django.db.models.functions import Cast

from workflows.models import ApplicationEvent, AuditChainedModel, DataAccessRecord, audit_hash

AUDITED_MODELS: tuple[type[AuditChainedModel], ...] = (ApplicationEvent, DataAccessRecord)


@dataclass(frozen=True)
class BrokenLink:
    table: str
    row_id: int
    field: str  # "previous_hash" (a row removed or reordered before it) or "hash" (this row edited)
    expected: str
    found: str

    def describe(self) -> str:
        cause = "a row before it was removed or changed" if self.field == "previous_hash" else "the row was edited"
        return (
            f"BROKEN {self.table} row {self.row_id}: {self.field} expected {self.expected or '(empty)'} "
            f"found {self.found or '(empty)'} ({cause})"
        )


@dataclass(frozen=True)
class ChainReport:
    table: str
    rows: int
    head: str
    broken: BrokenLink | None

    @property
    def ok(self) -> bool:
        return self.broken is None


def chain_verify(*, model: type[AuditChainedModel], using: str = "default", chunk_size: int = 2000) -> ChainReport:
    table = model._meta.db_table
    json_fields = [
        field.attname
        for field in model._meta.concrete_fields
        if isinstance(field, models.JSONField) and field.attname in model.AUDIT_FIELDS
    ]
    rows = model._base_manager.using(using).order_by("id")
    postgresql = connections[using].vendor == "postgresql"
    if postgresql:
        # The hash covers jsonb's own text form; ask the database for it rather than re-render.
        rows = rows.annotate(**{f"audit_text_{name}": Cast(name, models.TextField()) for name in json_fields})
    previous = ""
    count = 0
    for row in rows.iterator(chunk_size=chunk_size):
        count += 1
        if row.previous_hash != previous:
            broken = BrokenLink(table, row.pk, "previous_hash", previous, row.previous_hash)
            return ChainReport(table, count, previous, broken)
        rendered = {name: getattr(row, f"audit_text_{name}") for name in json_fields} if postgresql else {}
        expected = audit_hash(row.previous_hash, row.audit_fields(**rendered))
        if row.hash != expected:
            return ChainReport(table, count, previous, BrokenLink(table, row.pk, "hash", expected, row.hash))
        previous = row.hash
    return ChainReport(table, count, previous, None)


def audit_verify(*, using: str = "default") -> list[ChainReport]:
    """Walks every audited table's chain; each report names its first broken link, if any."""
    return [chain_verify(model=model, using=using) for model in AUDITED_MODELS]
