"""``report.md`` and its PNG plots for an evaluation run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .metrics import risk_coverage
from .settings import Settings

RETRIEVAL_COLUMNS = ("recall@1", "recall@5", "recall@10", "mrr", "ndcg@10")
ANSWER_COLUMNS = (
    "citation_recall",
    "citation_precision",
    "faithfulness",
    "key_fact_recall",
    "key_fact_recall_core",
    "cited_gold_recall",
    "cited_gold_precision",
    "abstention_accuracy",
    "false_abstention_rate",
    "hedged_unanswerable",
    "hedged_answerable",
    "answer_relevance",
    "detail_share",
    "bare_title_share",
    "verbatim_share",
    "extractive_rate",
)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "n/a" if v != v else f"{v:.3f}"
    return str(v)


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def risk_coverage_of(rows: list[dict[str, Any]]) -> list[tuple[float, float]]:
    """Risk-coverage points of a run: questions ordered by the abstention model's probability;
    an answer is correct when the question is answerable and the answer has a key fact or
    cites a gold paper (unanswerable questions answered are wrong)."""
    scored = [r for r in rows if r.get("answerable_p") is not None]
    if not scored:
        return []

    def correct(r: dict[str, Any]) -> bool:
        if not r["answerable"]:
            return False
        cited = {ref["paper_id"] for ref in r.get("references", [])}
        return bool(r.get("key_fact_recall")) or bool(cited & set(r["gold"]))

    return risk_coverage([r["answerable_p"] for r in scored], [correct(r) for r in scored])


def _save(fig, path: Path) -> str:
    """Write one figure as a PNG and free it; returns the file name for the report."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path.name


def _plots(out: Path, metrics: dict[str, Any], rows: list[dict[str, Any]]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made = []
    ks = sorted(int(k) for k in metrics["recall_curve"])
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(ks, [metrics["recall_curve"][k] for k in ks], marker="o", label=f"project ({metrics.get('mode', 'hybrid')})")
    for name in metrics["baselines"]:
        curve = [sum(r["baselines"][name][f"curve@{k}"] for r in rows if r["answerable"]) / max(1, metrics["answerable"]) for k in ks]
        ax.plot(ks, curve, marker=".", linestyle="--", label=name)
    ax.set_xlabel("k (papers)")
    ax.set_ylabel("recall@k")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend()
    made.append(_save(fig, out / "recall_at_k.png"))

    types = [t for t in metrics["by_type"] if t != "unanswerable"]
    keys = [k for k in ("recall@5", "mrr", "key_fact_recall", "answered") if any(k in metrics["by_type"][t] for t in types)]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    width = 0.8 / max(1, len(keys))
    for i, key in enumerate(keys):
        ax.bar([x + i * width for x in range(len(types))], [metrics["by_type"][t].get(key, 0) for t in types], width, label=key)
    ax.set_xticks([x + width * (len(keys) - 1) / 2 for x in range(len(types))], types)
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8)
    ax.set_title("scores per question type")
    made.append(_save(fig, out / "by_type.png"))

    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.hist([r["latency_s"] for r in rows], bins=20)
    ax.set_xlabel("seconds per question")
    ax.set_ylabel("questions")
    ax.set_title("latency")
    made.append(_save(fig, out / "latency.png"))

    curve = risk_coverage_of(rows)
    if curve:
        fig, ax = plt.subplots(figsize=(5, 3.2))
        ax.plot([c for c, _ in curve], [a for _, a in curve])
        ax.set_xlabel("coverage (share of questions answered)")
        ax.set_ylabel("accuracy of answered")
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.set_title("risk-coverage (ordered by answerable probability)")
        made.append(_save(fig, out / "risk_coverage.png"))
    return made


def _covered(metrics: dict[str, Any], key: str) -> str:
    """How many questions a metric was computed over ('' when the run does not say)."""
    covered = metrics.get("covered", {})
    base = {"key_fact_recall_core": "key_fact_recall", "answer_relevance": "citation_recall", "detail_share": "citation_recall",
            "bare_title_share": "citation_recall", "verbatim_share": "citation_recall", "extractive_rate": "citation_recall",
            "citation_precision": "citation_recall",
            "cited_gold_recall": "citation_recall", "cited_gold_precision": "citation_recall"}.get(key, key)
    n = covered.get(base)
    return "" if n is None else str(n)


def write_report(out: Path, metrics: dict[str, Any], rows: list[dict[str, Any]], settings: Settings, judge: dict[str, Any] | None = None) -> None:
    metrics = {**metrics, "mode": settings.retrieval.mode}
    _plots(out, metrics, rows)
    parts = [
        "# Evaluation report\n",
        f"- dataset: `{metrics['dataset']}` ({metrics['questions']} questions, {metrics['answerable']} answerable)",
        f"- collection: `{metrics['collection']}`, settings hash `{metrics['settings_hash']}`",
        f"- retrieval mode: {settings.retrieval.mode}; LLM: {metrics.get('model') or 'none (retrieval only)'}",
        f"- run time: {metrics['seconds']} s; latency p50 {metrics['latency_p50_s']:.3f} s, p95 {metrics['latency_p95_s']:.3f} s",
        "",
        "## Retrieval (paper level, answerable questions)\n",
        _table(
            ["system", *RETRIEVAL_COLUMNS],
            [[f"project ({settings.retrieval.mode})", *[metrics[k] for k in RETRIEVAL_COLUMNS]]]
            + [[name, *[b[k] for k in RETRIEVAL_COLUMNS]] for name, b in metrics["baselines"].items()],
        ),
        "",
        "![recall@k](recall_at_k.png)",
        "",
    ]
    if not metrics["retrieval_only"]:
        parts += [
            "## Answers\n",
            _table(["metric", "value", "questions"], [[k, metrics.get(k, float("nan")), _covered(metrics, k)] for k in ANSWER_COLUMNS]),
            "",
            *(
                [
                    "Plain llama-index pipeline (VectorStoreIndex + CitationQueryEngine, default chunking, same models):\n",
                    _table(
                        ["system", "citation_recall", "citation_precision", "key_fact_recall", "latency_p50_s"],
                        [
                            ["project", metrics["citation_recall"], metrics["citation_precision"], metrics["key_fact_recall"], metrics["latency_p50_s"]],
                            *[[n, b["citation_recall"], b["citation_precision"], b["key_fact_recall"], b["latency_p50_s"]] for n, b in metrics.get("baseline_answers", {}).items()],
                        ],
                    ),
                    "",
                ]
                if metrics.get("baseline_answers")
                else []
            ),
            f"Support judge: {metrics['judge']}. The pipeline's own verifier uses the same judge, so "
            "citation recall and faithfulness are measured by the tool that shaped the answer: read "
            "them as an upper bound, and use the judge validation below to see how far to trust it.",
            "",
        ]
    parts += ["## Per question type\n"]
    type_keys = sorted({k for v in metrics["by_type"].values() for k in v if k != "n"})
    parts += [_table(["type", "n", *type_keys], [[t, v["n"], *[v.get(k, "") for k in type_keys]] for t, v in metrics["by_type"].items()]), ""]
    parts += ["![scores per type](by_type.png)", "", "![latency](latency.png)", ""]
    if (out / "risk_coverage.png").exists():
        parts += ["![risk-coverage](risk_coverage.png)", ""]
    if judge:
        parts += ["## Support judge validation\n", "```json", json.dumps(judge, indent=2), "```", ""]
    worst = [r for r in rows if r["answerable"] and r["retrieval"]["recall@10"] < 1.0][:10]
    if worst:
        parts += ["## Retrieval misses (gold not in top 10, first 10)\n"]
        parts += [f"- `{r['id']}` {r['question']}" for r in worst]
        parts.append("")
    (out / "report.md").write_text("\n".join(parts))
