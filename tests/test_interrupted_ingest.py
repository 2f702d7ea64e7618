"""An ingest killed midway, several times at random points, leaves a usable index, and the
next run completes it to exactly what a clean ingest of the same collection gives.

The ingests here run with `--preset minilm` (the real, smaller bundled embedder: 30 s for the
collection instead of 4 minutes); what is checked, the store's writes and their recovery, does
not depend on the model, and chunk ids are the same whatever embeds them."""

import random
import signal
import sys

import pytest

from rag.errors import IndexMissingError
from rag.ingest import ingest
from rag.retrieve import Retriever
from rag.settings import PROJECT_ROOT
from rag.store import PaperStore

pexpect = pytest.importorskip("pexpect")

pytestmark = pytest.mark.slow

PROGRESS = r"embedding:\s+\d+%\|[^|]*\|\s*(\d+)/(\d+) "


def chunk_ids(settings, embedder):
    return {c.id for c in PaperStore.open(settings, embedder_name=embedder.name, dim=embedder.dim).chunks(with_text=False)}


def ingest_and_kill(store, fraction: float, extra_s: float) -> str:
    """Run `rag ingest` in a terminal (so it shows its progress bar) and SIGKILL it once the bar
    passes ``fraction`` of the papers to embed, plus ``extra_s`` seconds. Returns how it ended."""
    child = pexpect.spawn(
        # no vector cache: every run embeds, so the kills land while the store is being written
        sys.executable, ["-m", "rag.cli", "--preset", "minilm", "ingest", "--set", f"store.path={store}", "--set", "embedding.vector_cache=false"],
        cwd=str(PROJECT_ROOT), encoding="utf-8", timeout=300, dimensions=(24, 200),
    )
    try:
        while True:
            if child.expect([PROGRESS, pexpect.EOF]) == 1:
                return "finished"  # nothing (left) to embed
            done, total = int(child.match.group(1)), int(child.match.group(2))
            if done >= fraction * total:
                break
        if extra_s:
            try:
                child.expect(pexpect.EOF, timeout=extra_s)
                return "finished"
            except pexpect.TIMEOUT:
                pass
        child.kill(signal.SIGKILL)
        return f"killed at {done}/{total} papers + {extra_s:.1f} s"
    finally:
        child.close(force=True)


def test_ingest_killed_several_times_recovers_to_a_clean_index(tmp_path, full_index, embedder):
    from rag.embeddings import make_embedder
    from rag.settings import load_settings

    clean_settings, _ = full_index
    clean_ids = chunk_ids(clean_settings, embedder)
    store = tmp_path / "store"
    settings = load_settings(preset="minilm", overrides={"store.path": str(store)}, environ={})
    embedder = make_embedder(settings.embedding)
    assert embedder.name.endswith("all-MiniLM-L6-v2")
    rng = random.Random()
    seed = rng.randrange(1 << 30)
    rng.seed(seed)
    # in the first batches, in the middle, and after the last batch (while old chunks are deleted and the store marked done)
    plan = [(rng.uniform(0.01, 0.3), rng.uniform(0, 3)), (rng.uniform(0.2, 0.6), rng.uniform(0, 3)), (1.0, rng.uniform(0, 0.5))]
    outcomes = []
    for fraction, extra_s in plan:
        outcomes.append(ingest_and_kill(store, fraction, extra_s))
        try:
            written = chunk_ids(settings, embedder)
        except IndexMissingError:  # killed before the collection was created
            written = set()
        if written:  # whatever was written is searchable
            assert Retriever(settings, embedder=embedder).search("diffusion training on a budget", k=3), (seed, outcomes)
    print(f"random seed {seed}: {outcomes}")
    assert any(o.startswith("killed") for o in outcomes), (seed, outcomes)

    report = ingest(settings, embedder=embedder, progress=False)
    assert report.papers == 460, (seed, outcomes)
    assert chunk_ids(settings, embedder) == clean_ids, (seed, outcomes)
    assert report.chunks_total == len(clean_ids)
    store_now = PaperStore.open(settings, embedder_name=embedder.name, dim=embedder.dim)
    assert not store_now.generation.startswith(("writing", "new")), (seed, outcomes)
    again = ingest(settings, embedder=embedder, progress=False)
    assert (again.unchanged, again.chunks_embedded, again.chunks_deleted) == (460, 0, 0), (seed, outcomes)
