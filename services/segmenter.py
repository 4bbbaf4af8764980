"""Chinese word segmentation for search, with jieba's own dictionary (shipped in the package).

Chinese is written without spaces: 我想开饭店 is one run of characters. jieba cuts it into words
(我 / 想 / 开 / 饭店). Loading its dictionary takes about a second, so it happens once per
process, on the first Chinese search, never at import time and never per request. Nothing is
downloaded. jieba keeps a cache of the parsed dictionary to load faster next time: it is kept under
var/search/ (settings.VAR_DIR), never in the package or in /tmp; where var/ cannot be written the
dictionary is parsed without a cache file.

jieba itself is imported with the dictionary, on the first Chinese search: importing it loads its
word-model tables (about 18 MB), which a process that never searches in Chinese does without.
"""

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    import jieba

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_tokenizer: "jieba.Tokenizer | None" = None
_added: set[str] = set()


def cache_dir() -> Path:
    return Path(settings.VAR_DIR) / "search"


def _load() -> "jieba.Tokenizer":
    import jieba

    # jieba reports "Building prefix dict ..." on stderr at DEBUG through its own handler.
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    directory = cache_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        logger.warning("search: %s cannot be written; Chinese dictionary parsed without a cache file", directory)
        # What Tokenizer.initialize does, minus the cache file it would write.
        tokenizer.FREQ, tokenizer.total = tokenizer.gen_pfdict(tokenizer.get_dict_file())
        tokenizer.initialized = True
        return tokenizer
    tokenizer.tmp_dir = str(directory)
    tokenizer.initialize()
    return tokenizer


def tokenizer() -> "jieba.Tokenizer":
    """The process's tokenizer, loaded on first use (thread-safe)."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                _tokenizer = _load()
    return _tokenizer


def loaded() -> bool:
    return _tokenizer is not None


def words_add(words: set[str]) -> None:
    """Teaches the tokenizer words it should not cut (the synonyms' terms, the catalogue's tags)."""
    new = words - _added
    if not new:
        return
    current = tokenizer()
    with _lock:
        for word in new:
            current.add_word(word)
        _added.update(new)


def cut(text: str) -> list[str]:
    """The words of a run of Chinese, finely cut for search (餐饮店 → 餐饮, 饮店, 餐饮店)."""
    return [word for word in tokenizer().cut_for_search(text, HMM=True) if word.strip()]
