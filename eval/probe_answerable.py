"""Experiment: is the model's own p("yes") to "do these sources answer the question?" a
useful abstention feature?

    python eval/probe_answerable.py eval/datasets/dev.jsonl --out runs/probe-dev.jsonl

For each question: retrieval and evidence exactly as ``ask()`` builds them, the abstention
features, then one forward pass of the local model over the evidence prompt followed by a
yes/no question; p_yes is the softmax mass of "yes" tokens against "no" tokens at the first
answer position. Prints the AUROC of p_yes, of the stored abstention model, and their time.

    python eval/probe_answerable.py eval/datasets/users3.jsonl --out runs/probe.jsonl \
        --model qwen2.5-coder-1.5b-instruct-q4_k_m --prompt short --band 0.03,0.5

``--prompt short`` asks a judge-only prompt over the two closest papers (title and two best
evidence sentences each, about 250 tokens) instead of the answer prompt; ``--band`` keeps
the questions whose abstention-model probability is in [LO, HI), the ones it is unsure of.

Results:

* 2026-12-03, Qwen2.5-Coder-0.5B, answer prompt, users.jsonl (80 questions): AUROC of p_yes
  0.478, of the abstention model 0.740; 12 s per probe on a busy machine.
* 2026-12-04, Qwen2.5-Coder-1.5B, short prompt, band 0.03-0.5: on the tune questions (dev,
  users, users2, paraphrase_tune, offtopic_tune; 96 in the band, 66 answerable) AUROC of
  p_yes 0.751 vs 0.584 for the abstention model; on the held-out ones (users3,
  paraphrase_test, offtopic_test; 84, 65 answerable) 0.531 vs 0.631. 3.6 s per probe. The
  first 29 tune questions gave 0.941: a small sample misleads. Paraphrased questions get a
  "no" because the papers say it in other words. The 0.5B model with the short prompt gave
  p_yes 0.22-0.32 to every question.

Neither model's yes/no is an abstention feature here.
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


SHORT_SYSTEM = "You judge whether research paper abstracts answer a question. Reply with Yes or No."


def token_ids(model, words: list[str]) -> list[int]:
    ids = set()
    for w in words:
        toks = model.tokenize(w.encode(), add_bos=False, special=False)
        if len(toks) == 1:
            ids.add(toks[0])
    return sorted(ids)


def short_prompt(question: str, evidence, papers: int = 2, sentences: int = 2) -> list[dict]:
    parts = []
    for i, ev in enumerate(evidence[:papers], 1):
        best = sorted(sorted(ev.all_sentences, key=lambda s: -s.score)[:sentences], key=lambda s: s.start)
        parts.append(f"[{i}] {ev.title}\n" + " ".join(s.text for s in best))
    user = "Papers:\n\n" + "\n\n".join(parts) + f"\n\nQuestion: {question}\nDo these papers answer the question? Reply Yes or No."
    return [{"role": "system", "content": SHORT_SYSTEM}, {"role": "user", "content": user}]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("dataset", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--model", default=None, help="a GGUF model (llm.model) other than the configured one")
    ap.add_argument("--prompt", choices=("answer", "short"), default="answer")
    ap.add_argument("--band", default=None, metavar="LO,HI", help="only questions whose abstention probability is in [LO, HI)")
    args = ap.parse_args()
    settings = load_settings(overrides={"llm.model": args.model} if args.model else None)
    lo, hi = (float(x) for x in args.band.split(",")) if args.band else (0.0, 2.0)
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
        if p is not None and not lo <= p < hi:
            continue
        if args.prompt == "short":
            msgs = short_prompt(q, ev)
        else:
            msgs = [{"role": m.role, "content": m.content} for m in answerer.messages(q, evidence_sources(hits, ev, settings))]
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
    if len(set(labels)) == 2:
        print("AUROC p_yes", round(auroc([r["p_yes"] for r in out], labels), 4))
        print("AUROC model", round(auroc([r["p_model"] for r in out], labels), 4))
    else:
        print("AUROC: these questions are all answerable or all not; give a set with both")
    print("probe seconds p50", sorted(r["probe_s"] for r in out)[len(out) // 2])


if __name__ == "__main__":
    main()
