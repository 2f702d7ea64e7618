"""Fit the abstention model (rag/abstention.py) on an eval run and write config/abstention.json.

    rag eval --dataset eval/datasets/dev.jsonl --out runs/feat --retrieval-only --baselines ""
    python eval/fit_abstention.py runs/feat/results.jsonl [--max-false-abstention 0.05] [--out config/abstention.json]

Each row's ``abstention_features`` and ``answerable`` are the data. Out-of-fold
probabilities (5-fold, stratified) choose the threshold that keeps the false-abstention
rate at most the target, and give honest figures; the stored weights are then fitted on
all rows. Prints the cross-validated abstention accuracy, false-abstention rate and AUROC.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from rag.abstention import FEATURES, AbstentionModel, cross_validated, fit_logistic, threshold_for
from rag.metrics import auroc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", nargs="+", type=Path)
    ap.add_argument("--max-false-abstention", type=float, default=0.05)
    ap.add_argument("--out", type=Path, default=Path("config/abstention.json"))
    ap.add_argument("--features", default=",".join(FEATURES))
    ap.add_argument("--relevance-threshold", type=float, default=None, help="with answered runs: also choose answer.extractive_above")
    ap.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="use this operating point instead of the one --max-false-abstention gives on these rows (e.g. one chosen "
        "on questions in another style, see --why); the cross-validated figures are then given at it",
    )
    ap.add_argument("--why", default="", help="with --threshold: why, stored in the model's info")
    args = ap.parse_args()
    names = tuple(args.features.split(","))
    rows = [json.loads(line) for path in args.results for line in path.read_text().splitlines() if line.strip()]
    x = np.array([[r["abstention_features"][f] for f in names] for r in rows], dtype=float)
    y = np.array([float(r["answerable"]) for r in rows])
    oof = cross_validated(x, y)
    t_cv = threshold_for(oof[y == 1], args.max_false_abstention)
    t = t_cv if args.threshold is None else args.threshold
    far = float(np.mean(oof[y == 1] < t))
    acc = float(np.mean(oof[y == 0] < t))
    mu, sd = x.mean(0), x.std(0) + 1e-6
    w, b = fit_logistic((x - mu) / sd, y)
    info = {
        "fitted_on": [str(p) for p in args.results],
        "rows": len(rows),
        "answerable": int(y.sum()),
        "max_false_abstention": args.max_false_abstention,
        "cv_auroc": round(auroc(list(oof), [bool(v) for v in y]), 4),
        "cv_false_abstention_rate": round(far, 4),
        "cv_abstention_accuracy": round(acc, 4),
    }
    if args.threshold is not None:
        info.update(threshold_for_max_false_abstention=round(t_cv, 6), threshold_chosen=args.threshold, threshold_why=args.why)
    answered_rows = [i for i, r in enumerate(rows) if "status" in r]
    if answered_rows and args.relevance_threshold is not None:
        # Second stage, on runs with answers: after the LLM, a draft with no supported and relevant
        # sentence becomes an extractive answer when p >= extractive_above, else an abstention.
        best = None
        for t2 in [t] + [round(x / 100, 2) for x in range(1, 100) if x / 100 > t]:
            final = []
            for i in answered_rows:
                r = rows[i]
                if oof[i] < t:
                    final.append(True)  # declined at retrieval
                    continue
                sentences = r["draft"] if r.get("mode") == "extractive" or r.get("abstained") else r["sentences"]
                good = any(s["status"] in ("cited", "attributed") and s["relevance"] >= args.relevance_threshold for s in sentences)
                final.append(not good and oof[i] < t2)
            ys = [rows[i]["answerable"] for i in answered_rows]
            far2 = float(np.mean([a for a, yy in zip(final, ys) if yy]))
            acc2 = float(np.mean([a for a, yy in zip(final, ys) if not yy]))
            if far2 <= args.max_false_abstention and (best is None or acc2 > best[2]):
                best = (t2, far2, acc2)
        if best:
            info.update(extractive_above=best[0], cv_false_abstention_rate_after_llm=round(best[1], 4), cv_abstention_accuracy_after_llm=round(best[2], 4))
    model = AbstentionModel(names, tuple(mu.round(6)), tuple(sd.round(6)), tuple(w.round(6)), round(b, 6), round(t, 6), info)
    args.out.write_text(model.to_json() + "\n")
    print(json.dumps(info, indent=2))
    print("weights:", dict(zip(names, w.round(3))), "threshold:", round(t, 4))


if __name__ == "__main__":
    main()
