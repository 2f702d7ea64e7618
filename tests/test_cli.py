"""The `rag` command as a user runs it: real subprocesses, real index."""

import json
import os
import subprocess
import sys

import pytest
from conftest import write

from rag.docs import cli_markdown, settings_markdown
from rag.settings import PROJECT_ROOT

RAG = [sys.executable, "-m", "rag.cli"]


def run(*args, env=None, check=False):
    proc = subprocess.run(
        [*RAG, *args], capture_output=True, text=True, env={**os.environ, **(env or {})}, cwd=PROJECT_ROOT, timeout=300
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_docs_match_the_code():
    """docs/ is generated from the code; regenerate with `make docs` when this fails."""
    assert (PROJECT_ROOT / "docs" / "cli.md").read_text() == cli_markdown()
    assert (PROJECT_ROOT / "docs" / "settings.md").read_text() == settings_markdown()


@pytest.mark.parametrize("sub", [[], ["ingest"], ["search"], ["info"]])
def test_help(sub):
    out = run(*sub, "--help", check=True).stdout
    assert out.startswith("usage: rag")


def one_line_error(proc, pattern):
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    import re

    assert re.search(pattern, lines[0]), lines[0]


def test_unknown_setting_is_one_line(tmp_path):
    one_line_error(run("info", "--set", "retrieval.topk=3"), r"unknown setting 'retrieval.topk' \(from override\)")
    one_line_error(run("info", env={"RAG__STORE__PORT": "http"}), r"setting 'store.port' \(from environment variable RAG__STORE__PORT\)")
    one_line_error(run("search", "x", "--preset", "nope"), r"unknown preset 'nope'")


def test_missing_index_is_one_line(tmp_path):
    one_line_error(run("search", "anything", "--set", f"store.path={tmp_path}"), r"no index for the current settings .*run `rag ingest` first")


def test_bad_collection_is_one_line(tmp_path):
    bad = write(tmp_path / "bad.jsonl", '{"title": "x", "abstract": "fine text here for a paper."}\n{oops\n')
    one_line_error(run("ingest", str(bad), "--set", f"store.path={tmp_path}/s", "--preset", "hashing"), r"bad.jsonl:2: bad JSON")


@pytest.mark.slow
def test_ingest_search_info_json(tmp_path):
    coll = write(
        tmp_path / "c.jsonl",
        "\n".join(
            json.dumps({"title": t, "abstract": a})
            for t, a in [
                ("Sparse Attention for Long Documents", "We make attention sparse. Long documents become cheap to process."),
                ("Quantized Optimizers", "We store optimizer states in 8 bits. Memory drops by half."),
                ("Graph Networks for Molecules", "Message passing predicts molecular properties. It beats baselines."),
            ]
        ),
    )
    store = f"store.path={tmp_path / 's'}"
    report = json.loads(run("ingest", str(coll), "--json", "--set", store, check=True).stdout)
    assert (report["papers"], report["added"]) == (3, 3)
    out = json.loads(run("search", "8-bit optimizer memory", "-k", "2", "--json", "--set", store, check=True).stdout)
    assert out["results"][0]["title"] == "Quantized Optimizers"
    assert len(out["results"]) == 2
    assert set(out["results"][0]) >= {"rank", "paper_id", "title", "score", "sentence", "sentence_start", "chunks"}
    text = run("search", "molecules", "--set", store, check=True).stdout
    assert "1. Graph Networks for Molecules" in text
    info = json.loads(run("info", "--json", "--set", store, check=True).stdout)
    assert (info["papers"], info["built"]) == (3, True)
    assert info["embedding_model"] == "sentence-transformers:all-mpnet-base-v2@int8"  # the default int8 graph (embedding.quantization)
    assert info["collection"].startswith("papers-") and info["settings_hash"]
