"""Metrics: exact expected values, and agreement with reference implementations."""

import math
import random

import numpy as np
import pytest
from sklearn.metrics import ndcg_score, roc_auc_score

from rag.metrics import (
    auroc,
    citation_recall_precision,
    cited_papers_recall_precision,
    key_fact_recall,
    ndcg_at_k,
    percentile,
    recall_at_k,
    reciprocal_rank,
)


def test_recall_and_rr_exact():
    ranked = ["a", "b", "c", "d"]
    assert recall_at_k(ranked, {"b", "z"}, 1) == 0.0
    assert recall_at_k(ranked, {"b", "z"}, 2) == 0.5
    assert recall_at_k(ranked, {"a"}, 10) == 1.0
    assert reciprocal_rank(ranked, {"c", "d"}) == pytest.approx(1 / 3)
    assert reciprocal_rank(ranked, {"z"}) == 0.0
    with pytest.raises(ValueError):
        recall_at_k(ranked, set(), 1)


def test_ndcg_exact():
    # gold at ranks 1 and 3, two gold items: (1 + 1/log2(4)) / (1 + 1/log2(3))
    assert ndcg_at_k(["a", "x", "b"], {"a", "b"}, 10) == pytest.approx((1 + 0.5) / (1 + 1 / math.log2(3)))
    assert ndcg_at_k(["x", "a"], {"a"}, 10) == pytest.approx(1 / math.log2(3))
    assert ndcg_at_k(["x"] * 10 + ["a"], {"a"}, 10) == 0.0
    # ideal DCG is over min(|gold|, k) positions
    assert ndcg_at_k(["a", "b"], {"a", "b", "c"}, 2) == pytest.approx(1.0)


def test_ndcg_matches_sklearn():
    rng = random.Random(3)
    for _ in range(100):
        n = rng.randint(2, 15)
        items = [f"d{i}" for i in range(n)]
        gold = set(rng.sample(items, rng.randint(1, n - 1)))
        ranked = rng.sample(items, n)
        k = rng.choice([1, 3, 5, 10])
        rel = np.array([[1.0 if d in gold else 0.0 for d in ranked]])
        scores = np.array([[float(n - i) for i in range(n)]])
        assert ndcg_at_k(ranked, gold, k) == pytest.approx(ndcg_score(rel, scores, k=k))


def test_alce_citation_recall_precision_exact():
    # sentence 0 cites {1}: supported. sentence 1 cites {1, 2}: jointly supported, 2 alone
    # supports, 1 alone does not and {2} still supports without it -> 1 is irrelevant.
    # sentence 2 cites {3}: unsupported. sentence 3 cites nothing.
    table = {
        (0, frozenset({1})): True,
        (1, frozenset({1, 2})): True,
        (1, frozenset({1})): False,
        (1, frozenset({2})): True,
        (2, frozenset({3})): False,
    }
    r, p, n = citation_recall_precision([[1], [1, 2], [3], []], lambda i, s: table.get((i, s), False))
    assert (r, p, n) == (0.5, 0.5, 4)  # recall 2/4 sentences; precision (1 + 1) / 4 citations


def test_alce_both_needed_citations_are_precise():
    # neither citation alone supports, together they do: both precise
    table = {(0, frozenset({1, 2})): True}
    assert citation_recall_precision([[1, 2]], lambda i, s: table.get((i, s), False)) == (1.0, 1.0, 2)
    assert citation_recall_precision([], lambda i, s: True) == (0.0, 0.0, 0)


def test_key_fact_recall():
    answer = "It reaches 72\\% utilization and 225 TFLOPs/s on A100 GPUs."
    assert key_fact_recall(answer, ["72%", "225 TFLOPs/s", "H100"]) == pytest.approx(2 / 3)
    assert key_fact_recall("Scaled  to 1.16 BILLION parameters", ["1.16 billion parameter"]) == 1.0
    # a speed-up reads the same however the sign was scraped or written
    for written in ("1.8× faster", "1.8times faster", "1.8 times faster", "1.8x faster", "1.8$\\times$ faster"):
        assert key_fact_recall(f"It is {written} than RT-DETR.", ["1.8times faster", "1.8× faster"]) == 1.0, written
    assert key_fact_recall("It is 1.8 faster.", ["1.8× faster"]) == 0.0


def test_percentile_matches_numpy():
    rng = random.Random(5)
    for _ in range(50):
        values = [rng.random() for _ in range(rng.randint(1, 30))]
        for p in (50, 95):
            assert percentile(values, p) == pytest.approx(float(np.percentile(values, p)))


def test_auroc_exact_and_matches_sklearn():
    assert auroc([0.9, 0.8, 0.3, 0.1], [True, True, False, False]) == 1.0
    assert auroc([0.5, 0.5], [True, False]) == 0.5
    rng = random.Random(9)
    scores = [round(rng.random(), 2) for _ in range(200)]
    labels = [rng.random() < 0.5 for _ in scores]
    assert auroc(scores, labels) == pytest.approx(roc_auc_score(labels, scores))


def test_cited_papers_recall_and_precision():
    assert cited_papers_recall_precision({"a"}, {"a", "b", "c"}) == (1 / 3, 1.0)
    assert cited_papers_recall_precision({"a", "x"}, {"a", "b"}) == (0.5, 0.5)
    assert cited_papers_recall_precision(set(), {"a"}) == (0.0, None)
    with pytest.raises(ValueError):
        cited_papers_recall_precision({"a"}, set())
