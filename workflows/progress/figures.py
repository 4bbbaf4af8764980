"""SQL building blocks for the supervision figures: seconds between two moments and percentiles.

PostgreSQL computes percentiles with `percentile_cont … WITHIN GROUP`; SQLite (the embedded
mode) has no ordered-set aggregates, so there the values come back in one query and the
percentile is interpolated the same way in Python (`percentile_cont` is linear interpolation).
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection
from django.db.models import Aggregate, Expression, F, FloatField, Func, QuerySet


class SecondsBetween(Func):
    """end − start in seconds (float); NULL when either is NULL."""

    output_field = FloatField()

    def __init__(self, end: str | Expression, start: str | Expression) -> None:
        super().__init__(F(end) if isinstance(end, str) else end, F(start) if isinstance(start, str) else start)

    def as_sql(self, compiler, connection, **extra):  # type: ignore[override]
        end_sql, end_params = compiler.compile(self.source_expressions[0])
        start_sql, start_params = compiler.compile(self.source_expressions[1])
        return f"EXTRACT(EPOCH FROM ({end_sql} - {start_sql}))", [*end_params, *start_params]

    def as_sqlite(self, compiler, connection, **extra):  # type: ignore[override]
        end_sql, end_params = compiler.compile(self.source_expressions[0])
        start_sql, start_params = compiler.compile(self.source_expressions[1])
        return f"((julianday({end_sql}) - julianday({start_sql})) * 86400.0)", [*end_params, *start_params]


class PercentileCont(Aggregate):
    """PostgreSQL's continuous percentile of an expression (0 ≤ fraction ≤ 1)."""

    function = "percentile_cont"
    name = "PercentileCont"
    output_field = FloatField()
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        if not 0 <= fraction <= 1:
            raise ValueError("fraction must be between 0 and 1")
        super().__init__(expression, fraction=repr(float(fraction)), **extra)


def supports_percentiles() -> bool:
    return connection.vendor == "postgresql"


def interpolate(sorted_values: Sequence[float], fraction: float) -> float | None:
    """percentile_cont of already sorted values."""
    if not sorted_values:
        return None
    position = fraction * (len(sorted_values) - 1)
    lower = int(position)
    upper = min(lower + 1, len(sorted_values) - 1)
    return sorted_values[lower] + (sorted_values[upper] - sorted_values[lower]) * (position - lower)


def percentiles_by_group(
    queryset: QuerySet,
    *,
    group: Sequence[str],
    values: dict[str, Expression],
    fractions: Iterable[float],
) -> dict[tuple, dict[str, dict[float, float | None]]]:
    """{group key tuple: {value name: {fraction: percentile}}}, in one query on any database."""
    fractions = list(fractions)
    names = list(values)
    rows = queryset.annotate(**{f"_v_{name}": expression for name, expression in values.items()})
    if supports_percentiles():
        aggregates = {
            f"p_{name}_{index}": PercentileCont(f"_v_{name}", fraction)
            for name in names
            for index, fraction in enumerate(fractions)
        }

        def unpack(row: dict) -> dict[str, dict[float, float | None]]:
            return {name: {fraction: row[f"p_{name}_{i}"] for i, fraction in enumerate(fractions)} for name in names}

        if not group:
            overall = rows.order_by().aggregate(**aggregates)
            return {} if all(v is None for v in overall.values()) else {(): unpack(overall)}
        return {
            tuple(row[g] for g in group): unpack(row) for row in rows.values(*group).annotate(**aggregates).order_by()
        }
    collected: dict[tuple, dict[str, list[float]]] = defaultdict(lambda: {name: [] for name in names})
    for row in rows.values_list(*group, *(f"_v_{name}" for name in names)):
        key = tuple(row[: len(group)])
        for name, value in zip(names, row[len(group) :], strict=True):
            if value is not None:
                collected[key][name].append(float(value))
    return {
        key: {name: {f: interpolate(sorted(v), f) for f in fractions} for name, v in by_name.items()}
        for key, by_name in collected.items()
    }
