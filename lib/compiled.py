"""A queryset of a fixed shape compiled to SQL once per process, then run with new values.

Building a queryset and compiling it costs the web worker more CPU than PostgreSQL spends
running it: about 0.3–0.6 ms for a lookup by key (the WHERE tree, the joins of
`select_related`, quoting every column), each time, for SQL that differs only in its values.
For the few reads every request makes (the session, the user, the draft under its lock, its
pinned versions and documents), `Compiled` does that work once:

    draft = Compiled(lambda pk, user: ApplicationGroup.objects.filter(pk=pk, applicant_id=user)
                     .select_related("life_event").select_for_update(of=("self",)))
    rows = draft.run(pk=7, user=19)   # model instances, related objects attached, as the ORM makes them

The first run builds the queryset with marker values (distinct integers, strings, datetimes
and dates that no real value equals), compiles it, and records which of the SQL's parameters each value
is; later runs put the new values in those places and read the rows as `QuerySet.__iter__`
does (`from_db`, the same converters, `select_related` populated). The statement text is the
same every time, so the driver's prepared statement is reused too.

Limits (checked when the shape is first compiled; a shape outside them raises ValueError):
- values are `int`, `str`, `date` or timezone-aware `datetime`, and are never None (None changes the
  SQL itself: `IS NULL`); use a second shape for that case;
- every value must reach the SQL as a parameter, unchanged or through the backend's datetime
  adaptation (no `__in` lists, whose length changes the SQL);
- no `prefetch_related`, `extra(select=…)`, `values()` or `only()/defer()` on related models:
  the shape returns model instances of its model, with `select_related` objects attached.
The database alias is the queryset's own, fixed by the first run.
"""

import datetime
import threading
from collections.abc import Callable
from dataclasses import dataclass
from itertools import count
from typing import Any, Generic, TypeVar

from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators
from django.db.transaction import TransactionManagementError

M = TypeVar("M", bound=Model)

_MARKER_BASE = -7_304_981_000_000  # far below any id or count a portal stores
_markers = count(1)
_MARKER_EPOCH = datetime.datetime(1901, 3, 7, tzinfo=datetime.UTC)
_MARKER_DAY = datetime.date(1901, 3, 7)


def _marker_for(value: Any) -> Any:
    n = next(_markers)
    if isinstance(value, bool):
        raise ValueError("a boolean value has only two values; make it part of the shape")
    if isinstance(value, int):
        return _MARKER_BASE - n
    if isinstance(value, str):
        return f"\x1ecompiled-marker-{n}\x1e"
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            raise ValueError("a compiled query takes aware datetimes only")
        return _MARKER_EPOCH + datetime.timedelta(microseconds=n)
    if isinstance(value, datetime.date):
        return _MARKER_DAY - datetime.timedelta(days=n)
    raise ValueError(f"a compiled query takes int, str, date or aware datetime values, not {type(value).__name__}")


def _adapter(connection: Any, marker: Any) -> Callable[[Any], Any] | None:
    """The backend's adaptation the ORM applies to a value of the marker's kind, if any."""
    if isinstance(marker, datetime.datetime):
        return connection.ops.adapt_datetimefield_value
    if isinstance(marker, datetime.date):
        return connection.ops.adapt_datefield_value
    return None


@dataclass
class _Slot:
    index: int  # among the SQL's parameters
    name: str
    adapt: Callable[[Any], Any] | None  # the backend's adaptation the ORM applied, if any


@dataclass
class _Plan:
    alias: str
    sql: str
    params: list[Any]
    slots: list[_Slot]
    for_update: bool
    model: type[Model]
    init_list: list[str]
    model_start: int
    model_end: int
    populators: list[Any]
    converters: list[tuple[int, list[Callable], Any]]
    annotations: dict[str, int]
    kinds: dict[str, type]


class Compiled(Generic[M]):
    def __init__(self, shape: Callable[..., QuerySet[M]]) -> None:
        self.shape = shape
        self._plan: _Plan | None = None
        self._lock = threading.Lock()

    def run(self, **values: Any) -> list[M]:
        plan = self._plan
        if plan is None:
            with self._lock:
                plan = self._plan = self._plan or self._compile(values)
        return self._execute(plan, values)

    def first(self, **values: Any) -> M | None:
        rows = self.run(**values)
        return rows[0] if rows else None

    # --- compiling, once ------------------------------------------------------------------------

    def _compile(self, values: dict[str, Any]) -> _Plan:
        markers = {name: _marker_for(value) for name, value in values.items()}
        queryset = self.shape(**markers)
        lookups, fields_only = getattr(queryset, "_prefetch_related_lookups", ()), getattr(queryset, "_fields", None)
        if lookups or fields_only is not None or queryset.query.extra_select:
            raise ValueError("a compiled query returns model instances: no prefetch, values() or extra(select)")
        alias = queryset.db
        connection = connections[alias]
        compiler = queryset.query.get_compiler(using=alias)
        for_update = bool(queryset.query.select_for_update)
        if for_update and connection.get_autocommit():
            # as_sql refuses FOR UPDATE outside a transaction; compile inside one, run it anywhere
            # a transaction is open (checked on every run below).
            from django.db import transaction

            with transaction.atomic(using=alias):
                sql, params = compiler.as_sql()
        else:
            sql, params = compiler.as_sql()
        params = list(params)
        taken_markers = set(markers.values())
        if any(_is_marker(p) and p not in taken_markers for p in params if not isinstance(p, datetime.datetime)):
            raise ValueError("a value reached the SQL changed (a lookup transformed it)")
        slots: list[_Slot] = []
        for name, marker in markers.items():
            adapter = _adapter(connection, marker)
            adapted = adapter(marker) if adapter else marker
            places = [i for i, p in enumerate(params) if _same(p, marker) or _same(p, adapted)]
            if not places:
                raise ValueError(f"the value {name!r} does not reach the SQL as a parameter")
            slots += [_Slot(i, name, None if _same(params[i], marker) else adapter) for i in places]
        if compiler.has_extra_select:
            raise ValueError("a compiled query has no extra select columns")
        select, klass_info = compiler.select, compiler.klass_info
        assert klass_info is not None
        fields = klass_info["select_fields"]
        start, end = fields[0], fields[-1] + 1
        converters = [
            (i, convs, expression)
            for i, (convs, expression) in compiler.get_converters([s[0] for s in select[: compiler.col_count]]).items()
        ]
        return _Plan(
            alias=alias,
            sql=sql,
            params=params,
            slots=slots,
            for_update=for_update,
            model=klass_info["model"],
            init_list=[f[0].target.attname for f in select[start:end]],
            model_start=start,
            model_end=end,
            populators=get_related_populators(klass_info, select, alias),  # type: ignore[call-arg]  # stubs: Django 6
            converters=converters,
            annotations=dict(compiler.annotation_col_map or {}),
            kinds={name: type(value) for name, value in values.items()},
        )

    # --- running ----------------------------------------------------------------------------------

    def _execute(self, plan: _Plan, values: dict[str, Any]) -> list[M]:
        if values.keys() != plan.kinds.keys():
            raise TypeError(f"a compiled query takes the values {sorted(plan.kinds)}, given {sorted(values)}")
        params = list(plan.params)
        for slot in plan.slots:
            value = values[slot.name]
            kind = plan.kinds[slot.name]
            if (
                value is None
                or isinstance(value, bool)
                or not isinstance(value, kind)
                or (kind is datetime.date and isinstance(value, datetime.datetime))
            ):
                raise TypeError(f"{slot.name!r} must be {kind.__name__}, not {value!r}")
            params[slot.index] = slot.adapt(value) if slot.adapt else value
        connection = connections[plan.alias]
        if plan.for_update and connection.get_autocommit():
            raise TransactionManagementError("select_for_update cannot be used outside of a transaction.")
        with connection.cursor() as cursor:
            cursor.execute(plan.sql, params)
            rows = cursor.fetchall()
        result: list[M] = []
        for raw in rows:
            row = list(raw)
            for position, convs, expression in plan.converters:
                value = row[position]
                for converter in convs:
                    value = converter(value, expression, connection)
                row[position] = value
            obj = plan.model.from_db(plan.alias, plan.init_list, row[plan.model_start : plan.model_end])
            for populator in plan.populators:
                populator.populate(row, obj)
            for name, position in plan.annotations.items():
                setattr(obj, name, row[position])
            result.append(obj)  # type: ignore[arg-type]
        return result


def _same(param: Any, marker: Any) -> bool:
    # A date marker must not match a datetime parameter (datetime is a kind of date), nor 1 True.
    return type(param) is type(marker) and param == marker


def _is_marker(value: Any) -> bool:
    if isinstance(value, int) and not isinstance(value, bool):
        return _MARKER_BASE - 1_000_000 < value < _MARKER_BASE
    if isinstance(value, str):
        return "compiled-marker-" in value
    return False
