"""Joining names into running text in the reader's language: "A, B, C" in English and
"A、B、C" in Chinese (the separator is a translated string with the context "list separator")."""

from collections.abc import Iterable

from django.utils.translation import pgettext


def join_names(names: Iterable[object]) -> str:
    return pgettext("list separator", ", ").join(str(name) for name in names)
