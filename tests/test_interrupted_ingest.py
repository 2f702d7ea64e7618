"""An ingest killed midway leaves a usable index, and the next run completes it."""

import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import make_settings

from rag.ingest import ingest
from rag.retrieve import Retriever
from rag.settings import PROJECT_ROOT
from rag.store import PaperStore

pytestmark = pytest.mark.slow


def chunk_ids(settings, embedder):
    return {c.id for c in PaperStore.open(settings, embedder_name=embedder.name, dim=embedder.dim).chunks(with_text=False)}


def test_killed_ingest_recovers_to_a_clean_index(tmp_path, full_index, embedder):
    clean_settings, _ = full_index
    store = tmp_path / "store"
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag.cli", "ingest", "--no-progress", "--set", f"store.path={store}"],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    time.sleep(20)  # model loading takes ~8 s, embedding the collection ~30 s: this lands midway
    finished_early = proc.poll() is not None
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()

    settings = make_settings(store)
    written = chunk_ids(settings, embedder)
    if written:  # whatever was written is searchable
        assert Retriever(settings, embedder=embedder).search("diffusion training on a budget", k=3)

    report = ingest(settings, embedder=embedder, progress=False)
    assert report.papers == 460
    if not finished_early:
        assert report.added + report.replaced > 0, "the kill should have interrupted the ingest"
    assert chunk_ids(settings, embedder) == chunk_ids(clean_settings, embedder)
    again = ingest(settings, embedder=embedder, progress=False)
    assert (again.unchanged, again.chunks_embedded) == (460, 0)
