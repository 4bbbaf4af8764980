"""Search as people type it, in English and in Chinese: words, synonyms, ranking, "did you mean".

The published catalogue is small (tens to a few hundred services), so a search scores every
service and life event in Python over what the catalogue page loads anyway: no search engine to
run, and the same results on SQLite (embedded mode) and PostgreSQL.

- English is cut into words and plurals are folded (licences → licence, babies → baby).
- Chinese is written without spaces, so the query is cut into words by jieba
  (`services.segmenter`): 我想开饭店 → 我 / 想 / 开饭店, and a long word also by its shorter
  words (开饭店 → 饭店). A Chinese word matches a text that contains it.
- Synonyms kept in the admin (`SearchSynonym`) add the catalogue's words for everyday ones
  (开饭店 → 餐饮, 营业执照; 失业金 → 失业保险金).
- Ranking: the whole query is a name > a query word in a name > a word in the tags, the services of
  a life event, or a synonym > a word in a summary or the department's name.
- A result matches every word of the query (by the word, a shorter word in it, or a synonym); when
  nothing does, what matches some of the words is shown, best first.
"""

import difflib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from services import segmenter

CHINESE = re.compile(r"[\u3400-\u9fff]")
WORDS = re.compile(r"[\u3400-\u9fff]+|[^\W_]+")
MEANING_SEPARATORS = re.compile(r"[,，、;；\n]+")

# Words that say nothing about what is wanted ("I want to apply for ...", 我想办...).
ENGLISH_STOP_WORDS = frozenset({
    "a", "an", "and", "apply", "are", "as", "at", "be", "by", "can", "do", "does", "for", "from", "get", "how",
    "i", "in", "is", "it", "me", "my", "need", "of", "on", "or", "the", "to", "want", "we", "what", "where",
    "with", "you", "your",
})  # fmt: skip
CHINESE_STOP_WORDS = frozenset({
    "我", "我想", "我要", "想", "要", "的", "了", "吗", "呢", "怎么", "如何", "怎样", "哪里", "在哪", "去", "请问",
    "一个", "一家", "需要",
})  # fmt: skip

# What a match is worth, by where it is found and what matched.
EXACT_NAME = 100
WORD_IN = {"name": 20, "tags": 8, "summary": 2}
SYNONYM_IN = {"name": 8, "tags": 6, "summary": 1}

Synonyms = dict[str, tuple[str, ...]]


def normalise(text: str) -> str:
    """Full-width to half-width, case folded, runs of spaces made one."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def is_chinese(text: str) -> bool:
    return bool(CHINESE.search(text))


def stem(word: str) -> str:
    """An English word without its plural ending: licences → licence, babies → baby, taxes → tax."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("sses", "xes", "ches", "shes", "zzes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


@lru_cache(maxsize=16384)
def stems(text: str) -> frozenset[str]:
    """The English words of a normalised text, plurals folded (the text's Chinese is matched as written)."""
    return frozenset(stem(word) for word in WORDS.findall(text) if not is_chinese(word))


def synonyms_parse(rows: Iterable[tuple[str, str]]) -> Synonyms:
    """term → its meanings, both normalised, from the admin's rows (meanings comma-separated)."""
    synonyms: Synonyms = {}
    for term, meanings in rows:
        words = tuple(dict.fromkeys(normalise(m) for m in MEANING_SEPARATORS.split(meanings) if m.strip()))
        if normalise(term) and words:
            synonyms[normalise(term)] = words
    return synonyms


@dataclass(frozen=True)
class Field:
    text: str  # normalised, parts joined by " | " so that no match spans two of them

    @classmethod
    def of(cls, *parts: str) -> "Field":
        return cls(" | ".join(normalise(part) for part in parts if part))

    def has(self, term: str) -> bool:
        """Chinese by containment; English when each of its words (plurals folded) is a word here."""
        if is_chinese(term):
            return term in self.text
        words = stems(term)
        return bool(words) and words <= stems(self.text)


@dataclass(frozen=True)
class Document:
    """What a search looks at of one service or life event."""

    item: Any
    kind: str  # "service" or "life_event"
    names: tuple[str, ...]
    name: Field
    tags: Field
    summary: Field

    @classmethod
    def of_service(cls, service: Any) -> "Document":
        return cls(
            item=service,
            kind="service",
            names=(normalise(service.name_en), normalise(service.name_zh)),
            name=Field.of(service.name_en, service.name_zh),
            tags=Field.of(*map(str, service.life_situations or []), service.code.replace("-", " ")),
            summary=Field.of(
                service.summary_en,
                service.summary_zh,
                service.lead_department.name_en,
                service.lead_department.name_zh,
            ),
        )

    @classmethod
    def of_life_event(cls, life_event: Any, services: Sequence[Any]) -> "Document":
        """A life event is also found by what its services are called and tagged."""
        return cls(
            item=life_event,
            kind="life_event",
            names=(normalise(life_event.name_en), normalise(life_event.name_zh)),
            name=Field.of(life_event.name_en, life_event.name_zh),
            tags=Field.of(
                life_event.code.replace("-", " "),
                *(part for s in services for part in (s.name_en, s.name_zh, *map(str, s.life_situations or []))),
            ),
            summary=Field.of(life_event.summary_en, life_event.summary_zh),
        )


@dataclass(frozen=True)
class Term:
    text: str
    synonym: bool  # found through a synonym or as a shorter word inside a query word


@dataclass
class Query:
    text: str
    # One entry per word of the query: the terms any of which matches that word.
    words: list[list[Term]] = field(default_factory=list)
    # Meanings of a synonym for several words at once ("open a restaurant"): any of them matches them all.
    phrase: list[Term] = field(default_factory=list)

    def terms(self) -> list[Term]:
        return list(dict.fromkeys([*(term for word in self.words for term in word), *self.phrase]))


def _chinese_words(run: str, synonyms: Synonyms) -> list[str]:
    segmenter.words_add({term for term in synonyms if is_chinese(term) and " " not in term})
    words = [word for word in segmenter.tokenizer().lcut(run) if word.strip()]
    kept = [word for word in words if word not in CHINESE_STOP_WORDS and len(word) > 1]
    return kept or [word for word in words if word not in CHINESE_STOP_WORDS] or words


def query_parse(text: str, synonyms: Synonyms) -> Query:
    """The words of a query, each with the terms that may match it."""
    query = Query(normalise(text))
    raw = WORDS.findall(query.text)
    words: list[str] = []
    for part in raw:
        if is_chinese(part):
            words += _chinese_words(part, synonyms)
        elif part not in ENGLISH_STOP_WORDS:
            words.append(part)
    if not words:
        words = raw
    for word in dict.fromkeys(words):
        alternatives = [Term(word, synonym=False)]
        if is_chinese(word) and len(word) > 2:
            alternatives += [
                Term(piece, synonym=True)
                for piece in segmenter.cut(word)
                if len(piece) > 1 and piece != word and piece not in CHINESE_STOP_WORDS
            ]
        for alternative in list(alternatives):
            alternatives += [Term(meaning, synonym=True) for meaning in _synonyms_of(alternative.text, synonyms)]
        query.words.append(list(dict.fromkeys(alternatives)))
    # A synonym written as a phrase of several words ("open a restaurant", 我要开饭店 containing 开饭店).
    compact = query.text.replace(" ", "")
    query_stems = [stem(word) for word in raw if not is_chinese(word)]
    for term, meanings in synonyms.items():
        if any(term == alternative.text for word in query.words for alternative in word):
            continue
        if is_chinese(term):
            found = term.replace(" ", "") in compact
        else:
            term_stems = [stem(word) for word in WORDS.findall(term)]
            found = bool(term_stems) and _contains(query_stems, term_stems)
        if found:
            query.phrase += [Term(meaning, synonym=True) for meaning in meanings]
    return query


def _synonyms_of(word: str, synonyms: Synonyms) -> tuple[str, ...]:
    meanings = synonyms.get(word)
    if meanings is None and not is_chinese(word):
        meanings = synonyms.get(stem(word))
    return meanings or ()


def _contains(sequence: list[str], part: list[str]) -> bool:
    return any(sequence[start : start + len(part)] == part for start in range(len(sequence) - len(part) + 1))


def _worth(term: Term, document: Document) -> int:
    weights = SYNONYM_IN if term.synonym else WORD_IN
    for where in ("name", "tags", "summary"):
        if getattr(document, where).has(term.text):
            return weights[where]
    return 0


@dataclass(frozen=True)
class Hit:
    document: Document
    score: int
    complete: bool  # matches every word of the query

    @property
    def item(self) -> Any:
        return self.document.item

    @property
    def kind(self) -> str:
        return self.document.kind


def rank(query: Query, documents: Iterable[Document]) -> list[Hit]:
    """The documents that match, best first (ties: life events first, then in catalogue order)."""
    terms = query.terms()
    hits = []
    for position, document in enumerate(documents):
        worth = {term: _worth(term, document) for term in terms}
        score = sum(worth.values())
        if not score:
            continue
        if query.text in document.names:
            score += EXACT_NAME
        complete = any(worth[term] for term in query.phrase) or all(
            any(worth[term] for term in word) for word in query.words
        )
        hits.append((Hit(document, score, complete), position))
    complete_only = [(hit, position) for hit, position in hits if hit.complete]
    chosen = complete_only or hits
    chosen.sort(key=lambda pair: (-pair[0].score, pair[0].kind != "life_event", pair[1]))
    return [hit for hit, _position in chosen]


def search(text: str, documents: Sequence[Document], synonyms: Synonyms) -> list[Hit]:
    return rank(query_parse(text, synonyms), documents)


def vocabulary(documents: Iterable[Document], synonyms: Synonyms) -> list[str]:
    """The names, tags, synonyms and English words a "did you mean" may suggest."""
    words: dict[str, None] = {}
    for document in documents:
        for text in (*document.names, *document.tags.text.split(" | ")):
            if text:
                words[text] = None
                for word in WORDS.findall(text):
                    if not is_chinese(word) and len(word) > 3:
                        words[word] = None
    words.update(dict.fromkeys(synonyms))
    return list(words)


def suggestion(text: str, documents: Sequence[Document], synonyms: Synonyms) -> str | None:
    """For a query that finds nothing: the closest known word or name that finds something."""
    query = normalise(text)
    if not query:
        return None
    known = vocabulary(documents, synonyms)
    for candidate in difflib.get_close_matches(query, known, n=5, cutoff=0.7):
        if candidate != query and search(candidate, documents, synonyms):
            return candidate
    # Word by word: "matenity allowence" → "maternity allowance".
    english = [word for word in known if not is_chinese(word)]
    corrected = [
        (difflib.get_close_matches(word, english, n=1, cutoff=0.75) or [word])[0]
        if not is_chinese(word) and word not in ENGLISH_STOP_WORDS and not _known_word(word, documents)
        else word
        for word in query.split()
    ]
    candidate = " ".join(corrected)
    if candidate != query and search(candidate, documents, synonyms):
        return candidate
    return None


def _known_word(word: str, documents: Iterable[Document]) -> bool:
    return any(part.has(word) for document in documents for part in (document.name, document.tags, document.summary))
