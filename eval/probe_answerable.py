"""Experiment: is the model's own p("yes") to "do these sources answer the question?" a
useful abstention feature?

    python eval/probe_answerable.py eval/datasets/dev.jsonl --out runs/probe-dev.jsonl

For each question: retrieval and evidence exactly as ``ask()`` builds them, the abstention
features, then one forward pass of the local model over the evidence prompt followed by a
yes/no question; p_yes is the softmax mass of "yes" tokens against "no" tokens at the first
answer position. Prints the AUROC of p_yes, of the stored abstention model, and their time.

Result (2026-12-03, Qwen2.5-Coder-0.5B, users.jsonl, 80 questions): AUROC of p_yes 0.478,
of the abstention model 0.740; 12 s per probe on a busy machine. The 0.5B model's yes/no
says nothing about answerability here, so it is not an abstention feature.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

from rag.answer import Answerer, evidence_sources
from rag.llm import LlamaCppLLM
from rag.metrics import auroc
from rag.settings import load_settings

PROBE = (
    "Do the sources above state the answer to this question? "
    "Reply with one word: yes or no."
)


def token_ids(model, words: list[str]) -> list[int]:
    ids = set()
    for w in words:
        toks = model.tokenize(w.encode(), add_bos=False, special=False)
        if len(toks) == 1:
            ids.add(toks[0])
    return sorted(ids)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("dataset", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    settings = load_settings()
    answerer = Answerer(settings)
    llm = answerer.llm
    assert isinstance(llm, LlamaCppLLM)
    model, lock = llm._loaded()
    yes = token_ids(model, ["yes", "Yes", " yes", " Yes", "YES"])
    no = token_ids(model, ["no", "No", " no", " No", "NO"])
    rows = [json.loads(x) for x in args.dataset.read_text().splitlines() if x.strip()]
    out = []
    for row in rows:
        q = row["question"]
        hits = answerer.retriever.search_with(q, (), k=max(settings.retrieval.top_k, settings.answer.max_sources))
        ev = answerer.evidence(q, hits)
        p, feats = answerer.answerability(q, hits, ev)
        sources = evidence_sources(hits, ev, settings)
        msgs = answerer.messages(q, sources)
        msgs = [{"role": m.role, "content": m.content} for m in msgs]
        msgs[-1]["content"] += "\n\n" + PROBE
        box: dict = {}

        def capture(input_ids, scores, box=box):
            box["scores"] = scores.copy()
            return scores

        t = time.perf_counter()
        with lock:
            model.create_chat_completion(msgs, max_tokens=1, temperature=0.0, logits_processor=[capture])
        dt = time.perf_counter() - t
        s = box["scores"]
        m = max(float(s[i]) for i in yes + no)
        py = sum(math.exp(float(s[i]) - m) for i in yes)
        pn = sum(math.exp(float(s[i]) - m) for i in no)
        rec = {"id": row["id"], "answerable": row["answerable"], "p_yes": py / (py + pn), "p_model": p, "features": feats, "probe_s": dt}
        out.append(rec)
        print(json.dumps({k: rec[k] for k in ("id", "answerable", "p_yes", "p_model", "probe_s")}), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(json.dumps(r) + "\n" for r in out))
    labels = [bool(r["answerable"]) for r in out]
    print("AUROC p_yes", round(auroc([r["p_yes"] for r in out], labels), 4))
    print("AUROC model", round(auroc([r["p_model"] for r in out], labels), 4))
    print("probe seconds p50", sorted(r["probe_s"] for r in out)[len(out) // 2])


if __name__ == "__main__":
    main()
