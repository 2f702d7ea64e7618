"""The evaluation harness on the real index: dataset checks, a retrieval-only run, a small full run."""

import json
import subprocess
import sys

import pytest
from conftest import write

from rag.beir import load_beir, read_qrels
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


@pytest.mark.parametrize("name", ["dev.jsonl", "users.jsonl", "users2.jsonl", "offtopic_tune.jsonl", "offtopic_test.jsonl"])
def test_question_sets_pass_their_checker(name):
    proc = subprocess.run([sys.executable, str(DEV.parent / "check_dev.py"), "--dev", str(DEV.parent / name)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(
    "checker, files",
    [("check_users3.py", []), ("check_users4.py", []), ("check_users5.py", []), ("check_users6.py", []), ("check_paraphrase.py", ["paraphrase_tune.jsonl", "paraphrase_test.jsonl"])],
)
def test_question_sets_with_their_own_checker_pass_it(checker, files):
    proc = subprocess.run([sys.executable, str(DEV.parent / checker), *(str(DEV.parent / f) for f in files)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_users6_checker_fails_a_lookup_in_the_papers_own_words(tmp_path):
    """users6 makes the lookup overlap limit an error (check_users3 LOOKUP_OVERLAP_IS_ERROR):
    a lookup that repeats its gold title fails the set."""
    rows = [json.loads(line) for line in (DEV.parent / "users6.jsonl").read_text().splitlines()]
    lookup = next(r for r in rows if r["type"] == "lookup")
    lookup["question"] = lookup["gold_titles"][0]
    bad = tmp_path / "users6.jsonl"
    bad.write_text("".join(json.dumps(r) + "\n" for r in rows))
    proc = subprocess.run([sys.executable, str(DEV.parent / "check_users6.py"), str(bad)], capture_output=True, text=True)
    assert proc.returncode == 1 and f"{lookup['id']}: lookup shares > 2 content words" in proc.stdout, proc.stdout


@pytest.mark.parametrize(
    "change, message",
    [
        ({"gold_titles": ["No Such Paper"]}, r"bad.jsonl:2: gold title not in the index: 'No Such Paper'"),
        ({"type": "trivia"}, r"bad.jsonl:2: unknown type 'trivia'"),
        ({"answerable": False}, r"bad.jsonl:2: 'answerable' must be true exactly when"),
        ({"extra": 1}, r"bad.jsonl:2: expected the fields \['gold_titles', 'id', 'question'\] and optionally"),
        ({"key_facts": "37M"}, r"bad.jsonl:2: field 'key_facts' must be a list of texts"),
        ({"question": 3}, r"bad.jsonl:2: field 'question' must be text"),
    ],
)
def test_dataset_errors_name_the_line(tmp_path, change, message):
    titles = {"stretching each dollar diffusion training from scratch on a micro budget": "p1"}
    bad = write(tmp_path / "bad.jsonl", json.dumps(ROW) + "\n" + json.dumps({**ROW, "id": "q2", **change}) + "\n")
    with pytest.raises(RagError, match=message):
        load_dataset(bad, titles)


TITLES = {"stretching each dollar diffusion training from scratch on a micro budget": "p1", "monolith real time recommendation system with collisionless embedding table": "p2"}


def test_a_retrieval_dataset_needs_no_key_facts(tmp_path):
    rows = [
        {"id": "a", "question": "cheap diffusion training?", "gold_titles": [ROW["gold_titles"][0]]},
        {"id": "b", "question": "both?", "gold_titles": [ROW["gold_titles"][0], "Monolith: Real Time Recommendation System With Collisionless Embedding Table"]},
        {"id": "c", "question": "EEG?", "gold_titles": []},
    ]
    data = write(tmp_path / "r.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n")
    qs = load_dataset(data, TITLES)
    assert [(q.type, q.answerable, q.gold, q.key_facts) for q in qs] == [
        ("lookup", True, ("p1",), ()), ("multi", True, ("p1", "p2"), ()), ("unanswerable", False, (), ())
    ]


def test_a_gold_title_spelled_as_scraped_finds_the_cleaned_paper(tmp_path):
    from rag.corpus import normalize_title

    titles = {normalize_title("HyperZ·Z·W Operator Connects Slow-Fast Networks"): "p3"}  # as the index holds it
    row = {"id": "a", "question": "fast and slow weights?", "gold_titles": ["HyperZ$\\cdot$Z$\\cdot$W Operator Connects Slow-Fast Networks"]}
    data = write(tmp_path / "r.jsonl", json.dumps(row) + "\n")
    assert load_dataset(data, titles)[0].gold == ("p3",)


def _beir(folder, qrels="query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td2\t0\nq2\td1\t2\nq2\td2\t1\n"):
    write(folder / "corpus.jsonl", "\n".join(json.dumps(r) for r in [
        {"_id": "d1", "title": "Stretching Each Dollar: Diffusion Training from Scratch on a Micro-Budget", "text": "x"},
        {"_id": "d2", "title": "Monolith: Real Time Recommendation System With Collisionless Embedding Table", "text": "y"},
    ]) + "\n")
    write(folder / "queries.jsonl", json.dumps({"_id": "q1", "text": "train diffusion cheaply"}) + "\n"
          + json.dumps({"_id": "q2", "text": "both"}) + "\n" + json.dumps({"_id": "q3", "text": "in another split"}) + "\n")
    write(folder / "qrels" / "test.tsv", qrels)
    return folder


def test_beir_qrels_and_queries(tmp_path):
    folder = _beir(tmp_path / "beir")
    assert read_qrels(folder / "qrels" / "test.tsv") == {"q1": ["d1"], "q2": ["d1", "d2"]}  # score 0 is not relevant
    qs = load_beir(folder, TITLES)
    assert [(q.id, q.type, q.question, q.gold, q.key_facts, q.answerable) for q in qs] == [
        ("q1", "lookup", "train diffusion cheaply", ("p1",), (), True),
        ("q2", "multi", "both", ("p1", "p2"), (), True),
    ]  # q3 has no judgement in this split


@pytest.mark.parametrize(
    "qrels, message",
    [
        ("q1\td1\n", r"qrels/test.tsv:1: expected 3 tab-separated fields"),
        ("q1\td1\thigh\n", r"qrels/test.tsv:1: score 'high' is not a number"),
        ("q9\td1\t1\n", r"query-id 'q9' is not in"),
        ("q1\td9\t1\n", r"corpus-id 'd9' is not in"),
    ],
)
def test_beir_errors_name_the_place(tmp_path, qrels, message):
    folder = _beir(tmp_path / "beir", qrels)
    with pytest.raises(RagError, match=message):
        load_beir(folder, TITLES)
    with pytest.raises(RagError, match=r"corpus.jsonl:2: document 'd2' .* is not in the index: run `rag ingest"):
        load_beir(_beir(tmp_path / "b2"), {k: v for k, v in TITLES.items() if v == "p1"})
    with pytest.raises(RagError, match=r"qrels/dev.tsv: no such file \(choose the split with --split\)"):
        load_beir(folder, TITLES, "dev")


@pytest.mark.slow
def test_rag_eval_on_a_beir_folder(tmp_path):
    """A user's path: ingest a BEIR corpus, score the retriever on its queries (real model, real store)."""
    import os

    from rag.corpus import load_collection

    papers = [p for p in load_collection([PROJECT_ROOT / "data" / "seeds"]) if "Micro-Budget" in p.title or p.title.startswith("Monolith")]
    assert len(papers) == 2
    folder = tmp_path / "beir"
    write(folder / "corpus.jsonl", "\n".join(json.dumps({"_id": f"d{i}", "title": p.title, "text": p.abstract}) for i, p in enumerate(papers)) + "\n")
    write(folder / "queries.jsonl", "\n".join(json.dumps({"_id": f"q{i}", "text": q}) for i, q in enumerate(["diffusion training on a tiny budget", "online recommendation training"])) + "\n")
    budget = next(i for i, p in enumerate(papers) if "Micro-Budget" in p.title)
    write(folder / "qrels" / "test.tsv", f"query-id\tcorpus-id\tscore\nq0\td{budget}\t1\nq1\td{1 - budget}\t1\n")
    store = ["--set", f"store.path={tmp_path / 'store'}"]
    cli = [sys.executable, "-m", "rag.cli"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    subprocess.run([*cli, "ingest", str(folder / "corpus.jsonl"), "--no-progress", *store], check=True, capture_output=True, env=env, timeout=600)
    proc = subprocess.run([*cli, "eval", "--beir", str(folder), "--out", str(tmp_path / "out"), "--retrieval-only", "--baselines", "", "--no-progress", *store],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "recall@1               1.000  (2 questions)" in proc.stdout, proc.stdout
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["questions"] == 2 and metrics["covered"] == {"retrieval": 2}


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
    subset[1] = {k: v for k, v in subset[1].items() if k not in ("key_facts", "reference_answer")}  # gold titles only
    data = write(tmp_path / "slice.jsonl", "\n".join(json.dumps(r) for r in subset) + "\n")
    # the plain llama-index pipeline answers too, and is scored on the questions that have key facts
    metrics = run_eval(settings, data, tmp_path / "out", baselines=("llamaindex",), progress=False)
    for key in ("citation_recall", "citation_precision", "faithfulness", "key_fact_recall", "abstention_accuracy", "false_abstention_rate"):
        assert key in metrics
    assert metrics["covered"]["key_fact_recall"] == 1
    assert metrics["model"] == "llama-cpp:qwen2.5-coder-0.5b-instruct-q4_k_m@q4_0"
    results = [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    assert all("answer" in r and "timings" in r for r in results)


@pytest.mark.slow
def test_support_judge_floor(retriever, full_index):
    """The offline support judge on labelled claims (eval/datasets/make_claims.py)."""
    from rag.embeddings import judge_embedder
    from rag.evaluate import validate_judge
    from rag.support import SupportJudge

    settings, _ = full_index
    # the judge the pipeline uses: its own embedder (answer.judge_embedding), not retrieval's
    embedder = judge_embedder(settings.answer.judge_embedding, retriever.embedder, settings.embedding)
    judge = SupportJudge(embedder, retriever.index.bm25.idf)
    result = validate_judge(settings, DEV.parent / "claims.jsonl", judge)
    assert result["claims"] >= 150
    assert result["auroc"] >= 0.85, result
    assert result["accuracy"] >= 0.80, result


def test_beir_documents_without_a_title_or_with_a_shared_one_can_be_gold(tmp_path):
    from rag.corpus import load_collection, normalize_title

    folder = tmp_path / "beir"
    text = "A study of a thing with enough words to be an abstract of a paper in a benchmark corpus."
    write(folder / "corpus.jsonl", "\n".join(json.dumps(r) for r in [
        {"_id": "d1", "title": "", "text": text},
        {"_id": "d2", "title": "Same", "text": text + " One."},
        {"_id": "d3", "title": "Same", "text": text + " Two."},
    ]) + "\n")
    write(folder / "queries.jsonl", json.dumps({"_id": "q1", "text": "untitled"}) + "\n" + json.dumps({"_id": "q2", "text": "the second"}) + "\n")
    write(folder / "qrels" / "test.tsv", "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td3\t1\n")
    titles = {normalize_title(p.title): p.id for p in load_collection([folder / "corpus.jsonl"])}  # as ingest names them
    q1, q2 = load_beir(folder, titles)
    assert q1.gold_titles == ("A study of a thing with enough words to be an abstract…",) and q2.gold_titles == ("Same [d3]",)
    assert q1.gold[0] != q2.gold[0] and len(set(titles.values())) == 3
