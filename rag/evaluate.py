"""The evaluation harness: score retrieval and answers on a question set, write a report.

Dataset format (JSONL, one question per line)::

    {"id": str, "type": "lookup"|"detail"|"definition"|"multi"|"comparison"|"unanswerable",
     "question": str, "gold_titles": [exact paper titles], "reference_answer": str,
     "key_facts": [str], "answerable": bool}

Gold papers are matched by normalized title against the index, so a dataset needs no
project ids. Outputs in the run folder: ``metrics.json``, ``results.jsonl`` (one line per
question) and ``report.md`` with PNG plots.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .corpus import normalize_title
from .errors import RagError
from .metrics import (
    citation_recall_precision,
    cited_papers_recall_precision,
    key_fact_recall,
    mean,
    ndcg_at_k,
    percentile,
    recall_at_k,
    reciprocal_rank,
    verbatim_share,
)
from .retrieve import Retriever
from .schema import hedge_free
from .settings import Settings
from .support import Evidence
from .text import detex

log = logging.getLogger(__name__)

TYPES = ("lookup", "detail", "definition", "multi", "comparison", "unanswerable")
KEYS = {"id", "type", "question", "gold_titles", "reference_answer", "key_facts", "answerable"}
REQUIRED = {"id", "question", "gold_titles"}  # the others have defaults: a retrieval test set needs no more
RETRIEVAL_KEYS = ("recall@1", "recall@5", "recall@10", "mrr", "ndcg@10")
K_CURVE = tuple(range(1, 11))


@dataclass(frozen=True)
class Question:
    id: str
    type: str
    question: str
    gold: tuple[str, ...]  # paper ids
    gold_titles: tuple[str, ...]
    reference_answer: str
    key_facts: tuple[str, ...]
    answerable: bool
    line: int


def load_dataset(path: Path, titles: dict[str, str]) -> list[Question]:
    """Read and check a dataset; ``titles`` maps normalized title -> paper id."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise RagError(f"{path}: cannot read the dataset ({exc})") from None
    out: list[Question] = []
    seen: set[str] = set()
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RagError(f"{where}: bad JSON ({exc.msg})") from None
        if not isinstance(row, dict) or not REQUIRED <= set(row) or not set(row) <= KEYS:
            got = sorted(row) if isinstance(row, dict) else type(row).__name__
            raise RagError(f"{where}: expected the fields {sorted(REQUIRED)} and optionally {sorted(KEYS - REQUIRED)}, got {got}")
        row = {"answerable": bool(row["gold_titles"]), "reference_answer": "", "key_facts": [], **row}
        row.setdefault("type", ("lookup" if len(row["gold_titles"]) == 1 else "multi") if row["answerable"] else "unanswerable")
        for key, kind in (("id", str), ("question", str), ("type", str), ("reference_answer", str), ("gold_titles", list), ("key_facts", list)):
            if not isinstance(row[key], kind) or (kind is list and not all(isinstance(x, str) for x in row[key])):
                raise RagError(f"{where}: field '{key}' must be {'text' if kind is str else 'a list of texts'}")
        if row["type"] not in TYPES:
            raise RagError(f"{where}: unknown type '{row['type']}' (one of {', '.join(TYPES)})")
        if row["id"] in seen:
            raise RagError(f"{where}: duplicate id '{row['id']}'")
        seen.add(row["id"])
        if not isinstance(row["answerable"], bool) or row["answerable"] != (row["type"] != "unanswerable"):
            raise RagError(f"{where}: 'answerable' must be true exactly when type is not 'unanswerable'")
        gold = []
        for title in row["gold_titles"]:
            # a dataset may spell a title as scraped ("HyperZ$\\cdot$Z"), the index as cleaned (corpus.clean_latex)
            pid = titles.get(normalize_title(title)) or titles.get(normalize_title(detex(title)))
            if pid is None:
                raise RagError(f"{where}: gold title not in the index: '{title}'")
            gold.append(pid)
        if row["answerable"] and not gold:
            raise RagError(f"{where}: an answerable question needs gold_titles")
        out.append(
            Question(
                row["id"], row["type"], row["question"], tuple(gold), tuple(row["gold_titles"]), row["reference_answer"],
                tuple(row["key_facts"]), row["answerable"], n,
            )
        )
    if not out:
        raise RagError(f"{path}: no questions")
    return out


RETRIEVAL_VARIANTS: dict[str, dict[str, Any]] = {
    "bm25": {"mode": "bm25"},
    "dense": {"mode": "dense"},
    "hybrid": {"mode": "hybrid"},
    # the fusion before the paraphrase work: fixed BM25 weight, no title-name ranking, Chroma's HNSW
    "rrf-fixed": {"mode": "hybrid", "bm25_adaptive": False, "title_weight": 0.0, "dense_search": "chroma"},
    "no-title": {"mode": "hybrid", "title_weight": 0.0},
    "no-adaptive": {"mode": "hybrid", "bm25_adaptive": False},
}


def _variant(settings: Settings, name: str) -> Settings:
    return settings.model_copy(update={"retrieval": settings.retrieval.model_copy(update=RETRIEVAL_VARIANTS[name])})


def retrieval_scores(ranked: Sequence[str], gold: set[str]) -> dict[str, float]:
    return {
        "recall@1": recall_at_k(ranked, gold, 1),
        "recall@5": recall_at_k(ranked, gold, 5),
        "recall@10": recall_at_k(ranked, gold, 10),
        "mrr": reciprocal_rank(ranked, gold),
        "ndcg@10": ndcg_at_k(ranked, gold, 10),
        **{f"curve@{k}": recall_at_k(ranked, gold, k) for k in K_CURVE},
    }


class Evaluator:
    """Runs one dataset through retrieval (and answering) and aggregates the metrics."""

    def __init__(self, settings: Settings, *, retrieval_only: bool = False, baselines: Sequence[str] = ("bm25", "dense")):
        from .answer import Answerer

        self.settings = settings
        self.retrieval_only = retrieval_only
        self.answerer = Answerer(settings)
        self.retriever = self.answerer.retriever
        known = {*RETRIEVAL_VARIANTS, "llamaindex"}
        unknown = set(baselines) - known
        if unknown:
            raise RagError(f"unknown baseline(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(known))})")
        self.baselines = {
            name: Retriever(_variant(settings, name), embedder=self.retriever.embedder, store=self.retriever.store)
            for name in baselines
            if name in RETRIEVAL_VARIANTS and not (name == settings.retrieval.mode and name in ("bm25", "dense", "hybrid"))
        }
        self.llamaindex = None
        if "llamaindex" in baselines:
            from .baseline import LlamaIndexBaseline

            papers = [self.retriever.paper(pid) for pid in dict.fromkeys(c.paper_id for c in self.retriever.index.chunks)]
            llm = None if retrieval_only else self.answerer.llm
            self.llamaindex = LlamaIndexBaseline(papers, self.retriever.embedder, llm, answer_k=settings.answer.max_sources)
        self._evidence: dict[str, Evidence] = {}

    def titles(self) -> dict[str, str]:
        return {normalize_title(c.title): c.paper_id for c in self.retriever.index.chunks}

    # -- one question -------------------------------------------------------------------

    def evidence(self, paper_ids: Sequence[str]) -> Evidence:
        parts = []
        for pid in paper_ids:
            if pid not in self._evidence:
                chunks = self.retriever.index.paper_chunks(pid)
                self._evidence[pid] = Evidence.from_chunks([(c.start, c.end, c.text) for c in chunks])
            parts.append(self._evidence[pid])
        return Evidence(" ".join(e.text for e in parts), tuple(s for e in parts for s in e.sentences))

    def supports(self, sentence: str, paper_ids: Sequence[str]) -> bool:
        if not paper_ids:
            return False
        score = self.answerer.judge.score([sentence], [self.evidence(sorted(paper_ids))])[0][0].score
        return score >= self.settings.answer.support_threshold

    def run_one(self, q: Question) -> dict[str, Any]:
        t0 = time.perf_counter()
        hits = self.retriever.search(q.question, k=10)
        ranked = [h.paper_id for h in hits]
        row: dict[str, Any] = {
            "id": q.id,
            "type": q.type,
            "question": q.question,
            "answerable": q.answerable,
            "gold": list(q.gold),
            "retrieved": [{"paper_id": h.paper_id, "title": h.title, "score": round(h.score, 5), "dense": h.dense} for h in hits],
        }
        if q.answerable:
            row["retrieval"] = retrieval_scores(ranked, set(q.gold))
            row["baselines"] = {
                name: retrieval_scores([h.paper_id for h in r.search(q.question, k=10)], set(q.gold)) for name, r in self.baselines.items()
            }
            if self.llamaindex is not None:
                row["baselines"]["llamaindex"] = retrieval_scores(self.llamaindex.search(q.question), set(q.gold))
        row["latency_s"] = time.perf_counter() - t0
        ask_hits = hits[: max(self.settings.retrieval.top_k, self.settings.answer.max_sources)]
        evidence = self.answerer.evidence(q.question, ask_hits)
        p, row["abstention_features"] = self.answerer.answerability(q.question, ask_hits, evidence)
        if self.retrieval_only:
            return row
        if self.llamaindex is not None:
            row["llamaindex"] = self.baseline_answer(q)
        answer = self.answerer.ask(q.question)
        row["latency_s"] = answer.timings.total_s
        row.update(
            answer=answer.text,
            status=answer.status,
            mode=answer.mode,
            answerable_p=answer.answerable,
            raw_text=answer.raw_text,
            abstained=answer.abstained,
            abstain_reason=answer.abstain_reason,
            hedged=answer.hedged,
            references=[r.model_dump() for r in answer.references],
            sentences=[s.model_dump() for s in answer.sentences],
            draft=[s.model_dump() for s in answer.draft],
            prompt_sources=[r.paper_id for r in answer.retrieved[: self.settings.answer.max_sources]],
            timings=answer.timings.model_dump(),
            tokens=answer.tokens.model_dump(),
        )
        if q.answerable and q.key_facts:
            # a hedged answer's lead names papers by title: their words are not facts the answer states
            row["key_fact_recall"] = 0.0 if answer.abstained else key_fact_recall(hedge_free(answer), q.key_facts)
            # the same answer without its supporting-detail sentences: what the details add
            core = " ".join(s.text for s in answer.sentences if s.status in ("cited", "attributed") and not s.detail)
            row["key_fact_recall_core"] = 0.0 if answer.abstained else key_fact_recall(core, q.key_facts)
        if answer.status == "answered":
            shown = [s for s in answer.sentences if s.status in ("cited", "attributed")]
            titles = {normalize_title(r.title) for r in answer.retrieved}
            # what a sentence can copy: any sentence its reference quotes (answer sentences added from the
            # evidence are quoted after the one behind the reference's first sentence)
            ref_quotes = {r.n: [q.text for q in r.quotes] or [r.sentence] for r in answer.references}
            row.update(
                shown_sentences=len(shown),
                relevant_share=mean([float(s.relevance >= self.settings.answer.relevance_threshold) for s in shown]) if shown else None,
                detail_share=mean([float(s.detail) for s in shown]) if shown else None,
                bare_title_share=mean([float(normalize_title(s.text) in titles) for s in shown]) if shown else None,
                verbatim_share=verbatim_share([(s.text, s.citations) for s in shown], ref_quotes) if shown else None,
            )
            row["cited_gold_recall"], row["cited_gold_precision"] = cited_papers_recall_precision(
                {r.paper_id for r in answer.references}, set(q.gold)
            ) if q.answerable else (None, None)
            ref_paper = {r.n: r.paper_id for r in answer.references}
            # what the user reads: the kept sentences, and unsupported ones when they are shown marked
            marked = self.settings.answer.unsupported == "mark"
            claims = [s for s in answer.sentences if s.status in ("cited", "attributed") or (s.status == "unsupported" and marked)]
            cited = [[ref_paper[n] for n in s.citations] for s in claims]
            ids = sorted({p for c in cited for p in c})
            index = {p: i for i, p in enumerate(ids)}
            recall, precision, n_cit = citation_recall_precision(
                [[index[p] for p in c] for c in cited],
                lambda i, srcs: self.supports(claims[i].text, [ids[j] for j in srcs]),
            )
            given = [r.paper_id for r in answer.retrieved[: self.settings.answer.max_sources]]
            faithful = [self.supports(s.text, given) for s in claims]
            row.update(
                citation_recall=recall,
                citation_precision=precision if n_cit else None,
                faithfulness=mean(faithful) if faithful else None,
            )
        return row


    def baseline_answer(self, q: Question) -> dict[str, Any]:
        """The plain llama-index CitationQueryEngine's answer, scored like the project's."""
        t = time.perf_counter()
        text, cited, sentences = self.llamaindex.answer(q.question)
        out: dict[str, Any] = {"answer": text, "latency_s": time.perf_counter() - t}
        if q.answerable and q.key_facts:
            out["key_fact_recall"] = key_fact_recall(text, q.key_facts)
        ids = sorted({p for c in cited for p in c})
        index = {p: i for i, p in enumerate(ids)}
        recall, precision, n_cit = citation_recall_precision(
            [[index[p] for p in c] for c in cited], lambda i, srcs: self.supports(sentences[i], [ids[j] for j in srcs])
        )
        out.update(citation_recall=recall if sentences else None, citation_precision=precision if n_cit else None)
        return out


# -- validating the support judge ------------------------------------------------------------


def validate_judge(settings: Settings, claims_path: Path, judge=None) -> dict[str, Any]:
    """Accuracy and AUROC of the support judge on labelled claims.

    Each line of ``claims_path``: ``{"claim", "evidence", "label": "supported"|"unsupported",
    "kind", ...}``. A claim is predicted supported when its score reaches
    ``answer.support_threshold``.
    """
    from .embeddings import judge_embedder
    from .metrics import auroc
    from .support import SupportJudge

    rows = [json.loads(line) for line in claims_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if judge is None:
        retriever = Retriever(settings)
        embedder = judge_embedder(settings.answer.judge_embedding, retriever.embedder, settings.embedding)
        judge = SupportJudge(embedder, retriever.index.bm25.idf)
    scores = []
    for r in rows:
        evidence = Evidence.from_chunks([(0, len(r["evidence"]), r["evidence"])])
        scores.append(judge.score([r["claim"]], [evidence])[0][0].score)
    labels = [r["label"] == "supported" for r in rows]
    threshold = settings.answer.support_threshold
    correct = [(s >= threshold) == y for s, y in zip(scores, labels)]
    by_kind: dict[str, list[bool]] = defaultdict(list)
    for r, c in zip(rows, correct):
        by_kind[r["kind"]].append(c)
    best_t, best_acc = max(
        ((t / 100, mean([(s >= t / 100) == y for s, y in zip(scores, labels)])) for t in range(5, 100)), key=lambda x: x[1]
    )
    return {
        "claims": len(rows),
        "threshold": threshold,
        "accuracy": mean([float(c) for c in correct]),
        "auroc": auroc(scores, labels),
        "accuracy_by_kind": {k: mean([float(c) for c in v]) for k, v in sorted(by_kind.items())},
        "best_threshold_on_this_set": best_t,
        "accuracy_at_best_threshold": best_acc,
    }


# -- aggregation -----------------------------------------------------------------------------


def aggregate(rows: list[dict[str, Any]], retrieval_only: bool) -> dict[str, Any]:
    answerable = [r for r in rows if r["answerable"]]
    metrics: dict[str, Any] = {"questions": len(rows), "answerable": len(answerable)}
    for key in RETRIEVAL_KEYS:
        metrics[key] = mean([r["retrieval"][key] for r in answerable])
    metrics["recall_curve"] = {k: mean([r["retrieval"][f"curve@{k}"] for r in answerable]) for k in K_CURVE}
    baselines: dict[str, dict[str, float]] = defaultdict(dict)
    for name in answerable[0]["baselines"] if answerable else []:
        for key in RETRIEVAL_KEYS:
            baselines[name][key] = mean([r["baselines"][name][key] for r in answerable])
    metrics["baselines"] = dict(baselines)
    lat = [r["latency_s"] for r in rows]
    metrics["latency_p50_s"] = percentile(lat, 50)
    metrics["latency_p95_s"] = percentile(lat, 95)
    if not retrieval_only:
        unanswerable = [r for r in rows if not r["answerable"]]
        answered = [r for r in answerable if r["status"] == "answered"]
        metrics["citation_recall"] = mean([r["citation_recall"] for r in answered])
        metrics["citation_precision"] = mean([r["citation_precision"] for r in answered if r.get("citation_precision") is not None])
        metrics["faithfulness"] = mean([r["faithfulness"] for r in answered if r.get("faithfulness") is not None])
        metrics["key_fact_recall"] = mean([r["key_fact_recall"] for r in answerable if "key_fact_recall" in r])
        metrics["key_fact_recall_core"] = mean([r["key_fact_recall_core"] for r in answerable if "key_fact_recall_core" in r])
        metrics["key_fact_questions"] = sum("key_fact_recall" in r for r in answerable)
        metrics["covered"] = {  # how many questions each answer metric is computed over
            "citation_recall": len(answered),
            "faithfulness": sum(r.get("faithfulness") is not None for r in answered),
            "key_fact_recall": metrics["key_fact_questions"],
            "abstention_accuracy": len(unanswerable),
            "false_abstention_rate": len(answerable),
        }
        for key in ("relevant_share", "detail_share", "bare_title_share", "verbatim_share"):
            metrics[key.replace("relevant_share", "answer_relevance")] = mean([r[key] for r in answered if r.get(key) is not None])
        for key in ("cited_gold_recall", "cited_gold_precision"):  # papers: which gold papers the answer cites
            metrics[key] = mean([r[key] for r in answered if r.get(key) is not None])
        metrics["extractive_rate"] = mean([float(r.get("mode") == "extractive") for r in answered])
        metrics["abstention_accuracy"] = mean([float(r["abstained"]) for r in unanswerable])
        metrics["false_abstention_rate"] = mean([float(r["abstained"]) for r in answerable])
        # a hedged answer warns that the collection may not answer: counted apart, never as an abstention
        metrics["hedged_unanswerable"] = mean([float(bool(r.get("hedged"))) for r in unanswerable])
        metrics["hedged_answerable"] = mean([float(bool(r.get("hedged"))) for r in answerable])
        metrics["retrieval_only_rate"] = mean([float(r["status"] == "retrieval_only") for r in rows])
        li = [r["llamaindex"] for r in rows if "llamaindex" in r]
        if li:
            li_answerable = [r["llamaindex"] for r in answerable if "llamaindex" in r]
            metrics["baseline_answers"] = {
                "llamaindex": {
                    "citation_recall": mean([x["citation_recall"] for x in li_answerable if x["citation_recall"] is not None]),
                    "citation_precision": mean([x["citation_precision"] for x in li_answerable if x["citation_precision"] is not None]),
                    "key_fact_recall": mean([x["key_fact_recall"] for x in li_answerable if "key_fact_recall" in x]),
                    "latency_p50_s": percentile([x["latency_s"] for x in li], 50),
                }
            }
    by_type: dict[str, dict[str, float]] = {}
    for t in TYPES:
        rs = [r for r in rows if r["type"] == t]
        if not rs:
            continue
        entry: dict[str, float] = {"n": len(rs)}
        if t != "unanswerable":
            entry["recall@5"] = mean([r["retrieval"]["recall@5"] for r in rs])
            entry["mrr"] = mean([r["retrieval"]["mrr"] for r in rs])
            if not retrieval_only:
                entry["key_fact_recall"] = mean([r["key_fact_recall"] for r in rs if "key_fact_recall" in r])
                entry["answered"] = mean([float(r["status"] == "answered") for r in rs])
        elif not retrieval_only:
            entry["abstained"] = mean([float(r["abstained"]) for r in rs])
        by_type[t] = entry
    metrics["by_type"] = by_type
    return metrics


def run_eval(
    settings: Settings,
    dataset: Path,
    out: Path,
    *,
    retrieval_only: bool = False,
    limit: int | None = None,
    baselines: Sequence[str] = ("bm25", "dense"),
    progress: bool | None = None,
    claims: Path | None = None,
    beir_split: str | None = None,
) -> dict[str, Any]:
    """Score ``dataset``: a JSONL question file, or with ``beir_split`` a BEIR folder
    (rag/beir.py) whose queries of that split become the questions."""
    from tqdm import tqdm

    from .report import write_report

    t0 = time.perf_counter()
    evaluator = Evaluator(settings, retrieval_only=retrieval_only, baselines=baselines)
    if beir_split is not None:
        from .beir import load_beir

        questions = load_beir(dataset, evaluator.titles(), beir_split)[: limit or None]
    else:
        questions = load_dataset(dataset, evaluator.titles())[: limit or None]
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    with open(out / "results.jsonl", "w", encoding="utf-8") as f:
        for q in tqdm(questions, unit="question", desc="eval", disable=None if progress is None else not progress):
            row = evaluator.run_one(q)
            rows.append(row)
            f.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    metrics = aggregate(rows, retrieval_only)
    metrics["covered"] = {"retrieval": metrics["answerable"], **metrics.get("covered", {})}
    metrics.update(
        dataset=str(dataset),
        retrieval_only=retrieval_only,
        settings_hash=settings.settings_hash(),
        collection=settings.collection_name(),
        model=None if retrieval_only else evaluator.answerer.model_name(),
        judge="heuristic support judge (rag/support.py), threshold answer.support_threshold",
        seconds=round(time.perf_counter() - t0, 2),
    )
    judge_check = None
    if claims is not None:
        judge_check = validate_judge(settings, claims, evaluator.answerer.judge)
        metrics["judge_validation"] = judge_check
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, default=str))
    write_report(out, metrics, rows, settings, judge_check)
    return metrics
