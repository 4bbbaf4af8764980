"""Conditions in words, for citizens and administrators ("Floor area of the premises (m²) is more than 300")."""

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from services.conditions import elements_named
from services.elements import choice_label
from services.models import DataElement


def element_labels(keys: set[str]) -> dict[str, DataElement]:
    """The data elements named by keys, in one query."""
    return {element.key: element for element in DataElement.objects.filter(key__in=keys)}


def _value_text(element: DataElement | None, value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_value_text(element, item) for item in value)
    if element is not None and element.kind == DataElement.Kind.CHOICE:
        return choice_label(element, value)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return str(value)


def describe_condition(condition: Mapping[str, Any] | None, elements: Mapping[str, DataElement]) -> str:
    """A condition as one sentence in the active language."""
    if not condition:
        return ""
    if "all" in condition:
        return _(" and ").join(describe_condition(part, elements) for part in condition["all"])
    if "any" in condition:
        return "(" + _(" or ").join(describe_condition(part, elements) for part in condition["any"]) + ")"
    if "not" in condition:
        return _("not (%(condition)s)") % {"condition": describe_condition(condition["not"], elements)}
    key = condition.get("element", "")
    element = elements.get(key)
    subject = element.label if element is not None else key
    for operator, template in (
        ("eq", _("%(subject)s is %(value)s")),
        ("ne", _("%(subject)s is not %(value)s")),
        ("gt", _("%(subject)s is more than %(value)s")),
        ("gte", _("%(subject)s is at least %(value)s")),
        ("lt", _("%(subject)s is less than %(value)s")),
        ("lte", _("%(subject)s is at most %(value)s")),
        ("in", _("%(subject)s is one of: %(value)s")),
        ("not_in", _("%(subject)s is none of: %(value)s")),
    ):
        if operator in condition:
            return template % {"subject": subject, "value": _value_text(element, condition[operator])}
    if "is_set" in condition:
        return (_("%(subject)s is given") if condition["is_set"] else _("%(subject)s is not given")) % {
            "subject": subject
        }
    if "is_true" in condition:
        return _("%(subject)s: yes") % {"subject": subject}
    if "is_false" in condition:
        return _("%(subject)s: no") % {"subject": subject}
    return subject


def condition_keys(conditions: list[Mapping[str, Any] | None]) -> set[str]:
    keys: set[str] = set()
    for condition in conditions:
        keys |= elements_named(condition)
    return keys
