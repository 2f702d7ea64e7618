"""Evidence first: the sentences of the retrieved papers that answer the question.

Before the LLM runs, every sentence of each top paper's abstract is scored against the
question (embedding similarity plus the idf-weighted share of the question's terms it
contains). The best few sentences of each paper, widened by the sentence before when a
chosen sentence is not self-contained ("This ...", "It ...", "However ..."), become that
paper's evidence. The prompt carries only titles and evidence sentences, so it is short
and on point; the verifier, the extractive fallback and the abstention features all read
the same evidence.

Invariants: every evidence sentence is ``abstract[start:end]`` of its paper, in abstract
order; sentences addressed to a language model (prompt injections) are never evidence.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .embeddings import Embedder, Kind
from .lexical import tokenize
from .text import instruction_like, sentence_spans, without_lead_in

# a sentence starting like this leans on the one before it
_DEPENDENT = re.compile(
    r"^(?:this|these|that|those|it|its|they|their|such|both|the\s+(?:former|latter|resulting|proposed|method|model|approach)|"
    r"however|moreover|furthermore|additionally|in\s+addition|in\s+particular|specifically|to\s+this\s+end|thus|hence|"
    r"therefore|as\s+a\s+result|consequently|instead|then|finally|also|further)\b",
    re.I,
)
# a sentence that states what the paper does (its contribution), rather than background
_CONTRIBUTION = re.compile(
    r"\b(?:we|this\s+(?:paper|work|study)|our\s+(?:method|approach|model|framework|system|contributions?|design|work))\s+"
    r"(?:\w+\s+){0,2}?(?:propose|present|introduce|design|develop|craft|build|devise|show|find|demonstrate|use|employ|leverage|"
    r"adopt|apply|train|achieve|obtain|reduce|improve|achieves|reduces|improves|proposes|presents|introduces|outperforms?|are|is|"
    # stating the paper's own study: "In this work, we investigate ...", "we make a first attempt", "This paper tackles ..."
    r"make|investigate|address|study|explore|analy[sz]e|formulate|extend|establish|provide|offer|conduct|construct|create|"
    r"describe|tackle|examine|focus|seek|aim|take|revisit|evaluate|identify|argue|consider|rethink|report)",
    re.I,
)
# a sentence that announces code, models or data (a release), which answers no question
_RELEASE = re.compile(
    r"\b(?:will|aim\s+to|plan\s+to)\s+(?:release|open-source|make)\b"
    r"|\brelease\s+(?:our|the|all)?\s*(?:complete\s+)?(?:training\s+)?(?:code|codes|models?|weights|implementation|data)\b"
    r"|\b(?:code|codes|models|weights|samples|demos?|implementation|project\s+page)\b[^.]{0,50}?\b(?:is|are|will\s+be)\s+"
    r"(?:made\s+)?(?:publicly\s+)?(?:available|released|open-sourced)\b"
    r"|\bavailable\s+at\b",
    re.I,
)
COS_FLOOR = 0.1  # question-to-sentence cosine of unrelated text with all-MiniLM-L6-v2
LEXICAL_WEIGHT = 0.35


@dataclass(frozen=True)
class EvidenceSentence:
    start: int
    end: int
    text: str
    score: float  # relevance to the question (0..1)
    role: str = "body"  # roles() over the whole abstract: background, contribution, body or release


@dataclass(frozen=True)
class PaperEvidence:
    """One numbered source: a paper and its evidence sentences (abstract order)."""

    n: int
    paper_id: str
    title: str
    abstract: str
    sentences: tuple[EvidenceSentence, ...]
    all_sentences: tuple[EvidenceSentence, ...]  # every sentence of the abstract, scored

    @property
    def best(self) -> EvidenceSentence | None:
        return max(self.sentences, key=lambda s: s.score, default=None)


class CachedEmbedder:
    """An embedder with a bounded in-memory cache: abstract sentences are embedded once per
    process and shared by evidence selection and verification.

    ``passages``: where :meth:`embed_passages` gets the vectors it has not seen, e.g. the same
    model behind the disk cache (rag/vector_cache.py): the sentences of an abstract and their
    two-sentence windows are the same texts in every process, so a cold ``rag ask`` reads
    them instead of computing them (about 0.3 s of MiniLM per answer on 2 cores). Questions
    and answer sentences, new every time, go through :meth:`embed` and stay in memory only."""

    def __init__(self, embedder: Embedder, size: int = 20_000, *, passages: Embedder | None = None):
        self.inner = embedder
        self.passages = passages
        self.name, self.dim = embedder.name, embedder.dim
        self._cache: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Document vectors of texts taken from abstracts (see the class docstring)."""
        return self._embed(texts, "document", self.passages or self.inner)

    def embed(self, texts: Sequence[str], *, kind: Kind = "document") -> np.ndarray:
        return self._embed(texts, kind, self.inner)

    def _embed(self, texts: Sequence[str], kind: Kind, source: Embedder) -> np.ndarray:
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if (kind, t) not in self._cache))
        if missing:
            vectors = source.embed(missing, kind=kind)
            with self._lock:
                for t, v in zip(missing, vectors):
                    self._cache[(kind, t)] = v
                while len(self._cache) > self._size:
                    self._cache.popitem(last=False)
        with self._lock:
            out = [self._cache.get((kind, t)) for t in texts]
        if any(v is None for v in out):  # evicted meanwhile by another thread: embed directly
            return source.embed(list(texts), kind=kind)
        return np.stack(out) if out else np.zeros((0, self.dim), dtype=np.float32)


def embed_passages(embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
    """Document vectors of texts taken from abstracts: through :meth:`CachedEmbedder.embed_passages`
    when ``embedder`` has one, else its plain ``embed``."""
    if isinstance(embedder, CachedEmbedder):
        return embedder.embed_passages(texts)
    return embedder.embed(texts, kind="document")


def leans_on_previous(sentence: str) -> bool:
    """Does the sentence lean on the one before it ("This ...", "It ...", "However ...")?"""
    return bool(_DEPENDENT.match(sentence.strip()))


# "This divergence ...", "These results ...": a word that points at something said just before
_POINTS_AT_PREVIOUS = re.compile(
    r"^\W*(?:(?:this|these|that|those|such)\s+(?!(?:paper|work|study|article|survey|thesis|report|letter|said)\b)(?P<word>[a-z][\w-]*)(?:\s+(?P<next>[a-z][\w-]*))?|"
    r"the\s+(?:former|latter|resulting)\b)",
    re.I,
)
# what "This ..." may stand for in an answer's first sentence: the thing the question asked about
_GENERIC = frozenset("method approach model technique framework system algorithm architecture network tool".split())


def points_at_previous(sentence: str, question: str = "", *, first: bool = False) -> bool:
    """Does the sentence open by pointing at what the one before it said ("This divergence
    illustrates ...", "These results ...", "The latter ...")? Not "This paper ..." (the paper
    itself), "This distillation ..." when the question says "distillation" (the asked thing),
    pronouns ("It ..." may stand for the asked term) nor connectives ("However", "That said")
    that read on their own. ``first``: the answer's first sentence, where "This method" also
    stands for what the question asked about. Pure."""
    m = _POINTS_AT_PREVIOUS.match(sentence.strip())
    if m is None:
        return False
    words = [w.lower() for w in (m.group("word"), m.group("next")) if w]  # "This new method": the next word too
    if not words:
        return True  # "the former", "the latter"
    if first and any(w.rstrip("s") in _GENERIC for w in words):
        return False
    return not {st for w in words for st in tokenize(w)} & set(tokenize(question))


# verbs with which an abstract introduces what it proposes (also rag/definitions.py)
INTRODUCING = r"(?:propose|proposes|present|presents|introduce|introduces|develop|develops|design|designs|call|called|name|named|dubbed|termed|coined)"
# "this bottleneck", "these issues": a problem stated in an earlier sentence; in an opening
# purpose clause ("To break through this bottleneck, Vlogger ...") it is only the lead-in
_REFERS_BACK = re.compile(
    r"\b(?:this|these|such)\s+(?:bottleneck|issue|problem|challenge|limitation|gap|drawback|shortcoming|difficult(?:y|ie)|concern)s?\b", re.I
)
_OPENING_PURPOSE = re.compile(r"^To\s[^,]{1,80},\s*")


def points_back(sentence: str) -> bool:
    """Does the sentence's main clause name a problem stated before it ("we aim to address this
    bottleneck by ...") without introducing what the paper proposes ("we address these issues
    and propose the BLSP approach ..." stands on its own)? A quote of it alone does not show
    what it answers. Pure."""
    main = _OPENING_PURPOSE.sub("", without_lead_in(sentence))
    return bool(_REFERS_BACK.search(main)) and not re.search(rf"\b{INTRODUCING}\b", main, re.I)


def term_coverage(query_terms: Sequence[str], text_terms: set[str], idf: Callable[[str], float]) -> float:
    """Idf-weighted share of the query's distinct terms found in the text (0..1)."""
    terms = set(query_terms)
    total = sum(idf(t) for t in terms)
    return sum(idf(t) for t in terms if t in text_terms) / total if total else 0.0


def relevance(cosine: float, coverage: float) -> float:
    """Relevance of a sentence to the question from its cosine and its term coverage."""
    semantic = max(0.0, (cosine - COS_FLOOR) / (1 - COS_FLOOR))
    return round((1 - LEXICAL_WEIGHT) * semantic + LEXICAL_WEIGHT * coverage, 4)


def roles(sentences: Sequence[str]) -> list[str]:
    """'release' for a sentence announcing code, models or data ("Code is available at ...",
    "We aim to release our pipeline ..."); 'background' for the sentences before the first one
    stating the paper's own work, 'contribution' for sentences stating it, 'body' for the rest. Pure."""
    release = [bool(_RELEASE.search(t)) for t in sentences]
    first = next((i for i, t in enumerate(sentences) if not release[i] and _CONTRIBUTION.search(t)), None)
    out = []
    for i, t in enumerate(sentences):
        if release[i]:
            out.append("release")
        elif first is not None and i < first:
            out.append("background")
        elif _CONTRIBUTION.search(t):
            out.append("contribution")
        else:
            out.append("body")
    return out


def role_weighted(score: float, role: str, background_factor: float, contribution_bonus: float) -> float:
    """A sentence's evidence score: background restates the question's topic without
    answering it, and a release announcement answers nothing; a contribution sentence says
    what the paper does."""
    if role in ("background", "release"):
        return round(score * background_factor, 4)
    if role == "contribution":
        return round(min(1.0, score + contribution_bonus), 4)
    return score


def choose(scores: Sequence[float], dependent: Sequence[bool], k: int) -> list[int]:
    """Indices of the ``k`` best sentences, each with the sentence before it when it depends
    on it (transitively), in text order. Pure."""
    chosen: set[int] = set()
    for i in sorted(range(len(scores)), key=lambda i: (-scores[i], i))[:k]:
        j = i
        chosen.add(j)
        while j > 0 and dependent[j]:
            j -= 1
            chosen.add(j)
    return sorted(chosen)


class EvidenceSelector:
    """Scores abstract sentences against a question and picks each paper's evidence."""

    def __init__(
        self,
        embedder: Embedder,
        idf: Callable[[str], float],
        per_paper: int = 3,
        *,
        first_paper: int | None = None,
        background_factor: float = 0.5,
        contribution_bonus: float = 0.15,
    ):
        self.embedder = embedder if isinstance(embedder, CachedEmbedder) else CachedEmbedder(embedder)
        self.idf = idf
        self.per_paper = per_paper
        self.first_paper = first_paper or per_paper
        self.background_factor = background_factor
        self.contribution_bonus = contribution_bonus

    def select(self, question: str, papers: Sequence[tuple[str, str, str]]) -> list[PaperEvidence]:
        """``papers``: (paper_id, title, abstract), best first. Returns numbered evidence."""
        spans = []
        for _pid, _title, abstract in papers:
            spans.append([(s.start, s.end) for s in sentence_spans(abstract) if not instruction_like(abstract[s.start : s.end])])
        texts = [abstract[a:b] for (_, _, abstract), ss in zip(papers, spans) for a, b in ss]
        q = self.embedder.embed([question], kind="query")[0]
        vecs = self.embedder.embed_passages(texts) if texts else np.zeros((0, len(q)), dtype=np.float32)
        cos = vecs @ q if len(texts) else np.zeros(0)
        q_terms = tokenize(question)
        out: list[PaperEvidence] = []
        offset = 0
        for n, ((pid, title, abstract), ss) in enumerate(zip(papers, spans), start=1):
            scored = []
            texts_here = [abstract[a:b] for a, b in ss]
            for k, ((a, b), text, role) in enumerate(zip(ss, texts_here, roles(texts_here))):
                cov = term_coverage(q_terms, set(tokenize(text)), self.idf)
                score = role_weighted(relevance(float(cos[offset + k]), cov), role, self.background_factor, self.contribution_bonus)
                scored.append(EvidenceSentence(a, b, text, score, role))
            offset += len(ss)
            k_here = self.first_paper if n == 1 else self.per_paper
            picked = choose([s.score for s in scored], [leans_on_previous(s.text) for s in scored], k_here)
            out.append(PaperEvidence(n, pid, title, abstract, tuple(scored[i] for i in picked), tuple(scored)))
        return out
