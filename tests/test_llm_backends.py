"""LLM backends: an OpenAI-compatible llama.cpp server on 127.0.0.1, and failure handling."""

import sys
import time

import pytest
from conftest import free_port, local_server

from rag.answer import Answerer
from rag.llm import LlamaCppLLM

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def llama_server(full_index, tmp_path_factory):
    settings, _ = full_index
    model = LlamaCppLLM(settings).path  # the bundled model as the local backend runs it (llm.requantize)
    port = free_port()
    argv = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1", "--port", str(port),
            "--n_ctx", "4096", "--model_alias", "local"]
    with local_server(argv, port, tmp_path_factory.mktemp("llama-server") / "server.log"):
        yield port


def with_llm(settings, **llm):
    return settings.model_copy(update={"llm": settings.llm.model_copy(update=llm)})


def test_answer_through_openai_client_against_llama_server(full_index, retriever, llama_server):
    settings, _ = full_index
    s = with_llm(settings, backend="openai", model="local", base_url=f"http://127.0.0.1:{llama_server}/v1")
    answer = Answerer(s, retriever=retriever).ask("What is the soft teacher mechanism in semi-supervised object detection?")
    assert answer.status == "answered", answer
    assert answer.model == f"openai:local@http://127.0.0.1:{llama_server}/v1"
    assert answer.tokens.prompt > 100 and answer.tokens.completion > 0
    retrieved = {p.paper_id for p in answer.retrieved}
    assert answer.references and all(r.paper_id in retrieved for r in answer.references)


def test_endpoint_down_gives_retrieval_only(full_index, retriever):
    settings, _ = full_index
    s = with_llm(settings, backend="openai", model="x", base_url=f"http://127.0.0.1:{free_port()}/v1", retries=1)
    t = time.perf_counter()
    answer = Answerer(s, retriever=retriever).ask("How do KV cache compression methods save memory?")
    assert time.perf_counter() - t < 30
    assert answer.status == "retrieval_only"
    assert "cannot reach the LLM endpoint" in answer.error
    assert answer.retrieved and answer.references == []


def test_missing_key_gives_retrieval_only(full_index, retriever, monkeypatch):
    settings, _ = full_index
    monkeypatch.delenv("RAG_TEST_NO_SUCH_KEY", raising=False)
    s = with_llm(settings, backend="openai", model="gpt-4o-mini", api_key_env="RAG_TEST_NO_SUCH_KEY")
    answer = Answerer(s, retriever=retriever).ask("How do KV cache compression methods save memory?")
    assert answer.status == "retrieval_only"
    assert "RAG_TEST_NO_SUCH_KEY" in answer.error
    assert "sk-" not in answer.model_dump_json()


def test_an_unknown_backend_is_a_config_error_for_both_registries():
    from rag.embeddings import make_embedder
    from rag.errors import ConfigError
    from rag.llm import make_llm
    from rag.settings import load_settings

    s = load_settings()
    llm = s.model_copy(update={"llm": s.llm.model_copy(update={"backend": "nope"})})  # past validation, as a plugin name would be
    with pytest.raises(ConfigError, match=r"unknown llm.backend 'nope' \(known: llama-cpp, "):
        make_llm(llm)
    with pytest.raises(ConfigError, match=r"unknown embedding.provider 'nope' \(known: sentence-transformers, "):
        make_embedder(s.embedding.model_copy(update={"provider": "nope"}))


def test_a_backend_registered_outside_the_package_is_a_valid_setting():
    """The registries are the lists of names: the tests' scripted LLM (registered in
    conftest.py) is a valid llm.backend with no edit to settings.py, and make_llm builds it."""
    from conftest import ScriptedLLM

    from rag.llm import make_llm
    from rag.settings import load_settings

    settings = load_settings(overrides={"llm.backend": "scripted"}, environ={})
    llm = make_llm(settings)
    assert isinstance(llm, ScriptedLLM)
    assert llm.enqueue("first [1].").complete([]).text == "first [1]."
    assert llm.complete([]).text == llm.default


def test_the_extractive_backend_reads_the_sources_it_was_given_not_the_prompt_layout():
    """It quotes the first sentence of each given source, cited with the source's number, whatever
    the prompt template does with them (here the content holds no source at all)."""
    from rag.llm import ExtractiveLLM, Message, PromptSource
    from rag.settings import load_settings

    sources = (PromptSource(3, "Paper C", "Masking patches cuts cost. It also helps."), PromptSource(5, "Paper E", "A second paper."))
    llm = ExtractiveLLM(load_settings(environ={}))
    out = llm.complete([Message("system", "rules"), Message("user", "A template that lays out nothing.", sources=sources)])
    assert out.text == "Masking patches cuts cost [3]. A second paper [5]."
    assert llm.complete([Message("user", "[1] Title\nText laid out like a source.")]).text == "The sources do not answer this question."


def test_the_prompt_carries_its_sources_as_data(full_index, retriever):
    """Answerer.messages: the user message's sources are the numbered sources rendered into it."""
    settings, _ = full_index
    answerer = Answerer(settings, retriever=retriever)
    question = "How does FlashAttention-2 improve over FlashAttention?"
    hits = retriever.search(question, k=3)
    from rag.sources import evidence_sources

    sources = evidence_sources(hits, answerer.evidence(question, hits), settings)
    user = answerer.messages(question, sources)[-1]
    assert [s.n for s in user.sources] == [1, 2, 3]
    for s in user.sources:
        assert f"[{s.n}] {s.title}\n{s.text}" in user.content
