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
    queryset: QuerySet, *, group: Sequence[str], value: Expression, fractions: Iterable[float]
) -> dict[tuple, dict[float, float | None]]:
    """{group key tuple: {fraction: percentile}} in one query on any database."""
    fractions = list(fractions)
    rows = queryset.annotate(_value=value).filter(_value__isnull=False)
    if supports_percentiles():
        aggregates = {f"p{index}": PercentileCont("_value", fraction) for index, fraction in enumerate(fractions)}
        if not group:
            overall = rows.order_by().aggregate(**aggregates)
            if all(v is None for v in overall.values()):
                return {}
            return {(): {fraction: overall[f"p{i}"] for i, fraction in enumerate(fractions)}}
        result = rows.values(*group).annotate(**aggregates).order_by()
        return {
            tuple(row[g] for g in group): {fraction: row[f"p{i}"] for i, fraction in enumerate(fractions)}
            for row in result
        }
    values: dict[tuple, list[float]] = defaultdict(list)
    for row in rows.order_by("_value").values_list(*group, "_value"):
        values[tuple(row[:-1])].append(float(row[-1]))
    return {key: {fraction: interpolate(v, fraction) for fraction in fractions} for key, v in values.items()}
