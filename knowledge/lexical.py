"""BM25 over the same chunks as the vector store, for Chinese, English and mixed text.

Chinese runs are segmented with jieba (search mode, so 退货运费 also matches 运费), other text
is split into lowercase words; stop words are dropped. Chinese runs are also indexed as
overlapping character pairs, a second view that survives jieba's colloquial cuts (延保能 keeps
the pair 延保); a hit's coverage is the better of the two views. The index is an immutable
snapshot: writers build a new one and swap it in, readers keep using the one they started with.
Tokenising is the slow part at scale (jieba reads ~250k characters a second), so token ids are
cached per chunk in the data folder and reused on open and after each change.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import bm25s
import jieba
import numpy as np
import structlog
from numpy.typing import NDArray

from knowledge.folding import fold
from knowledge.spelling import Spelling

log = structlog.get_logger(__name__)

logging.getLogger("jieba").setLevel(logging.WARNING)

SHOP_WORDS = Path(__file__).with_name("shop_words.txt")
"""Words of Chinese online shopping that jieba's dictionary splits (运费险 into 运费/险, 花呗 into
花/呗): each is one word for BM25, coverage and the answer policy, so "运费险有吗" is not
answered with the shipping fees for sharing 运费. A word here is also one the homophone
check (:mod:`knowledge.homophones`) may correct a slip to: 满多少包油 is 包邮."""
for _word in SHOP_WORDS.read_text(encoding="utf-8").split():
    jieba.add_word(_word)  # (jieba.load_userdict leaves the file open)

_RUNS = re.compile(r"([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)|([a-z0-9]+(?:['’][a-z]+)?)")

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")

_EN_STOPWORDS = """
a an the and or but if of to in on at by for with from as is are was were be been being am do
does did have has had i me my we our you your he she it its they them their this that these
those there here what which who whom how can could would should will shall may might must so
not no than too very just about into over also any some such only own same s t don't i'm it's
"""
_ZH_STOPWORDS = """
的 了 是 在 和 与 及 或 就 都 而 也 还 吗 呢 吧 啊 呀 么 嘛 哦 我 你 您 他
她 它 我们 你们 他们 这 那 这个 那个 有 没 没有 要 会 能 可以 一个 一下 请问 请
怎么 如何 什么 为什么 多少 哪 哪里 啦 把 被 给 让 对 从 到 向 个 些 自己 想 问
下
"""
EN_STOPWORDS = frozenset(_EN_STOPWORDS.split())
ZH_STOPWORDS = frozenset(_ZH_STOPWORDS.split())


def tokenize(text: str) -> list[str]:
    """Lowercase word and jieba tokens of ``text`` without stop words or punctuation."""
    folded = fold(text)
    tokens: list[str] = []
    for cjk, word in _RUNS.findall(folded):
        if cjk:
            tokens.extend(t for t in jieba.cut_for_search(cjk) if t not in ZH_STOPWORDS)
        elif word not in EN_STOPWORDS:
            tokens.append(word)
    return tokens


BIGRAM_MARK = "#"
"""Prefix of a character-bigram term; words never contain it, so a bigram and the jieba word
with the same two characters are counted apart and word coverage stays as it was."""

TERMS_VERSION = 5
"""What :func:`index_terms` produces; cached token ids made by another version are rebuilt.
1: jieba words; 2: jieba words + CJK character bigrams; 3: Chinese counts in digits
(:func:`knowledge.folding.fold`); 4: with :data:`SHOP_WORDS`; 5: 包邮 added to them."""


def cjk_bigrams(text: str) -> list[str]:
    """Overlapping character pairs of each Chinese run (a one-character run stays whole).

    jieba cuts colloquial text unpredictably: 延保能多保几年 becomes 延保能/多保/几年, which
    shares no word with an entry about 延保; its pairs 延保 and 几年 are still there. A pair
    also survives a typo elsewhere in a long word.
    """
    folded = fold(text)
    terms: list[str] = []
    for run in _CJK.findall(folded):
        if len(run) == 1:
            terms.append(BIGRAM_MARK + run)
        terms.extend(BIGRAM_MARK + run[i : i + 2] for i in range(len(run) - 1))
    return terms


def index_terms(text: str) -> list[str]:
    """What BM25 indexes: the words of :func:`tokenize` and the character bigrams of
    :func:`cjk_bigrams` (the answer policy looks at the words alone)."""
    return [*tokenize(text), *cjk_bigrams(text)]


@dataclass(slots=True, frozen=True)
class QueryTerms:
    """A question's words and character pairs, cut once per search."""

    words: list[str]
    pairs: list[str]

    @classmethod
    def of(cls, text: str) -> QueryTerms:
        return cls(tokenize(text), cjk_bigrams(text))

    @property
    def terms(self) -> list[str]:
        """What :meth:`LexicalIndex.search` matches (the same as :func:`index_terms`)."""
        return [*self.words, *self.pairs]


class Vocabulary:
    """Token <-> id table shared by the cache and the index (grows; unused ids are harmless)."""

    def __init__(self, tokens: Iterable[str] = ()) -> None:
        self.tokens: list[str] = []
        self.ids: dict[str, int] = {}
        for token in tokens:
            self.id_of(token)

    def id_of(self, token: str) -> int:
        found = self.ids.get(token)
        if found is None:
            found = self.ids[token] = len(self.tokens)
            self.tokens.append(token)
        return found

    def encode(self, tokens: Sequence[str]) -> NDArray[np.int32]:
        return np.fromiter((self.id_of(t) for t in tokens), dtype=np.int32, count=len(tokens))


@dataclass(slots=True, frozen=True)
class ChunkFields:
    """The metadata BM25 filtering needs, one entry per indexed chunk."""

    source: str
    kind: str
    category: str | None = None
    language: str | None = None
    doc_id: str | None = None


class LexicalIndex:
    """An immutable BM25 snapshot over a list of chunks.

    Args:
        ids: Chunk ids, in index order.
        token_ids: Token ids of each chunk's search text.
        fields: Filterable metadata of each chunk.
        vocabulary: The table ``token_ids`` refer to.
    """

    def __init__(
        self,
        ids: Sequence[str],
        token_ids: Sequence[NDArray[np.int32]],
        fields: Sequence[ChunkFields],
        vocabulary: Vocabulary,
    ) -> None:
        self.ids = list(ids)
        self.fields = list(fields)
        self.token_ids = list(token_ids)
        self.vocabulary = vocabulary
        self.position = {chunk_id: i for i, chunk_id in enumerate(self.ids)}
        self._columns = {
            name: np.array([getattr(f, name) or "" for f in self.fields], dtype=object)
            for name in ChunkFields.__slots__
        }
        self._bm25: bm25s.BM25 | None = None
        self._doc_freq = np.zeros(0, dtype=np.int64)
        # The shared vocabulary may grow while this snapshot serves; ids past this are unknown.
        self._columns_indexed = 0
        if self.ids:
            self._build()

    def _build(self) -> None:
        # bm25s only scores tokens it has seen in the corpus; an id list keeps its vocabulary
        # aligned with ours so query tokens map straight to columns.
        vocab = {token: i for i, token in enumerate(self.vocabulary.tokens)}
        corpus = [ids.tolist() for ids in self.token_ids]
        bm25 = bm25s.BM25()
        bm25.index(
            bm25s.tokenization.Tokenized(ids=corpus, vocab=vocab),
            show_progress=False,
            create_empty_token=False,
        )
        self._bm25 = bm25
        indptr: NDArray[np.int64] = np.asarray(bm25.scores["indptr"], dtype=np.int64)
        self._doc_freq = indptr[1:] - indptr[:-1]
        self._columns_indexed = len(self._doc_freq)

    def __len__(self) -> int:
        return len(self.ids)

    def mask(self, filters: Mapping[str, str] | None) -> NDArray[np.bool_] | None:
        """Which chunks pass ``filters`` (exact match on each field), or ``None`` for all."""
        if not filters:
            return None
        keep = np.ones(len(self.ids), dtype=bool)
        for name, value in filters.items():
            keep &= self._columns[name] == value
        return keep

    def search(
        self, tokens: Sequence[str], n: int, filters: Mapping[str, str] | None = None
    ) -> list[tuple[str, float]]:
        """The ``n`` best-scoring chunks for the query tokens, best first (score > 0 only)."""
        column_ids = [
            column
            for column in (self.vocabulary.ids.get(t) for t in dict.fromkeys(tokens))
            if column is not None and column < self._columns_indexed
        ]
        if self._bm25 is None or not column_ids:
            return []
        scores = self._bm25.get_scores_from_ids(column_ids)
        keep = self.mask(filters)
        if keep is not None:
            scores = np.where(keep, scores, 0.0)
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.ids[i], float(scores[i])) for i in top if scores[i] > 0]

    @functools.cached_property
    def spelling(self) -> Spelling:
        """Corrects a question's misspellings to this index's words."""
        return Spelling(self.words())

    def words(self) -> dict[str, int]:
        """The words the chunks contain (not character pairs), each with how many chunks
        contain it."""
        tokens = self.vocabulary.tokens[: self._columns_indexed]
        return {
            token: int(count)
            for token, count in zip(tokens, self._doc_freq, strict=False)
            if count > 0 and not token.startswith(BIGRAM_MARK)
        }

    def idf(self, token: str) -> float:
        """BM25 (Lucene) idf; a token no chunk contains gets the largest possible value."""
        n_docs = len(self.ids)
        token_id = self.vocabulary.ids.get(token)
        df = 0
        if token_id is not None and token_id < len(self._doc_freq):
            df = int(self._doc_freq[token_id])
        return math.log(1 + (n_docs - df + 0.5) / (df + 0.5))

    def coverage(self, tokens: Sequence[str], chunk_id: str) -> float:
        """Share of the query's information (idf-weighted unique tokens) found in a chunk.

        Comparable across queries and corpora (0..1), unlike a raw BM25 score; words no chunk
        contains count against it, which is what separates off-topic questions.
        """
        unique = list(dict.fromkeys(tokens))
        position = self.position.get(chunk_id)
        if not unique or position is None:
            return 0.0
        present = set(self.token_ids[position].tolist())
        weights = [self.idf(t) for t in unique]
        hit = sum(
            w for t, w in zip(unique, weights, strict=True) if self.vocabulary.ids.get(t) in present
        )
        total = sum(weights)
        return hit / total if total else 0.0

    def query_coverage(self, query: QueryTerms, chunk_id: str) -> float:
        """:meth:`coverage` of the query's words, or of its Chinese character pairs when
        those cover more: a colloquial cut (开个/票) loses words, not most pairs."""
        words = self.coverage(query.words, chunk_id)
        if not query.pairs:
            return words
        # the other words stay in the second view: "iPhone" still counts in "iPhone保修多久"
        others = [word for word in query.words if not _CJK.search(word)]
        return max(words, self.coverage([*others, *query.pairs], chunk_id))


class TokenCache:
    """Token ids per chunk id, persisted as one ``.npz`` so reopening skips jieba.

    A cache, never the truth: ids missing from it are tokenised again, extra ones are ignored.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.vocabulary = Vocabulary()
        self.tokens: dict[str, NDArray[np.int32]] = {}
        self._dirty = False

    def load(self) -> None:
        if not self.path.exists():
            return
        try:
            with np.load(self.path, allow_pickle=False) as data:
                version = int(data["version"]) if "version" in data.files else 1
                if version != TERMS_VERSION:
                    # made by another tokeniser: every chunk is tokenised again and saved
                    log.info("kb.lexical.cache_outdated", path=str(self.path), version=version)
                    return
                vocabulary = Vocabulary(data["vocab"].tolist())
                ids = data["ids"].tolist()
                flat, offsets = data["flat"], data["offsets"]
        except (OSError, ValueError, KeyError) as error:
            log.warning("kb.lexical.cache_unreadable", path=str(self.path), error=str(error))
            return
        self.vocabulary = vocabulary
        self.tokens = {
            chunk_id: flat[offsets[i] : offsets[i + 1]] for i, chunk_id in enumerate(ids)
        }

    def ensure(self, items: Iterable[tuple[str, str]]) -> None:
        """Tokenises the ``(chunk_id, search_text)`` pairs not cached yet."""
        for chunk_id, text in items:
            if chunk_id not in self.tokens:
                self.tokens[chunk_id] = self.vocabulary.encode(index_terms(text))
                self._dirty = True

    def retain(self, ids: Iterable[str]) -> None:
        """Forgets every chunk not in ``ids``."""
        keep = set(ids)
        dropped = [chunk_id for chunk_id in self.tokens if chunk_id not in keep]
        for chunk_id in dropped:
            del self.tokens[chunk_id]
        self._dirty = self._dirty or bool(dropped)

    def compact(self) -> None:
        """Drops vocabulary entries no cached chunk uses any more (a fresh table, so index
        snapshots still holding the old one stay valid)."""
        if not self.tokens:
            self.vocabulary = Vocabulary()
            return
        used = np.unique(np.concatenate(list(self.tokens.values())))
        if len(self.vocabulary.tokens) <= 2 * len(used) + 1000:
            return
        remap = np.full(len(self.vocabulary.tokens), -1, dtype=np.int32)
        remap[used] = np.arange(len(used), dtype=np.int32)
        self.vocabulary = Vocabulary(self.vocabulary.tokens[i] for i in used.tolist())
        self.tokens = {chunk_id: remap[ids] for chunk_id, ids in self.tokens.items()}
        self._dirty = True

    def save(self) -> None:
        """Writes the cache atomically if it changed."""
        self.compact()
        if not self._dirty:
            return
        ids = list(self.tokens)
        arrays = [self.tokens[i] for i in ids]
        lengths = np.array([len(a) for a in arrays], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        flat = np.concatenate(arrays) if arrays else np.zeros(0, dtype=np.int32)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=self.path.parent, suffix=".npz")
        try:
            with os.fdopen(handle, "wb") as out:
                np.savez(
                    out,
                    version=np.array(TERMS_VERSION),
                    vocab=np.array(self.vocabulary.tokens, dtype=str),
                    ids=np.array(ids, dtype=str),
                    flat=flat,
                    offsets=offsets,
                )
            os.replace(tmp, self.path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        self._dirty = False
