"""Evaluation metrics as small pure functions (paper level, binary relevance).

Retrieval: recall@k, reciprocal rank, nDCG@k. Answers: ALCE citation recall and precision
(Gao et al. 2023, "Enabling Large Language Models to Generate Text with Citations"), key-fact
recall, abstention rates, percentiles. The entailment judge is passed in as a function, so
these stay pure and testable with exact values.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence

Supports = Callable[[int, frozenset[int]], bool]
"""``supports(sentence_index, source_ids)``: do these sources together support that sentence?"""


def recall_at_k(ranked: Sequence[str], gold: set[str], k: int) -> float:
    """Share of the gold items found in the first ``k`` ranked items."""
    if not gold:
        raise ValueError("recall needs at least one gold item")
    return len(gold & set(ranked[:k])) / len(gold)


def reciprocal_rank(ranked: Sequence[str], gold: set[str]) -> float:
    for i, item in enumerate(ranked, start=1):
        if item in gold:
            return 1.0 / i
    return 0.0


def ndcg_at_k(ranked: Sequence[str], gold: set[str], k: int = 10) -> float:
    """Binary-relevance nDCG: DCG = sum rel_i / log2(i + 1); ideal DCG over min(|gold|, k) positions."""
    if not gold:
        raise ValueError("nDCG needs at least one gold item")
    dcg = sum(1.0 / math.log2(i + 1) for i, item in enumerate(ranked[:k], start=1) if item in gold)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(len(gold), k) + 1))
    return dcg / ideal


def cited_papers_recall_precision(cited: set[str], gold: set[str]) -> tuple[float, float | None]:
    """Paper-level view of one answer: the share of the gold papers it cites, and the share of
    the papers it cites that are gold (None when it cites none). A low precision is a lower
    bound: a cited paper outside the gold list may still be relevant."""
    if not gold:
        raise ValueError("cited-paper recall needs at least one gold paper")
    return len(cited & gold) / len(gold), (len(cited & gold) / len(cited) if cited else None)


def citation_recall_precision(citations: Sequence[Sequence[int]], supports: Supports) -> tuple[float, float, int]:
    """ALCE citation recall and precision for one answer.

    ``citations[i]`` are the sources cited by sentence ``i``. Recall: share of sentences
    whose cited sources jointly support them (a sentence with no citation scores 0).
    Precision: share of citations that are not irrelevant, where a citation of a supported
    sentence with several citations is irrelevant if it does not support the sentence
    alone and the other citations still support it without it; citations of an
    unsupported sentence all count as imprecise. Returns (recall, precision, n_citations);
    precision is 0.0 when there are no citations.
    """
    if not citations:
        return 0.0, 0.0, 0
    supported = 0
    precise = 0
    total = 0
    for i, cited in enumerate(citations):
        refs = frozenset(cited)
        total += len(refs)
        joint = bool(refs) and supports(i, refs)
        supported += joint
        if not joint:
            continue
        if len(refs) == 1:
            precise += 1
            continue
        for c in refs:
            if supports(i, frozenset({c})):
                precise += 1
            elif not supports(i, refs - {c}):
                precise += 1
    recall = supported / len(citations)
    precision = precise / total if total else 0.0
    return recall, precision, total


_MULTIPLE = re.compile(r"(?<=\d)\s*(?:\$?\\times\$?|×|times\b|x\b)")  # "2.4×" = "2.4 times" = "2.4x" = "2.4times"


def _norm(text: str) -> str:
    text = _MULTIPLE.sub("x", text.lower().replace("\\%", "%"))
    return " ".join(re.findall(r"[\w.%+-]+", text))


def key_fact_recall(answer: str, facts: Sequence[str]) -> float:
    """Share of key facts that occur in the answer (case-, punctuation- and space-insensitive)."""
    if not facts:
        raise ValueError("key-fact recall needs at least one fact")
    text = _norm(answer)
    return sum(_norm(f) in text for f in facts) / len(facts)


def near_verbatim(sentence: str, source: str, threshold: float = 0.8) -> bool:
    """Is ``sentence`` a copy of ``source`` (difflib ratio of their normalized words >= threshold)?"""
    import difflib

    a, b = _norm(sentence).split(), _norm(source).split()
    return bool(a and b) and difflib.SequenceMatcher(None, a, b, autojunk=False).ratio() >= threshold


def verbatim_share(sentences: Sequence[tuple[str, Sequence[int]]], quotes: Mapping[int, Sequence[str]]) -> float:
    """Share of answer sentences (text, citation numbers) that copy (:func:`near_verbatim`) any
    sentence quoted by a reference they cite (``quotes``: reference number -> quoted sentences)."""
    if not sentences:
        raise ValueError("verbatim share needs at least one sentence")
    copied = [any(near_verbatim(text, q) for n in cited for q in quotes.get(n, ())) for text, cited in sentences]
    return sum(copied) / len(copied)


def risk_coverage(confidence: Sequence[float], correct: Sequence[bool]) -> list[tuple[float, float]]:
    """Selective answering: answer the questions with the highest confidence first. Returns,
    for each number answered (1..n), (coverage = share answered, accuracy of those answered).
    Ties in confidence are taken in input order."""
    order = sorted(range(len(confidence)), key=lambda i: (-confidence[i], i))
    out, right = [], 0
    for k, i in enumerate(order, start=1):
        right += bool(correct[i])
        out.append((k / len(order), right / k))
    return out


def percentile(values: Sequence[float], p: float) -> float:
    """Linear-interpolation percentile (numpy's default), p in 0..100."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * p / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def auroc(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """Area under the ROC curve = P(score of a random positive > a random negative), ties 1/2."""
    pos = [s for s, y in zip(scores, labels) if y]
    neg = [s for s, y in zip(scores, labels) if not y]
    if not pos or not neg:
        raise ValueError("AUROC needs both classes")
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else float("nan")
