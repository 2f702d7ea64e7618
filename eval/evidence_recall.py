"""How much of the answer does the prompt carry? Key-fact recall of the prompt's sources.

    python eval/evidence_recall.py eval/datasets/dev.jsonl [--set answer.evidence_sentences=2 ...]

For every answerable question with key facts: retrieve as `rag ask` does, build the
sources the prompt would carry (evidence-first, or chunks with answer.context=chunks) and
count the key facts that occur in them, and the prompt's source tokens. No LLM runs, so
evidence selection can be tuned in seconds; an answer cannot state a key fact its prompt
lacks (the model is told to use only the sources).
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from rag.answer import Answerer, build_sources, evidence_sources
from rag.chunking import token_counter
from rag.corpus import normalize_title
from rag.evaluate import load_dataset
from rag.metrics import key_fact_recall
from rag.settings import load_settings, parse_assignment


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("datasets", nargs="+", type=Path)
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = ap.parse_args()
    settings = load_settings(overrides=dict(parse_assignment(o) for o in args.overrides))
    answerer = Answerer(settings)
    index = answerer.retriever.index
    titles = {normalize_title(c.title): c.paper_id for c in index.chunks}
    count = token_counter(settings.chunking.encoding)
    a = settings.answer
    for path in args.datasets:
        questions = [q for q in load_dataset(path, titles) if q.answerable and q.key_facts]
        recalls, tokens, n_sources = [], [], []
        for q in questions:
            hits = answerer.retriever.search(q.question, k=max(settings.retrieval.top_k, a.max_sources))
            if a.context == "evidence":
                sources = evidence_sources(hits, answerer.evidence(q.question, hits), settings)
            else:
                sources = build_sources(hits, settings, lambda pid: answerer.retriever.paper(pid).abstract)
            text = "\n".join(s.prompt_text() for s in sources)
            recalls.append(key_fact_recall(text, q.key_facts))
            tokens.append(count(text))
            n_sources.append(len(sources))
        print(
            f"{path.name}: {len(questions)} questions; prompt key-fact recall {statistics.mean(recalls):.3f}; "
            f"source tokens p50 {statistics.median(tokens):.0f}; sources {statistics.mean(n_sources):.2f}"
        )


if __name__ == "__main__":
    main()
