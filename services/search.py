"""Search words as people type them, in English and in Chinese.

Chinese is written without spaces, so a Chinese query is one run of characters, and people use
everyday words the catalogue does not: 开饭店 for 开办餐饮店. A query word matches a text that
holds the word itself, an everyday synonym the catalogue writes instead, or, for a run of three
or more Chinese characters, any two-character piece of it (the bigram method of CJK full-text
search, which needs no dictionary). So 开饭店 finds what mentions 饭店 or 餐饮.
"""

import re
from collections.abc import Iterable

from django.db.models import Q

CHINESE = re.compile(r"^[\u3400-\u9fff]+$")

# Everyday words → what the catalogue writes. Kept small and plain: add a line when a search
# people make finds nothing.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "饭店": ("餐饮", "餐馆", "餐厅"),
    "餐馆": ("餐饮", "饭店"),
    "餐厅": ("餐饮", "饭店"),
    "开店": ("开办", "营业执照"),
    "开公司": ("营业执照", "设立登记"),
    "生娃": ("生孩子", "出生"),
    "小孩": ("孩子", "新生儿"),
    "宝宝": ("新生儿", "孩子"),
    "结婚": ("婚姻",),
    "上户口": ("落户", "户口"),
    "失业金": ("失业保险金",),
}


def word_variants(word: str) -> list[str]:
    """The texts any of which makes `word` match, the word itself first."""
    variants = [word, *SYNONYMS.get(word, ())]
    if CHINESE.match(word) and len(word) >= 3:
        for start in range(len(word) - 1):
            piece = word[start : start + 2]
            variants += [piece, *SYNONYMS.get(piece, ())]
    return list(dict.fromkeys(variants))


def matching(query: str, fields: Iterable[str]) -> Q:
    """Every word of `query` matches one of `fields` (case-insensitive, by `word_variants`)."""
    fields = list(fields)
    condition = Q()
    for word in query.split():
        any_variant = Q()
        for variant in word_variants(word):
            for name in fields:
                any_variant |= Q(**{f"{name}__icontains": variant})
        condition &= any_variant
    return condition
