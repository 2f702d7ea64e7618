"""The offline support judge: how well does a source back an answer sentence?

No NLI model is available offline, so the score combines signals that can be computed
with what we have, each in [0, 1]:

* semantic: cosine similarity of the claim and the best source sentence (the embedding
  model), rescaled so that unrelated sentences (cosine ~0.2) score ~0;
* lexical: the share of the claim's content words (stemmed, weighted by rarity) found in
  that sentence and its neighbours;
* numbers: every number in the claim must occur in the source, else the score is capped;
* negation: a negation present on one side only lowers the score.

``support = (w * semantic + (1 - w) * lexical) * penalties``. The score is validated
against labelled claims by the evaluation harness (accuracy, AUROC).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .embeddings import Embedder
from .evidence import embed_passages
from .lexical import tokenize
from .text import sentence_spans

_NUMBER = re.compile(r"(?<![\w.])(\d+(?:[.,]\d+)*)(?:\s*(%|x|×|k|m|b|bn|billion|million|thousand))?", re.I)
_NEGATION = re.compile(r"\b(?:not|no|never|none|neither|nor|cannot|can't|doesn't|don't|isn't|aren't|without|fails?|unable)\b", re.I)

SEMANTIC_WEIGHT = 0.6
COS_FLOOR = 0.2  # cosine of unrelated sentences with all-MiniLM-L6-v2 is around here
NUMBER_CAP = 0.3
NEGATION_FACTOR = 0.4


@dataclass(frozen=True)
class Evidence:
    """One source's sentences, each with its offsets in the paper's abstract."""

    text: str
    sentences: tuple[tuple[int, int, str], ...]  # (start, end, sentence) in abstract coordinates

    @classmethod
    def from_chunks(cls, chunks: Sequence[tuple[int, int, str]]) -> Evidence:
        sentences: list[tuple[int, int, str]] = []
        seen: set[int] = set()
        for start, _end, text in sorted(chunks):
            for span in sentence_spans(text):
                a = start + span.start
                if a not in seen:
                    seen.add(a)
                    sentences.append((a, start + span.end, text[span.start : span.end]))
        return cls(" ".join(s for _, _, s in sentences), tuple(sentences))


NO_SENTENCE = -1  # Support.sentence when no evidence sentence supports the claim at all


@dataclass(frozen=True)
class Support:
    score: float
    sentence: int  # index into Evidence.sentences of the best sentence (NO_SENTENCE when none)


def numbers_in(text: str) -> set[str]:
    out = set()
    for m in _NUMBER.finditer(text):
        value = m.group(1).replace(",", "")
        out.add(value + (m.group(2) or "").lower().replace("×", "x"))
    return out


def numbers_agree(claim: str, source: str) -> bool:
    """Does ``claim`` state a number, and does ``source`` state every number it states?"""
    return bool(numbers_in(claim)) and _number_ok(claim, source)


def _number_ok(claim: str, source: str) -> bool:
    needed = numbers_in(claim)
    if not needed:
        return True
    have = numbers_in(source)
    bare = {re.sub(r"[^\d.]", "", h) for h in have}
    return all(n in have or re.sub(r"[^\d.]", "", n) in bare for n in needed)


def _lexical(claim_tokens: list[str], window_tokens: set[str], idf) -> float:
    if not claim_tokens:
        return 0.0
    weights = {t: idf(t) for t in set(claim_tokens)}
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in window_tokens) / total if total else 0.0


def window_credit(single: Sequence[float], pairs: Sequence[float], k: int) -> float:
    """Semantic match of sentence ``k``: its own cosine, or that of a two-sentence window
    holding it when ``k`` is the window's better-matching member. A claim that combines two
    sentences is judged against both, and its reference is the sentence that says more of it,
    never the background sentence before it. Pure."""
    best = float(single[k])
    for w in (k - 1, k):  # window w holds sentences w and w + 1
        if 0 <= w < len(pairs) and max(single[w], single[w + 1]) == single[k]:
            best = max(best, float(pairs[w]))
    return best


class SupportJudge:
    """Scores claims against evidence. ``idf`` maps a stemmed token to its weight."""

    def __init__(self, embedder: Embedder, idf=None):
        self.embedder = embedder
        self.idf = idf or (lambda t: 1.0)

    def score(self, claims: Sequence[str], evidence: Sequence[Evidence]) -> list[list[Support]]:
        """``result[i][j]``: support of claim ``i`` by evidence ``j``.

        A claim is compared with each source sentence and with each window of two adjacent
        sentences (a claim that combines two sentences of one abstract is judged against
        both); the best position is reported as the sentence index."""
        if not claims:
            return []
        all_sentences = [s for ev in evidence for _, _, s in ev.sentences]
        windows = [f"{ev.sentences[k][2]} {ev.sentences[k + 1][2]}" for ev in evidence for k in range(len(ev.sentences) - 1)]
        claim_vecs = self.embedder.embed(list(claims), kind="document")
        passages = embed_passages(self.embedder, all_sentences + windows) if all_sentences else np.zeros((0, claim_vecs.shape[1]), dtype=np.float32)
        sent_vecs, win_vecs = passages[: len(all_sentences)], passages[len(all_sentences) :]
        cos = claim_vecs @ sent_vecs.T if len(all_sentences) else np.zeros((len(claims), 0))
        win_cos = claim_vecs @ win_vecs.T if len(windows) else np.zeros((len(claims), 0))
        sent_tokens = [set(tokenize(s)) for s in all_sentences]
        out: list[list[Support]] = []
        for i, claim in enumerate(claims):
            claim_tokens = tokenize(claim)
            claim_neg = bool(_NEGATION.search(claim))
            row: list[Support] = []
            offset = woffset = 0
            for ev in evidence:
                n = len(ev.sentences)
                best = Support(0.0, NO_SENTENCE)
                number_ok = _number_ok(claim, ev.text)
                for k in range(n):
                    window = set().union(*sent_tokens[offset + max(0, k - 1) : offset + min(n, k + 2)])
                    c = window_credit(cos[i, offset : offset + n], win_cos[i, woffset : woffset + max(0, n - 1)], k)
                    semantic = max(0.0, (c - COS_FLOOR) / (1 - COS_FLOOR))
                    s = SEMANTIC_WEIGHT * semantic + (1 - SEMANTIC_WEIGHT) * _lexical(claim_tokens, window, self.idf)
                    if claim_neg != bool(_NEGATION.search(ev.sentences[k][2])):
                        s *= NEGATION_FACTOR
                    if not number_ok:
                        s = min(s, NUMBER_CAP)
                    if s > best.score:
                        best = Support(round(s, 4), k)
                row.append(best)
                offset += n
                woffset += max(0, n - 1)
            out.append(row)
        return out

    def relevance_inputs(self, claims: Sequence[str], question: str) -> list[tuple[float, float]]:
        """For each claim: its cosine to the question and the idf-weighted share of the
        question's terms it contains (inputs of rag.relevance.sentence_relevance)."""
        from .evidence import term_coverage

        if not claims:
            return []
        vectors = self.embedder.embed([question, *claims], kind="document")
        q_terms = tokenize(question)
        return [(float(vectors[0] @ vectors[i + 1]), term_coverage(q_terms, set(tokenize(c)), self.idf)) for i, c in enumerate(claims)]
