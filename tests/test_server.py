"""The store through a real Chroma server (`chroma run`) on 127.0.0.1."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import SEEDS, make_settings, write

from rag.corpus import load_collection
from rag.errors import RagError
from rag.ingest import ingest
from rag.retrieve import Retriever

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    port = free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    chroma = Path(sys.executable).parent / "chroma"
    log = open(data / "server.log", "w")
    proc = subprocess.Popen(
        [str(chroma), "run", "--path", str(data / "db"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail("chroma run exited: " + (data / "server.log").read_text()[-2000:])
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("chroma server did not start in 60 s")
    yield port
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


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
