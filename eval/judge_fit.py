"""Validate (and tune) the support judge and the relevance score on labelled real answer sentences.

    python eval/judge_fit.py eval/datasets/answer_labels.jsonl

Rows are split by question (a stable hash of the question id): the *tune* half chooses
thresholds, the *held-out* half reports accuracy, AUROC, and precision and recall of the
positive class at the chosen threshold. Scores are recomputed with the code and settings in
force, so a change to the judge is judged on the same labels.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

from rag.answer import Answerer
from rag.metrics import auroc, mean
from rag.relevance import judged_relevance
from rag.settings import load_settings
from rag.support import Evidence


def held_out(qid: str) -> bool:
    return int(hashlib.sha256(qid.encode()).hexdigest(), 16) % 2 == 1


def scores(rows: list[dict], answerer: Answerer) -> None:
    """Add ``support_score`` and ``relevance_score`` to every row (current code)."""
    retriever = answerer.retriever
    for r in rows:
        abstract = retriever.paper(r["paper_id"]).abstract
        ev = Evidence.from_chunks([(0, len(abstract), abstract)])
        sup = answerer.judge.score([r["sentence"]], [ev])[0][0]
        r["support_score"] = sup.score
        # relevance as the verifier computes it: own similarity + the supporting sentence's evidence score
        hits = [h for h in retriever.search(r["question"], k=5) if h.paper_id == r["paper_id"]] or retriever.search_with(r["question"], [r["paper_id"]], k=1)
        evidence = answerer.evidence(r["question"], hits[:1])[0]
        start = ev.sentences[sup.sentence][0] if sup.sentence >= 0 else -1
        src_rel = next((s.score for s in evidence.all_sentences if s.start == start), 0.0)
        (cos_q, cov), = answerer.judge.relevance_inputs([r["sentence"]], r["question"])
        titles = [retriever.paper(pid).title for pid in r["prompt_sources"]]
        r["relevance_score"] = judged_relevance(
            r["sentence"], r["question"], cosine=cos_q, coverage=cov,
            source_relevance=src_rel if sup.score >= answerer.settings.answer.support_threshold else 0.0,
            titles=titles, bare_title=r["bare_title"],
        )


def report(name: str, rows: list[dict], score_key: str, label_key: str, threshold: float | None) -> float:
    tune = [r for r in rows if not held_out(r["qid"])]
    test = [r for r in rows if held_out(r["qid"])]

    def acc(rs, t):
        return mean([float((r[score_key] >= t) == r[label_key]) for r in rs])

    best_t = max((t / 100 for t in range(1, 100)), key=lambda t: (acc(tune, t), -abs(t - 0.5)))
    t = best_t if threshold is None else threshold
    for split, rs in (("tune", tune), ("held-out", test)):
        labels = [bool(r[label_key]) for r in rs]
        pred = [r[score_key] >= t for r in rs]
        tp = sum(p and y for p, y in zip(pred, labels))
        precision = tp / max(1, sum(pred))
        recall = tp / max(1, sum(labels))
        try:
            au = auroc([r[score_key] for r in rs], labels)
        except ValueError:
            au = float("nan")
        print(
            f"{name} [{split}] n={len(rs)} positives={sum(labels)} threshold={t:.2f} accuracy={acc(rs, t):.3f} "
            f"AUROC={au:.3f} precision={precision:.3f} recall={recall:.3f}"
        )
    return best_t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("labels", type=Path)
    ap.add_argument("--support-threshold", type=float, default=None, help="report at this threshold instead of tuning one")
    ap.add_argument("--relevance-threshold", type=float, default=None)
    args = ap.parse_args()
    rows = [json.loads(line) for line in args.labels.read_text().splitlines() if line.strip()]
    rows = [r for r in rows if r.get("supported") is not None and r.get("addresses") is not None]
    answerer = Answerer(load_settings(overrides={"answer.abstention_model": ""}))
    scores(rows, answerer)
    print(f"{len(rows)} labelled sentences; variants: {sorted({r['variant'] for r in rows})}")
    t = report("support", rows, "support_score", "supported", args.support_threshold)
    print(f"  tuned support threshold: {t:.2f} (in force: {answerer.settings.answer.support_threshold})")
    t = report("relevance", rows, "relevance_score", "addresses", args.relevance_threshold)
    print(f"  tuned relevance threshold: {t:.2f} (in force: {answerer.settings.answer.relevance_threshold})")
    both = [dict(r, ok=r["supported"] and r["addresses"]) for r in rows]
    print(f"share supported {mean([float(r['supported']) for r in rows]):.3f}, addresses {mean([float(r['addresses']) for r in rows]):.3f}, "
          f"both {mean([float(r['ok']) for r in both]):.3f}")


if __name__ == "__main__":
    main()
