"""What a leaf of the log covers: the row's table, id and stable fields as canonical JSON
(sorted keys, no spaces, UTF-8, times in UTC with microseconds). The leaf hash is
SHA-256(0x00 || that JSON) (RFC 9162 §2.1.1), so anyone holding the row can recompute it.

Two encoders write the same bytes: `entry_of` in Python (what verify_audit, proofs and anyone
checking use) and `entry_sql` in PostgreSQL (what the sequencer uses, so a batch's leaves are
encoded and hashed where the rows are, without a model or a JSON call per row in Python). The
SQL one answers NULL where it cannot be sure to match (a number that is not whole, in a payload),
and the sequencer encodes that row with `entry_of`.
"""

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from django.db import models

from lib.merkle import leaf_hash
from workflows.models import AppendOnlyModel, ApplicationEvent, DataAccessRecord, LogSource

MODELS: dict[str, type[AppendOnlyModel]] = {
    LogSource.APPLICATION_EVENT: ApplicationEvent,
    LogSource.DATA_ACCESS: DataAccessRecord,
}
SOURCES: dict[type[AppendOnlyModel], str] = {model: source for source, model in MODELS.items()}


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value


def entry_of(source: str, values: dict[str, Any]) -> bytes:
    """The leaf's content for a row given as {field: value} (with "id")."""
    model = MODELS[source]
    document = {"source": source, "id": values["id"]}
    document.update({name: _canonical(values[name]) for name in model.LOG_FIELDS})
    document.update({name: _canonical(values[name]) for name in model.LOG_FIELDS_WHEN_SET if values.get(name)})
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _logged(model: type[AppendOnlyModel]) -> tuple[str, ...]:
    return (*model.LOG_FIELDS, *model.LOG_FIELDS_WHEN_SET)


def row_values(source: str, row_ids: Iterable[int], *, using: str = "default") -> Iterator[dict[str, Any]]:
    model = MODELS[source]
    return model._base_manager.using(using).filter(pk__in=list(row_ids)).values("id", *_logged(model)).iterator()


def all_row_values(source: str, *, using: str = "default", chunk_size: int = 5000) -> Iterator[dict[str, Any]]:
    model = MODELS[source]
    return model._base_manager.using(using).order_by("id").values("id", *_logged(model)).iterator(chunk_size)


def entry_for(row: AppendOnlyModel) -> bytes:
    source = SOURCES[type(row)]
    return next(entry_of(source, values) for values in row_values(source, [row.pk]))


def hash_of(entry: bytes) -> bytes:
    return leaf_hash(entry)


# to_char's pattern for entry_of's times (always UTC: the session's time zone plays no part).
_SQL_TIME = """'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'"""


def _field_sql(model: type[AppendOnlyModel], name: str, alias: str) -> str:
    """The JSON text of one LOG_FIELDS value, as entry_of writes it (NULL only where the
    payload's encoding is left to Python)."""
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field):
        raise TypeError(f"{model.__name__}.{name}: a leaf covers the row's own columns only")
    column = f"{alias}.{field.column}"
    if isinstance(field, models.ForeignKey | models.IntegerField | models.AutoField):
        return f"coalesce({column}::text, 'null')"
    if isinstance(field, models.CharField | models.TextField):
        return f"coalesce(to_json({column})::text, 'null')"
    if isinstance(field, models.DateTimeField):
        return f"coalesce(to_json(to_char({column} AT TIME ZONE 'UTC', {_SQL_TIME}))::text, 'null')"
    if isinstance(field, models.JSONField):
        return f"transparency_json({column})"  # migration 0028; NULL for a SQL NULL too
    raise TypeError(f"{model.__name__}.{name}: no SQL encoding for a {type(field).__name__} in a leaf")


def entry_sql(source: str, alias: str) -> str:
    """A PostgreSQL expression giving entry_of's text for the row of `source` aliased `alias`
    (NULL when Python must encode it)."""
    model = MODELS[source]
    members = {"source": f"'{json.dumps(source)}'", "id": f"{alias}.id::text"}
    members.update({name: _field_sql(model, name, alias) for name in model.LOG_FIELDS})
    optional = {name: _field_sql(model, name, alias) for name in model.LOG_FIELDS_WHEN_SET}
    names = sorted([*members, *optional])
    if names[0] in optional:
        raise TypeError(f"{model.__name__}.{names[0]}: a field logged only when set cannot come first in a leaf")
    parts = [f"'{json.dumps(names[0])}:' || {members[names[0]]}"]
    for name in names[1:]:
        if name in members:
            parts.append(f"',{json.dumps(name)}:' || {members[name]}")
        else:
            # entry_of leaves the member out when the value is empty (None, {}, [], "", 0, false).
            column = f"{alias}.{model._meta.get_field(name).column}"  # type: ignore[union-attr]
            empty = "('null', '{}', '[]', '\"\"', '0', 'false')"
            parts.append(
                f"(CASE WHEN {column} IS NULL OR {column}::jsonb::text IN {empty} THEN '' "
                f"ELSE ',{json.dumps(name)}:' || {optional[name]} END)"
            )
    return "'{' || " + " || ".join(parts) + " || '}'"
