"""Answer quality and speed of local GGUF models on dev-set questions (one model per run).

Usage: python bench/compare_models.py MODEL [N]   (MODEL: bundled name or .gguf path)
Prints, per question and overall: status, key-fact recall (share of the question's key facts
found in the answer), whether a gold paper is cited, the share of answer sentences that
verification kept as supported, time to first token and total time.
"""

from __future__ import annotations

import json
import statistics
import sys

from common import ROOT

from rag.answer import Answerer
from rag.settings import load_settings


def main(model: str, n: int = 12) -> None:
    rows = [json.loads(line) for line in (ROOT / "eval" / "datasets" / "dev.jsonl").read_text().splitlines() if line.strip()]
    rows = [r for r in rows if r["answerable"] and r["type"] in ("lookup", "detail", "comparison")][:n] + [
        r for r in rows if not r["answerable"]
    ][: max(1, n // 3)]
    answerer = Answerer(load_settings(overrides={"llm.model": model}))
    answerer.retriever.warm()
    stats, declined = [], []
    for r in rows:
        a = answerer.ask(r["question"])
        if not r["answerable"]:
            declined.append(a.abstained)
            print(f"{r['id']} unanswerable {a.status:9} reason={a.abstain_reason} | {a.text[:110]}")
            continue
        text = a.text.lower()
        kf = sum(f.lower() in text for f in r["key_facts"]) / len(r["key_facts"])
        gold = {t.lower() for t in r["gold_titles"]}
        cited_gold = any(ref.title.lower() in gold for ref in a.references)
        kept = [s.status in ("cited", "attributed") for s in a.sentences]
        supported = sum(kept) / len(kept) if kept else 0.0
        stats.append((a.status == "answered", kf, cited_gold, supported, a.timings.first_token_s or 0, a.timings.total_s, a.tokens.completion))
        print(f"{r['id']} {a.status:9} reason={a.abstain_reason} kf={kf:.2f} gold={cited_gold!s:5} supported={supported:.2f} ttft={a.timings.first_token_s or 0:.1f}s total={a.timings.total_s:.1f}s | {a.text[:110]}")
    cols = list(zip(*stats))
    print(
        f"\n{model}: answered {sum(cols[0])}/{len(stats)}, key-fact recall {statistics.mean(cols[1]):.2f}, "
        f"gold cited {sum(cols[2])}/{len(stats)}, supported share {statistics.mean(cols[3]):.2f}, "
        f"ttft p50 {statistics.median(cols[4]):.1f} s, total p50 {statistics.median(cols[5]):.1f} s, "
        f"completion tokens p50 {statistics.median(cols[6]):.0f}; unanswerable declined {sum(declined)}/{len(declined)}"
    )


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 12)
