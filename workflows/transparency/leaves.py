"""What a leaf of the log covers: the row's table, id and stable fields as canonical JSON
(sorted keys, no spaces, UTF-8, times in UTC with microseconds). The leaf hash is
SHA-256(0x00 || that JSON) (RFC 9162 §2.1.1), so anyone holding the row can recompute it."""

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

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
