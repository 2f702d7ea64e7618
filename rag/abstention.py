"""Calibrated abstention: does the collection answer this question?

A logistic regression over features that exist before the LLM runs (retrieval scores and
the selected evidence), fitted on a labelled question set with cross-validation by
``eval/fit_abstention.py`` and stored as a small JSON file (``answer.abstention_model``,
default ``config/abstention.json``). Its operating point is chosen for a false-abstention
rate of at most 5 % on out-of-fold predictions. Features and fitting are pure functions
with exact tests; no dependency beyond numpy.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ConfigError
from .evidence import PaperEvidence, term_coverage
from .lexical import name_words, tokenize

FEATURES = ("dense_best", "dense_gap", "evidence_best", "coverage_best", "names_title", "names_missing")


def features(
    question: str,
    dense_scores: Sequence[float | None],
    evidence: Sequence[PaperEvidence],
    idf,
    paper_df,
    top: int = 3,
) -> dict[str, float]:
    """The abstention features of one question.

    ``dense_scores``: best dense cosine of each retrieved paper, in rank order (None when
    dense search did not find it); ``evidence``: the top papers' scored evidence;
    ``paper_df(term)``: in how many papers a stemmed term occurs.
    """
    dense = sorted((d for d in dense_scores if d is not None), reverse=True)
    q_terms = tokenize(question)
    cover, names = 0.0, 0.0
    name_stems = {st for w in name_words(question) for st in tokenize(w)}
    found: set[str] = set()
    for ev in evidence[:top]:
        paper_terms = set(tokenize(ev.title + " " + ev.abstract))
        found |= name_stems & paper_terms
        cover = max(cover, term_coverage(q_terms, paper_terms, idf))
        title_terms = set(tokenize(ev.title))
        if any(t in title_terms and 0 < paper_df(t) <= 2 for t in q_terms):
            names = 1.0
    best_ev = max((s.score for ev in evidence[:top] for s in ev.all_sentences), default=0.0)
    return {
        "dense_best": dense[0] if dense else 0.0,
        "dense_gap": dense[0] - dense[1] if len(dense) > 1 else 0.0,
        "evidence_best": best_ev,
        "coverage_best": cover,
        "names_title": names,
        # names the question uses ("Mamba", "SWE-bench") that none of the top papers mentions
        "names_missing": len(name_stems - found) / len(name_stems) if name_stems else 0.0,
    }


@dataclass(frozen=True)
class AbstentionModel:
    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float  # answer when p >= threshold
    info: dict

    def probability(self, values: dict[str, float]) -> float:
        z = self.bias + sum(w * (values[f] - m) / s for f, w, m, s in zip(self.features, self.weights, self.mean, self.scale))
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    @classmethod
    def load(cls, path: Path) -> AbstentionModel:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            model = cls(
                tuple(data["features"]), tuple(data["mean"]), tuple(data["scale"]), tuple(data["weights"]),
                float(data["bias"]), float(data["threshold"]), dict(data.get("info", {})),
            )
        except OSError:
            raise ConfigError(f"{path}: the abstention model file is missing (answer.abstention_model; fit one with eval/fit_abstention.py)") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{path}: not an abstention model ({exc})") from None
        unknown = set(model.features) - set(FEATURES)
        if unknown or not (len(model.features) == len(model.mean) == len(model.scale) == len(model.weights)):
            raise ConfigError(f"{path}: unknown features {sorted(unknown)} or mismatched lengths")
        return model

    def to_json(self) -> str:
        return json.dumps(
            {"features": self.features, "mean": self.mean, "scale": self.scale, "weights": self.weights,
             "bias": self.bias, "threshold": self.threshold, "info": self.info},
            indent=2,
        )


# -- fitting (pure) ------------------------------------------------------------------------


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, steps: int = 3000, lr: float = 0.1) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression by gradient descent on standardised ``x``.
    Returns (weights, bias). Classes are weighted to balance them."""
    n, d = x.shape
    w, b = np.zeros(d), 0.0
    pos = max(1.0, float(y.sum()))
    neg = max(1.0, float(n - y.sum()))
    cw = np.where(y > 0, n / (2 * pos), n / (2 * neg))
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(x @ w + b)))
        g = cw * (p - y)
        w -= lr * (x.T @ g / n + l2 * w / n)
        b -= lr * g.mean()
    return w, float(b)


def threshold_for(p_answerable: Sequence[float], max_false_abstention: float) -> float:
    """Highest threshold whose false-abstention rate (answerable questions with p below it)
    is at most ``max_false_abstention``. ``p_answerable``: probabilities of answerable questions."""
    ps = sorted(p_answerable)
    allowed = int(math.floor(max_false_abstention * len(ps) + 1e-9))
    if allowed >= len(ps):
        return 1.0
    return float(ps[allowed])  # the allowed lowest ones fall below it


def cross_validated(x: np.ndarray, y: np.ndarray, folds: int = 5, seed: int = 0, **kw) -> np.ndarray:
    """Out-of-fold probabilities (stratified folds, standardised within each fold)."""
    rng = np.random.default_rng(seed)
    fold = np.zeros(len(y), dtype=int)
    for cls in (0, 1):
        idx = np.flatnonzero(y == cls)
        rng.shuffle(idx)
        fold[idx] = np.arange(len(idx)) % folds
    out = np.zeros(len(y))
    for f in range(folds):
        tr, te = fold != f, fold == f
        mu, sd = x[tr].mean(0), x[tr].std(0) + 1e-6
        w, b = fit_logistic((x[tr] - mu) / sd, y[tr], **kw)
        out[te] = 1 / (1 + np.exp(-(((x[te] - mu) / sd) @ w + b)))
    return out
