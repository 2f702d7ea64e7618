"""The store through a real Chroma server (`chroma run`) on 127.0.0.1."""

import json
import sys
from pathlib import Path

import pytest
from conftest import SEEDS, free_port, local_server, make_settings, write

from rag.corpus import load_collection
from rag.errors import RagError
from rag.ingest import ingest
from rag.retrieve import Retriever

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    port = free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    chroma = Path(sys.executable).parent / "chroma"
    argv = [str(chroma), "run", "--path", str(data / "db"), "--host", "127.0.0.1", "--port", str(port)]
    with local_server(argv, port, data / "server.log", timeout=60):
        yield port


def test_ingest_and_search_through_server(tmp_path, chroma_server, embedder):
    papers = load_collection([SEEDS])[:15]
    coll = write(tmp_path / "c.jsonl", "\n".join(json.dumps({"title": p.title, "abstract": p.abstract}) for p in papers))
    settings = make_settings(tmp_path / "local", **{"store.mode": "server", "store.port": chroma_server})
    report = ingest(settings, [coll], embedder=embedder, progress=False)
    assert (report.papers, report.added) == (15, 15)
    assert report.location == f"chroma server 127.0.0.1:{chroma_server}"
    assert not (tmp_path / "local" / "chroma").exists(), "server mode must not create an embedded store"

    again = ingest(settings, [coll], embedder=embedder, progress=False)
    assert (again.unchanged, again.chunks_embedded) == (15, 0)

    hits = Retriever(settings, embedder=embedder).search(papers[4].title, k=3)
    assert hits[0].title == papers[4].title
    assert hits[0].dense is not None and hits[0].bm25 is not None


def test_server_down_is_a_clear_error(tmp_path, embedder):
    settings = make_settings(tmp_path, **{"store.mode": "server", "store.port": free_port()})
    with pytest.raises(RagError, match=r"cannot reach the Chroma server at 127.0.0.1:\d+.*chroma run"):
        Retriever(settings, embedder=embedder).search("anything")
