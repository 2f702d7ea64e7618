"""rag/requantize.py: a bundled GGUF model converted once to Q4_0, with the real llama.cpp."""

import logging

import pytest

from rag.errors import RagError
from rag.llm import LlamaCppLLM
from rag.models import resolve_gguf
from rag.requantize import converted_path, requantized


def test_a_file_that_is_no_model_is_named_with_llama_cpps_reason(tmp_path):
    bad = tmp_path / "broken.gguf"
    bad.write_text("not a model")
    with pytest.raises(RagError, match=r"broken\.gguf: llama\.cpp could not convert it to Q4_0 \(.*magic"):
        requantized(bad, "q4_0")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.gguf"]  # no half file left behind


def test_an_unknown_type_is_a_setting_error(tmp_path):
    with pytest.raises(RagError, match="llm.requantize: unknown type 'q2_k'"):
        requantized(tmp_path / "m.gguf", "q2_k")


@pytest.mark.slow
def test_a_failed_conversion_falls_back_to_the_model_as_shipped(full_index, tmp_path, caplog):
    settings, _ = full_index
    models = tmp_path / "models"
    models.mkdir()
    shipped = resolve_gguf(settings.llm.model, settings.store_dir() / "models")
    # the converted file's place is taken by a folder: the conversion cannot be written there
    (models / shipped.name).symlink_to(shipped)
    converted_path(models / shipped.name, "q4_0").mkdir()
    s = settings.model_copy(update={"store": settings.store.model_copy(update={"path": str(tmp_path)})})
    with caplog.at_level(logging.WARNING, logger="rag.llm"):
        llm = LlamaCppLLM(s)
    assert llm.path == models / shipped.name and llm.name == f"llama-cpp:{settings.llm.model}"
    assert "using the model as shipped" in caplog.text


@pytest.mark.slow
def test_the_bundled_model_is_converted_once_and_answers(full_index):
    settings, _ = full_index
    llm = LlamaCppLLM(settings)
    assert settings.llm.requantize == "q4_0"
    assert llm.path.name.endswith(".q4_0.gguf") and llm.name == f"llama-cpp:{settings.llm.model}@q4_0"
    stat = llm.path.stat()
    assert LlamaCppLLM(settings).path == llm.path and llm.path.stat().st_mtime_ns == stat.st_mtime_ns  # reused
    from rag.llm import Message

    done = llm.complete([Message("user", "Answer with one word: what colour is the sky on a clear day?")], max_tokens=8)
    assert "blue" in done.text.lower(), done.text
    shipped = settings.model_copy(update={"llm": settings.llm.model_copy(update={"requantize": "none"})})
    assert not LlamaCppLLM(shipped).path.name.endswith(".q4_0.gguf")
