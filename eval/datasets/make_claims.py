"""Build eval/datasets/claims.jsonl: labelled claims to validate the support judge.

Deterministic (seeded). Every claim is judged against one paper's full abstract:
- supported  verbatim     a sentence of the abstract
- supported  shortened    a sentence cut to its first clause (when it has a comma)
- supported  paraphrase   hand-written paraphrases (PARAPHRASES below)
- unsupported number      a sentence with one number changed to one not in the abstract
- unsupported negation    a sentence with its main verb negated
- unsupported entity      a sentence with a dataset/task name swapped for one not in the abstract
- unsupported other_paper a sentence from another paper that shares words with this one

Run: .venv/bin/python eval/datasets/make_claims.py  (writes claims.jsonl next to this file)
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

from rag.corpus import load_collection
from rag.lexical import tokenize
from rag.text import sentence_spans

HERE = Path(__file__).resolve().parent
SEEDS = HERE.parent.parent / "data" / "seeds"

# (title prefix, claim): faithful paraphrases written by hand
PARAPHRASES = [
    ("Stretching Each Dollar", "Masking up to three quarters of image patches during training makes large text-to-image diffusion transformers cheap to train."),
    ("Stretching Each Dollar", "The authors train a 1.16 billion parameter sparse transformer on only 37M images."),
    ("COAT: Compressing Optimizer", "COAT cuts end-to-end training memory by 1.54x relative to BF16 with almost no loss in quality."),
    ("End-to-End Semi-Supervised Object Detection with Soft Teacher", "The soft teacher weighs the classification loss of each unlabeled box by the teacher's classification score."),
    ("End-to-End Training of Neural Retrievers", "Retriever pre-training with the Inverse Cloze Task and masked salient spans, followed by supervised finetuning, improves top-20 retrieval accuracy by more than 2 points."),
    ("Monarch: Expressive Structured Matrices", "Monarch matrices are products of two block-diagonal matrices, which makes them efficient on hardware."),
    ("Policy-Gradient Training of Language Models for Ranking", "Neural PG-RANK treats an LLM as a Plackett-Luce ranking policy trained with policy gradient."),
    ("EfficientQAT", "EfficientQAT produces a 2-bit Llama-2-70B on one A100-80GB GPU in 41 hours."),
    ("FAST-VQA", "FAST-VQA raises state-of-the-art accuracy by about 10% while using 99.5% fewer FLOPs on 1080P videos."),
    ("CSKV: Training-Efficient Channel Shrinking", "CSKV shrinks the KV cache memory by 80% while keeping long-context ability."),
    ("VIOLET", "VIOLET models temporal dynamics with a video transformer and adds masked visual-token modeling as a pre-training task."),
    ("PIGEON", "Pigeon speeds up RGNN inference by up to 7.8x and training by up to 5.6x."),
]
SWAPS = ["ImageNet", "COCO", "CIFAR-10", "SQuAD", "LibriSpeech", "Wikipedia", "GLUE", "KITTI", "MNIST", "speech recognition", "machine translation", "protein folding"]
NEGATE = [(" improves ", " does not improve "), (" outperforms ", " does not outperform "), (" achieves ", " does not achieve "),
          (" reduces ", " does not reduce "), (" is ", " is not "), (" can ", " cannot "), (" significantly ", " barely ")]


def main() -> None:
    rng = random.Random(13)
    papers = load_collection([SEEDS])
    rows = []

    def add(paper, claim, label, kind):
        rows.append({"id": f"claim-{len(rows) + 1:03d}", "paper_id": paper.id, "title": paper.title, "claim": claim,
                     "label": label, "kind": kind, "evidence": paper.abstract})

    def sentences(p):
        return [p.abstract[s.start:s.end] for s in sentence_spans(p.abstract) if len(p.abstract[s.start:s.end]) > 60]

    sample = rng.sample(papers, 120)
    for p in sample[:40]:
        add(p, rng.choice(sentences(p)), "supported", "verbatim")
    for p in sample[40:70]:
        cands = [s for s in sentences(p) if ", " in s[30:]]
        if cands:
            s = rng.choice(cands)
            cut = s[: s.index(", ", 30)] + "."
            add(p, cut, "supported", "shortened")
    for prefix, claim in PARAPHRASES:
        p = next(p for p in papers if p.title.startswith(prefix))
        add(p, claim, "supported", "paraphrase")
    for p in sample[70:110]:
        cands = [s for s in sentences(p) if re.search(r"\d+(?:\.\d+)?", s)]
        if not cands:
            continue
        s = rng.choice(cands)
        m = rng.choice(list(re.finditer(r"\d+(?:\.\d+)?", s)))
        for _ in range(20):
            new = str(round(float(m.group(0)) * rng.choice([0.5, 1.7, 2.3, 3.1]) + rng.choice([1, 3, 7]), 1 if "." in m.group(0) else None))
            if new not in p.abstract:
                add(p, s[: m.start()] + new + s[m.end():], "unsupported", "number")
                break
    for p in papers:
        if sum(r["kind"] == "negation" for r in rows) >= 30:
            break
        for s in sentences(p):
            pair = next(((a, b) for a, b in NEGATE if a in s), None)
            if pair and p.id not in {r["paper_id"] for r in rows if r["kind"] == "negation"}:
                add(p, s.replace(pair[0], pair[1], 1), "unsupported", "negation")
                break
    for p in sample[110:] + sample[:30]:
        for s in sentences(p):
            present = [w for w in SWAPS if w in s]
            if present:
                new = rng.choice([w for w in SWAPS if w not in p.abstract])
                add(p, s.replace(present[0], new, 1), "unsupported", "entity")
                break
    for p in sample[:40]:
        words = set(tokenize(p.abstract))
        others = sorted((q for q in papers if q.id != p.id), key=lambda q: -len(words & set(tokenize(q.abstract))))[:3]
        q = rng.choice(others)
        add(p, rng.choice(sentences(q)), "unsupported", "other_paper")
    with open(HERE / "claims.jsonl", "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    from collections import Counter

    print(Counter(r["kind"] for r in rows), len(rows))


if __name__ == "__main__":
    main()
