"""Lexical side of retrieval: tokenization, the BM25 index (bm25s) and sentence picking."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence, Set
from functools import lru_cache
from pathlib import Path

import numpy as np

_WORD = re.compile(r"[a-z0-9]+")
# Bumped whenever tokenize() changes, so cached BM25 indexes built the old way are not reused.
TOKENIZER_VERSION = 2
# Question words carry no topic; bm25s's English list keeps them.
_QUESTION_WORDS = frozenset(
    "what which who whom whose how why when where does do did doing done can could would should may might "
    "please explain describe tell paper papers there any".split()
)


def _import_bm25s():
    import logging

    import bm25s

    # bm25s sets its logger to DEBUG on import; let it follow the application's logging.
    logging.getLogger("bm25s").setLevel(logging.NOTSET)
    return bm25s


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """English stopwords (bm25s's list) and question words, lowercase. The list is read from
    bm25s's ``stopwords.py`` on its own, without importing the bm25s package (which imports
    scipy: 0.16 s of a cold ``rag search``)."""
    import importlib.util

    spec = importlib.util.find_spec("bm25s")  # finds the package without running its __init__
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the bm25s package is not installed: run `make setup`")
    path = Path(next(iter(spec.submodule_search_locations))) / "stopwords.py"
    module_spec = importlib.util.spec_from_file_location("_bm25s_stopwords", path)
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"{path}: cannot read bm25s's stopword list")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return frozenset(module.STOPWORDS_EN) | _QUESTION_WORDS


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens, English stopwords and question words removed, Snowball-stemmed."""
    stop = stopwords()
    words = [w for w in _WORD.findall(text.lower()) if w not in stop]
    return _stemmer().stemWords(words) if words else []


def bm25_scores(data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, n_docs: int, ids: Sequence[int]) -> np.ndarray:
    """BM25 score of every document from bm25s's eager index (a CSC matrix of per-term
    document scores): the sum of each query term's column, added in query order with
    ``np.add.at`` as bm25s does, so the floats are the same bit for bit. Pure."""
    scores = np.zeros(n_docs, dtype=data.dtype)
    for t in ids:
        start, end = indptr[t], indptr[t + 1]
        np.add.at(scores, indices[start:end], data[start:end])
    return scores


class BM25Index:
    """A BM25 index over documents in a fixed order, plus document frequencies.

    Built and saved with bm25s (its files: ``data/indices/indptr.csc.index.npy``,
    ``vocab.index.json``); loaded and scored without it (:func:`bm25_scores`), so a query
    process does not import bm25s and scipy."""

    def __init__(self, vocab: dict[str, int], data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, df: dict[str, int], n_docs: int, model=None):
        self.vocab = vocab
        self.data, self.indices, self.indptr = data, indices, indptr
        self.df = df
        self.n_docs = n_docs
        self.model = model  # the bm25s model, when built in this process (save() writes its files)

    @classmethod
    def build(cls, texts: Sequence[str], k1: float = 1.2, b: float = 0.75) -> BM25Index:
        bm25s = _import_bm25s()

        tokens = [tokenize(t) for t in texts]
        model = bm25s.BM25(k1=k1, b=b, method="lucene")
        model.index(tokens, show_progress=False)
        df = Counter(tok for doc in tokens for tok in set(doc))
        sc = model.scores
        return cls(dict(model.vocab_dict), sc["data"], sc["indices"], sc["indptr"], dict(df), len(texts), model=model)

    def save(self, folder: Path) -> None:
        import json

        if self.model is None:
            raise RuntimeError("BM25Index.save: only an index built in this process can be saved")
        self.model.save(str(folder), show_progress=False)
        (folder / "df.json").write_text(json.dumps({"n_docs": self.n_docs, "df": self.df}))

    @classmethod
    def load(cls, folder: Path) -> BM25Index:
        import json

        meta = json.loads((folder / "df.json").read_text())
        vocab = json.loads((folder / "vocab.index.json").read_text(encoding="utf-8"))
        data, indices, indptr = (np.load(folder / f"{name}.csc.index.npy") for name in ("data", "indices", "indptr"))
        return cls(vocab, data, indices, indptr, meta["df"], meta["n_docs"])

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document for ``query`` (zeros when no query term is known)."""
        ids = [self.vocab[t] for t in tokenize(query) if t in self.vocab]
        if not ids:
            return np.zeros(self.n_docs, dtype=np.float32)
        return bm25_scores(self.data, self.indices, self.indptr, self.n_docs, ids)

    def top(self, query: str, k: int) -> list[tuple[int, float]]:
        """Best ``k`` documents with a positive score, best first (ties by document order)."""
        s = self.scores(query)
        k = min(k, len(s))
        if k == 0:
            return []
        idx = np.argpartition(-s, k - 1)[:k]
        idx = idx[np.lexsort((idx, -s[idx]))]
        return [(int(i), float(s[i])) for i in idx if s[i] > 0]

    def idf(self, term: str) -> float:
        """Lucene's BM25 idf of a (stemmed) term; unknown terms get the maximum."""
        n = self.df.get(term, 0)
        return math.log(1 + (self.n_docs - n + 0.5) / (n + 0.5))


def names_title(query: str, title: str, df: dict[str, int], max_df: int = 5) -> bool:
    """Does the query use a rare word of this title (a method name or acronym such as "CSKV")?

    Embedding models do not know such names, so a short question that names a paper can
    look unrelated to it by cosine similarity alone."""
    title_terms = set(tokenize(title))
    return any(t in title_terms and 0 < df.get(t, 0) <= max_df for t in tokenize(query))


def best_span(query: str, text: str, spans: Sequence[tuple[int, int]], idf) -> int:
    """Index of the span of ``text`` whose words best cover the query's terms (idf-weighted).

    Ties (including no overlap at all) go to the earliest span.
    """
    return best_terms(set(tokenize(query)), [set(tokenize(text[s:e])) for s, e in spans], idf)


def best_terms(query_terms: set[str], span_terms: Sequence[Set[str]], idf) -> int:
    """:func:`best_span` on terms already tokenized: the index of the term set that covers
    ``query_terms`` best (idf-weighted), the earliest on ties. Pure."""
    best, best_score = 0, 0.0
    for i, words in enumerate(span_terms):
        score = sum(idf(t) for t in query_terms & words)
        if score > best_score + 1e-9:
            best, best_score = i, score
    return best


_WORDS = re.compile(r"[A-Za-z][A-Za-z0-9'-]*[A-Za-z0-9]|[A-Za-z]")


_FIRST_PERSON = frozenset({"i", "i'm", "i've", "i'd", "i'll"})  # capitalised mid-sentence, never a name


def without_possessive(word: str) -> str:
    """``word`` without a possessive 's (straight or curly): "GPTQ's" -> "GPTQ". Pure."""
    return word.removesuffix("'s").removesuffix("\u2019s")


def name_words(text: str) -> list[str]:
    """Words written like a name: capitalised mid-sentence ("Monolith"), or with inner
    capitals or digits ("TidalDecode", "GPT4"). The pronoun I is not one: "how do I prune
    ..." names nothing (it counted as a name no paper mentions, and pushed the question
    towards abstention). Pure."""
    out = []
    for m in _WORDS.finditer(text):
        w = m.group(0)
        if w.lower() in _FIRST_PERSON:
            continue
        before = text[: m.start()].rstrip()
        sentence_start = not before or before[-1] in ".?!:\"'("
        inner = any(c.isupper() for c in w[1:]) or any(c.isdigit() for c in w)
        if inner or (w[0].isupper() and not sentence_start):
            out.append(w)
    return out


def words(text: str) -> list[str]:
    """The words of ``text`` as :func:`name_words` and :func:`title_words` split it. Pure."""
    return _WORDS.findall(text)


def title_names(title: str, min_chars: int = 4) -> set[str]:
    """The words a title writes as names, lower-cased: with inner capitals or digits
    ("FlexRound", "OTOV2", "MicroControllers") or the one word before its colon ("Monolith:
    Real Time ...", "Nudging: ..."), at least ``min_chars`` long. Users type such names in
    lower case or at the start of a question ("how does flexround work", "monolith: what
    ..."), where :func:`name_words` cannot tell them from ordinary words; the title can. Pure."""
    # "On-Device" is Title Case with a hyphen, not a name
    out = {w for w in words(title) if any(c.isupper() and w[i - 1] != "-" for i, c in enumerate(w) if i) or any(c.isdigit() for c in w)}
    head, colon, _ = title.partition(":")
    if colon and _WORDS.fullmatch(head.strip()):
        out.add(head.strip())
    return {w.lower() for w in out if len(w) >= min_chars}


def title_words(title: str) -> set[str]:
    """A title's words, lower-cased and unstemmed ("Monolithic" is not "Monolith")."""
    return {w.lower() for w in words(title)}
