"""Declarative conditions over data elements (no eval).

A condition is JSON:
  {"element": "business.floor_area_m2", "gt": 300}      one comparison
  {"all": [cond, ...]}  {"any": [cond, ...]}  {"not": cond}

Operators: eq, ne, gt, gte, lt, lte, in, not_in, is_set, is_true, is_false.
Used by form fields (`when`), materials, eligibility rules and route steps.
"""

from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

COMPARISONS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "is_set", "is_true", "is_false")
ORDERED = ("gt", "gte", "lt", "lte")
# Which operators make sense for which kind of element (DataElement.Kind values).
OPERATORS_BY_KIND: dict[str, tuple[str, ...]] = {
    "number": ("eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "is_set"),
    "decimal": ("eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "is_set"),
    "date": ("eq", "ne", "gt", "gte", "lt", "lte", "is_set"),
    "boolean": ("eq", "ne", "is_true", "is_false", "is_set"),
    "choice": ("eq", "ne", "in", "not_in", "is_set"),
}
DEFAULT_OPERATORS = ("eq", "ne", "in", "not_in", "is_set")


class ConditionError(ValueError):
    pass


def _operator(condition: Mapping[str, Any]) -> str:
    found = [key for key in condition if key in COMPARISONS]
    if len(found) != 1:
        raise ConditionError(f"a comparison needs exactly one operator of {', '.join(COMPARISONS)}")
    return found[0]


def _comparable(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value))
    if isinstance(value, str):
        try:
            return Decimal(value)
        except InvalidOperation:
            pass
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value
    return value


def evaluate(condition: Mapping[str, Any] | None, data: Mapping[str, Any]) -> bool:
    """True when the condition holds for the data. An absent condition always holds."""
    if not condition:
        return True
    if "all" in condition:
        return all(evaluate(part, data) for part in condition["all"])
    if "any" in condition:
        return any(evaluate(part, data) for part in condition["any"])
    if "not" in condition:
        return not evaluate(condition["not"], data)
    operator = _operator(condition)
    raw = data.get(condition["element"])
    if operator == "is_set":
        return (raw not in (None, "", [])) == bool(condition[operator])
    if operator == "is_true":
        return raw is True or raw in ("true", "yes", "1")
    if operator == "is_false":
        return raw is False or raw in ("false", "no", "0")
    if raw in (None, ""):
        return operator in ("ne", "not_in")
    value = _comparable(raw)
    expected = condition[operator]
    try:
        if operator == "eq":
            return value == _comparable(expected)
        if operator == "ne":
            return value != _comparable(expected)
        if operator == "in":
            return value in [_comparable(item) for item in expected]
        if operator == "not_in":
            return value not in [_comparable(item) for item in expected]
        bound = _comparable(expected)
        return {
            "gt": lambda: value > bound,
            "gte": lambda: value >= bound,
            "lt": lambda: value < bound,
            "lte": lambda: value <= bound,
        }[operator]()
    except TypeError:
        # Comparing values of different kinds (text with a number): the condition does not hold.
        return False


def elements_named(condition: Mapping[str, Any] | None) -> set[str]:
    """Every data-element key a condition refers to."""
    if not condition:
        return set()
    if "all" in condition or "any" in condition:
        return set().union(*(elements_named(part) for part in condition.get("all", condition.get("any", []))))
    if "not" in condition:
        return elements_named(condition["not"])
    return {condition.get("element", "")}


def problems(condition: Mapping[str, Any] | None, element_kinds: Mapping[str, str]) -> list[str]:
    """What is wrong with a condition, given the kinds of the elements on the form (key -> kind)."""
    if not condition:
        return []
    if not isinstance(condition, Mapping):
        return ["a condition must be an object"]
    for combinator in ("all", "any"):
        if combinator in condition:
            parts = condition[combinator]
            if not isinstance(parts, list) or not parts:
                return [f"“{combinator}” needs a non-empty list of conditions"]
            return [problem for part in parts for problem in problems(part, element_kinds)]
    if "not" in condition:
        return problems(condition["not"], element_kinds)
    key = condition.get("element")
    if not key:
        return ["a condition names no data element"]
    try:
        operator = _operator(condition)
    except ConditionError as exc:
        return [f"condition on “{key}”: {exc}"]
    if key not in element_kinds:
        return [f"condition names “{key}”, which is not a field on the form"]
    kind = element_kinds[key]
    allowed = OPERATORS_BY_KIND.get(kind, DEFAULT_OPERATORS)
    if operator not in allowed:
        return [f"condition on “{key}” uses “{operator}”, which does not apply to a {kind} element"]
    expected = condition[operator]
    if operator in ("in", "not_in") and not isinstance(expected, list):
        return [f"condition on “{key}”: “{operator}” needs a list of values"]
    if operator in ORDERED and kind in ("number", "decimal"):
        try:
            Decimal(str(expected))
        except InvalidOperation:
            return [f"condition on “{key}”: “{expected}” is not a number"]
    if operator in ORDERED and kind == "date":
        try:
            date.fromisoformat(str(expected))
        except ValueError:
            return [f"condition on “{key}”: “{expected}” is not a date (YYYY-MM-DD)"]
    return []
