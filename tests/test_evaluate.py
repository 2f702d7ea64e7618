"""The evaluation harness on the real index: dataset checks, a retrieval-only run, a small full run."""

import json
import subprocess
import sys

import pytest
from conftest import write

from rag.errors import RagError
from rag.evaluate import load_dataset, run_eval
from rag.settings import PROJECT_ROOT

DEV = PROJECT_ROOT / "eval" / "datasets" / "dev.jsonl"
ROW = {
    "id": "q1",
    "type": "lookup",
    "question": "Which paper trains a diffusion model cheaply?",
    "gold_titles": ["Stretching Each Dollar: Diffusion Training from Scratch on a Micro-Budget"],
    "reference_answer": "x",
    "key_facts": ["37M"],
    "answerable": True,
}


def test_dev_set_passes_its_checker():
    proc = subprocess.run([sys.executable, str(DEV.parent / "check_dev.py")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(
    "change, message",
    [
        ({"gold_titles": ["No Such Paper"]}, r"bad.jsonl:2: gold title not in the index: 'No Such Paper'"),
        ({"type": "trivia"}, r"bad.jsonl:2: unknown type 'trivia'"),
        ({"answerable": False}, r"bad.jsonl:2: 'answerable' must be true exactly when"),
        ({"extra": 1}, r"bad.jsonl:2: expected exactly the fields"),
    ],
)
def test_dataset_errors_name_the_line(tmp_path, change, message):
    titles = {"stretching each dollar diffusion training from scratch on a micro budget": "p1"}
    bad = write(tmp_path / "bad.jsonl", json.dumps(ROW) + "\n" + json.dumps({**ROW, "id": "q2", **change}) + "\n")
    with pytest.raises(RagError, match=message):
        load_dataset(bad, titles)


@pytest.mark.slow
def test_retrieval_only_run(full_index, tmp_path):
    settings, _ = full_index
    metrics = run_eval(settings, DEV, tmp_path, retrieval_only=True, progress=False, baselines=("bm25", "dense", "llamaindex"))
    assert metrics["questions"] == 150
    for key in ("recall@1", "recall@5", "recall@10", "mrr", "ndcg@10"):
        assert 0.0 <= metrics[key] <= 1.0
    assert metrics["recall@10"] >= metrics["recall@5"] >= metrics["recall@1"]
    assert metrics["recall@5"] > 0.8, "hybrid retrieval should find most gold papers in the top 5"
    assert set(metrics["baselines"]) == {"bm25", "dense", "llamaindex"}
    assert metrics["baselines"]["llamaindex"]["recall@10"] > 0.5, "the plain llama-index pipeline retrieves too"
    rows = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 150 and all("retrieved" in r for r in rows)
    report = (tmp_path / "report.md").read_text()
    assert "| project (hybrid) |" in report and "| bm25 |" in report and "| llamaindex |" in report
    for png in ("recall_at_k.png", "by_type.png", "latency.png"):
        assert (tmp_path / png).stat().st_size > 1000


@pytest.mark.slow
def test_small_full_run_with_the_local_model(full_index, tmp_path):
    settings, _ = full_index
    rows = [json.loads(line) for line in DEV.read_text().splitlines()]
    subset = [r for r in rows if r["type"] == "detail"][:2] + [r for r in rows if not r["answerable"]][:1]
    data = write(tmp_path / "slice.jsonl", "\n".join(json.dumps(r) for r in subset) + "\n")
    metrics = run_eval(settings, data, tmp_path / "out", baselines=(), progress=False)
    for key in ("citation_recall", "citation_precision", "faithfulness", "key_fact_recall", "abstention_accuracy", "false_abstention_rate"):
        assert key in metrics
    assert metrics["model"] == "llama-cpp:qwen2.5-coder-0.5b-instruct-q4_k_m"
    results = [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    assert all("answer" in r and "timings" in r for r in results)


@pytest.mark.slow
def test_support_judge_floor(retriever, full_index):
    """The offline support judge on labelled claims (eval/datasets/make_claims.py)."""
    from rag.evaluate import validate_judge
    from rag.support import SupportJudge

    settings, _ = full_index
    judge = SupportJudge(retriever.embedder, retriever.index.bm25.idf)
    result = validate_judge(settings, DEV.parent / "claims.jsonl", judge)
    assert result["claims"] >= 150
    assert result["auroc"] >= 0.85, result
    assert result["accuracy"] >= 0.80, result
