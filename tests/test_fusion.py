import random

import pytest

from rag.fusion import group_by_parent, rrf


def test_rrf_exact_values():
    out = rrf([["a", "b", "c"], ["b", "d"]], k=60)
    assert [i for i, _ in out] == ["b", "a", "d", "c"]
    assert out[0][1] == pytest.approx(1 / 62 + 1 / 61)
    assert out[1][1] == pytest.approx(1 / 61)
    assert out[2][1] == pytest.approx(1 / 62)
    assert out[3][1] == pytest.approx(1 / 63)


def test_rrf_weights_and_ties():
    out = rrf([["a"], ["b"]], k=1, weights=[1.0, 2.0])
    assert out == [("b", pytest.approx(1.0)), ("a", pytest.approx(0.5))]
    # equal scores: better best-rank first, then first appearance
    assert [i for i, _ in rrf([["x", "y"], ["y", "x"]], k=10)] == ["x", "y"]


def test_rrf_counts_duplicates_once():
    assert rrf([["a", "a", "b"]], k=0) == [("a", 1.0), ("b", pytest.approx(1 / 3))]


def test_rrf_bad_weights():
    with pytest.raises(ValueError):
        rrf([["a"]], weights=[1, 2])


def _reference_rrf(rankings, k, weights):
    """Straight from the paper's formula, written independently."""
    items = {d for r in rankings for d in r}
    score = {}
    for d in items:
        score[d] = sum(w / (k + r.index(d) + 1) for r, w in zip(rankings, weights) if d in r)
    return score


def test_rrf_matches_reference_on_random_rankings():
    rng = random.Random(7)
    for _ in range(200):
        pool = [f"d{i}" for i in range(30)]
        rankings = [rng.sample(pool, rng.randint(0, 20)) for _ in range(rng.randint(1, 4))]
        weights = [rng.choice([0.5, 1.0, 2.0]) for _ in rankings]
        k = rng.choice([1, 10, 60])
        got = dict(rrf(rankings, k=k, weights=weights))
        ref = _reference_rrf(rankings, k, weights)
        assert got.keys() == ref.keys()
        for d in ref:
            assert got[d] == pytest.approx(ref[d])
        scores = [s for _, s in rrf(rankings, k=k, weights=weights)]
        assert scores == sorted(scores, reverse=True)


def test_group_by_parent():
    ranked = [("p1:0", 0.9), ("p2:0", 0.8), ("p1:1", 0.7), ("p3:0", 0.6), ("p2:1", 0.5), ("p1:2", 0.4)]
    parent = {c: c.split(":")[0] for c, _ in ranked}
    out = group_by_parent(ranked, parent, top_k=2, per_parent=2)
    assert out == [("p1", 0.9, [("p1:0", 0.9), ("p1:1", 0.7)]), ("p2", 0.8, [("p2:0", 0.8), ("p2:1", 0.5)])]
    assert [p for p, _, _ in group_by_parent(ranked, parent, top_k=5, per_parent=1)] == ["p1", "p2", "p3"]

