import pytest

from rag.errors import ConfigError
from rag.settings import Settings, load_settings, parse_assignment


def test_defaults_load_and_are_described():
    s = load_settings(environ={})
    assert s.retrieval.mode == "hybrid"
    for section_name, section in Settings.model_fields.items():
        for name, field in section.annotation.model_fields.items():
            assert field.description, f"{section_name}.{name} has no description"


def test_layers_apply_in_order():
    s = load_settings(preset="dense", environ={"RAG__RETRIEVAL__TOP_K": "7"}, overrides={"retrieval.rrf_k": 10})
    assert (s.retrieval.mode, s.retrieval.top_k, s.retrieval.rrf_k) == ("dense", 7, 10)
    s = load_settings(preset="dense", environ={"RAG__RETRIEVAL__MODE": "bm25"})
    assert s.retrieval.mode == "bm25"


def test_unknown_key_names_key_and_source():
    with pytest.raises(ConfigError, match=r"unknown setting 'retrieval.topk' \(from environment variable RAG__RETRIEVAL__TOPK\)"):
        load_settings(environ={"RAG__RETRIEVAL__TOPK": "3"})
    with pytest.raises(ConfigError, match=r"unknown setting 'nosuch' \(from override\)"):
        load_settings(overrides={"nosuch.x": 1}, environ={})


def test_wrong_type_names_key():
    with pytest.raises(ConfigError, match=r"setting 'retrieval.top_k' \(from override\): Input should be a valid integer"):
        load_settings(overrides={"retrieval.top_k": "many"}, environ={})


@pytest.mark.parametrize("value", [True, "8", 8.5, [8]])
def test_values_are_not_coerced(value):
    """A boolean is not a number and text is not an integer: strict types, one-line error."""
    with pytest.raises(ConfigError, match=r"setting 'retrieval.top_k' \(from override\)"):
        load_settings(overrides={"retrieval.top_k": value}, environ={})
    with pytest.raises(ConfigError, match=r"setting 'answer.evidence_first' \(from override\)"):
        load_settings(overrides={"answer.evidence_first": "yes"}, environ={})


def test_unknown_preset():
    with pytest.raises(ConfigError, match="unknown preset 'nope'"):
        load_settings(preset="nope", environ={})


def test_parse_assignment_types():
    assert parse_assignment("retrieval.top_k=8") == ("retrieval.top_k", 8)
    assert parse_assignment("chunking.title_in_embedding=false") == ("chunking.title_in_embedding", False)
    assert parse_assignment("store.host=example") == ("store.host", "example")
    with pytest.raises(ConfigError):
        parse_assignment("novalue")


def test_index_hash_tracks_chunking_and_embedding_only():
    base = load_settings(environ={})
    assert load_settings(overrides={"retrieval.top_k": 9}, environ={}).index_hash() == base.index_hash()
    rechunked = load_settings(overrides={"chunking.chunk_tokens": 100}, environ={})
    assert rechunked.index_hash() != base.index_hash()
    assert rechunked.collection_name() != base.collection_name()
    assert load_settings(overrides={"retrieval.top_k": 9}, environ={}).settings_hash() != base.settings_hash()


def test_collection_name_is_valid_for_chroma():
    import re

    name = load_settings(environ={}).collection_name()
    assert re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9._-]{1,510}[a-zA-Z0-9]", name)


def test_a_malformed_endpoint_url_is_a_one_line_error_that_does_not_repeat_it():
    for bad in ("http://alice:s3cret@h:notaport/v1", "ftp://alice:s3cret@h/v1", "alice:s3cret@127.0.0.1"):
        with pytest.raises(ConfigError) as err:
            load_settings(overrides={"llm": {"base_url": bad}})
        message = str(err.value)
        assert "llm.base_url" in message and "http(s) URL" in message and "s3cret" not in message, message
    assert load_settings(overrides={"llm": {"base_url": "https://alice:pw@example.org:8443/v1"}}).llm.base_url.endswith("/v1")


def test_the_judge_keeps_its_calibrated_embedder_when_retrieval_changes_model():
    """answer.judge_embedding: evidence and the support judge embed with MiniLM (their
    thresholds were fitted on its cosines) whatever model retrieval uses; empty = the
    retrieval embedder itself; no second model when both are the same."""
    from rag.embeddings import HashingEmbedder, judge_embedder
    from rag.onnx_embedder import OnnxEmbedder

    settings = load_settings(environ={})
    assert (settings.embedding.model, settings.answer.judge_embedding) == ("all-mpnet-base-v2", "all-MiniLM-L6-v2")
    assert settings.index_hash() != load_settings(overrides={"embedding.model": "all-MiniLM-L6-v2"}, environ={}).index_hash()
    # the judge's model is an answer setting: changing it does not re-index
    other = load_settings(overrides={"answer.judge_embedding": ""}, environ={})
    assert other.index_hash() == load_settings(environ={}).index_hash()
    assert other.settings_hash() != load_settings(environ={}).settings_hash()

    retrieval = HashingEmbedder(settings.embedding)
    judge = judge_embedder(settings.answer.judge_embedding, retrieval, settings.embedding)
    assert isinstance(judge, OnnxEmbedder) and judge.name == "sentence-transformers:all-MiniLM-L6-v2" and judge.dim == 384
    assert judge_embedder("", retrieval, settings.embedding) is retrieval
    same = OnnxEmbedder("all-MiniLM-L6-v2")
    assert judge_embedder("all-MiniLM-L6-v2", same, settings.embedding) is same


def test_the_int8_index_is_its_own_collection_and_a_float_one_keeps_its_name():
    """embedding.quantization: int8 vectors are near the float ones, not the same, so they get
    their own collection; "none" leaves the hash as it was before the field existed (the
    float indexes built earlier keep their names)."""
    from rag.settings import _hash

    int8 = load_settings(environ={})
    assert int8.embedding.quantization == "int8"
    float_ = load_settings(overrides={"embedding.quantization": "none"}, environ={})
    assert float_.collection_name() != int8.collection_name()
    dump = float_.embedding.model_dump(mode="json", exclude={"batch_size", "runtime", "vector_cache", "dimensions", "quantization"})
    assert float_.index_hash() == _hash({"embedding": dump, "chunking": float_.chunking})
    # the judge stays float whatever retrieval runs: its thresholds were fitted on float cosines
    from rag.embeddings import judge_embedder
    from rag.onnx_embedder import OnnxEmbedder

    retrieval = OnnxEmbedder("all-mpnet-base-v2", quantization="int8")
    assert retrieval.name == "sentence-transformers:all-mpnet-base-v2@int8"
    judge = judge_embedder("all-MiniLM-L6-v2", retrieval, int8.embedding)
    assert judge.quantization == "none" and judge.name == "sentence-transformers:all-MiniLM-L6-v2"
    int8_minilm = OnnxEmbedder("all-MiniLM-L6-v2", quantization="int8")
    assert judge_embedder("all-MiniLM-L6-v2", int8_minilm, int8.embedding) is not int8_minilm


def test_int8_on_torch_is_a_one_line_error_naming_both_settings():
    from rag.embeddings import make_embedder

    settings = load_settings(overrides={"embedding.runtime": "torch"}, environ={})
    with pytest.raises(ConfigError) as err:
        make_embedder(settings.embedding)
    message = str(err.value)
    assert "embedding.quantization" in message and "embedding.runtime" in message and "\n" not in message
