"""Rank fusion and paper grouping: small pure functions, no I/O.

Reciprocal rank fusion (Cormack, Clarke & Büttcher, SIGIR 2009):
``score(d) = sum_r  w_r / (k + rank_r(d))`` with ranks starting at 1.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import TypeVar

K = TypeVar("K", bound=Hashable)


def rrf(rankings: Sequence[Sequence[K]], k: int = 60, weights: Sequence[float] | None = None) -> list[tuple[K, float]]:
    """Fuse ranked lists (best first). Returns ``(item, score)`` best first.

    Ties are broken by the best rank the item reached in any list, then by the order of
    first appearance, so the result is deterministic. An item repeated within one list
    counts once, at its best rank.
    """
    if weights is None:
        weights = [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError("one weight per ranking")
    scores: dict[K, float] = {}
    best_rank: dict[K, int] = {}
    order: dict[K, int] = {}
    for ranking, w in zip(rankings, weights):
        seen: set[K] = set()
        for rank, item in enumerate(ranking, start=1):
            if item in seen:
                continue
            seen.add(item)
            scores[item] = scores.get(item, 0.0) + w / (k + rank)
            best_rank[item] = min(best_rank.get(item, rank), rank)
            order.setdefault(item, len(order))
    return sorted(scores.items(), key=lambda kv: (-kv[1], best_rank[kv[0]], order[kv[0]]))


def group_by_parent(
    ranked: Sequence[tuple[K, float]], parent_of: Callable[[K], Hashable] | Mapping[K, Hashable], top_k: int, per_parent: int
) -> list[tuple[Hashable, float, list[tuple[K, float]]]]:
    """Collapse a ranked list of chunks to parents (papers): each parent once, scored by its
    best chunk, keeping up to ``per_parent`` of its best chunks. Best first, at most ``top_k``."""
    get = parent_of.__getitem__ if isinstance(parent_of, Mapping) else parent_of
    groups: dict[Hashable, list[tuple[K, float]]] = {}
    for item, score in ranked:
        parent = get(item)
        if parent not in groups:
            if len(groups) >= top_k:
                # still collect extra chunks for parents we already hold
                continue
            groups[parent] = []
        if len(groups[parent]) < per_parent:
            groups[parent].append((item, score))
    return [(p, chunks[0][1], chunks) for p, chunks in groups.items()]


def score_fusion(dense: Mapping[K, float], lexical: Mapping[K, float], alpha: float) -> list[tuple[K, float]]:
    """Convex combination of scores: ``alpha * cosine + (1 - alpha) * bm25 / max(bm25)``.

    Unlike RRF, a lexical match only counts as much as its BM25 score says: a query whose
    rare terms are absent from the collection has weak, flat BM25 scores and cannot push
    aside dense evidence. An item missing from one list scores 0 there. Ties are broken by
    first appearance (dense list first), so the result is deterministic.
    """
    top = max(lexical.values(), default=0.0)
    order = {k: i for i, k in enumerate(dict.fromkeys([*dense, *lexical]))}
    scores = {k: alpha * dense.get(k, 0.0) + (1 - alpha) * (lexical.get(k, 0.0) / top if top > 0 else 0.0) for k in order}
    return sorted(scores.items(), key=lambda kv: (-kv[1], order[kv[0]]))
