"""Text in the reader's language, for every app (the ground floor: it imports nothing of ours).

- `join_names`: "A, B, C" in English and "A、B、C" in Chinese (the separator is a translated
  string with the context "list separator");
- `in_language`: the Chinese text when the active language is Chinese and there is some.
"""

from collections.abc import Iterable

from django.utils.translation import get_language, pgettext


def join_names(names: Iterable[object]) -> str:
    return pgettext("list separator", ", ").join(str(name) for name in names)


def in_language(english: str, chinese: str) -> str:
    """Chinese text when the active language is Chinese and there is some; English otherwise."""
    return chinese if (get_language() or "en").startswith("zh") and chinese else english
