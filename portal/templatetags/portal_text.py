"""`{{ versions|names:"service.name" }}`: a list of objects as running text in the reader's language."""

from collections.abc import Iterable
from typing import Any

from django import template

from lib.text import join_names

register = template.Library()


def _attribute(item: Any, path: str) -> Any:
    for part in path.split(".") if path else ():
        item = getattr(item, part)
    return item


@register.filter
def names(items: Iterable[Any], path: str = "") -> str:
    """The items (or the attribute `path` of each, dotted) joined with the language's separator."""
    return join_names(_attribute(item, path) for item in items)
