"""Turn eval runs into answer sentences to label, with the judge's scores beside them.

    python eval/label_export.py runs/A/results.jsonl[:variant] ... --out eval/datasets/answer_sentences.jsonl

For every answer sentence the model wrote (the shown answer, or the verified draft of an
answer that abstained or became extractive), one row: the question, the sentence, the
paper it is attributed to (its citation, else the source that supports it best) with that
paper's abstract, and the scores of the current judge (support) and relevance inputs.
Labelling rules: eval/datasets/answer_labels.md. ``eval/judge_fit.py`` reads the
labelled rows back, recomputing the scores with the code in force.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rag.answer import Answerer
from rag.corpus import normalize_title
from rag.settings import load_settings
from rag.support import Evidence


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", help="results.jsonl[:variant name]")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    answerer = Answerer(load_settings(overrides={"answer.abstention_model": ""}))
    retriever = answerer.retriever
    rows = []
    for spec in args.runs:
        path, _, variant = spec.partition(":")
        for line in Path(path).read_text().splitlines():
            r = json.loads(line)
            if r.get("status") not in ("answered", "abstained") or r.get("abstain_reason") == "retrieval":
                continue
            sources = r.get("prompt_sources") or [p["paper_id"] for p in r["retrieved"][:3]]
            ref_paper = {ref["n"]: ref["paper_id"] for ref in r.get("references", [])}
            shown = r["sentences"] if r.get("mode") != "extractive" else []
            drafted = [(s, "shown") for s in shown] + [(s, "draft") for s in r.get("draft", [])]
            titles = {normalize_title(retriever.paper(pid).title) for pid in sources}
            evidence = [Evidence.from_chunks([(0, len(a), a)]) for a in (retriever.paper(pid).abstract for pid in sources)]
            for k, (s, where) in enumerate(drafted):
                if s["status"] == "abstention":
                    continue
                if where == "shown":
                    cited = [ref_paper[n] for n in s["citations"] if n in ref_paper]
                else:  # draft numbers are prompt source numbers
                    cited = [sources[n - 1] for n in s["citations"] if 1 <= n <= len(sources)]
                support = answerer.judge.score([s["text"]], evidence)[0]
                best = max(range(len(sources)), key=lambda j: support[j].score)
                pid = cited[0] if cited else sources[best]
                paper = retriever.paper(pid)
                rows.append(
                    {
                        "key": f"{variant or path}:{r['id']}:{k}",
                        "variant": variant or path,
                        "qid": r["id"],
                        "question": r["question"],
                        "answerable": r["answerable"],
                        "sentence": s["text"],
                        "paper_id": pid,
                        "title": paper.title,
                        "abstract": paper.abstract,
                        "prompt_sources": sources,
                        "status": s["status"],
                        "bare_title": normalize_title(s["text"]) in titles,
                        "judge_support": support[sources.index(pid)].score if pid in sources else None,
                        "relevance": s.get("relevance"),
                    }
                )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(rows)} sentences from {len({r['qid'] + r['variant'] for r in rows})} answers -> {args.out}")


if __name__ == "__main__":
    main()
