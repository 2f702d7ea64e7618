from conftest import SEEDS

from rag.chunking import chunk_paper, chunk_text, rebuild_abstract, token_counter
from rag.corpus import Paper, load_collection
from rag.settings import ChunkingSettings
from rag.text import sentence_spans, split_sentences


def sentences(text):
    return [text[s.start : s.end] for s in sentence_spans(text)]


def test_sentence_split_exact():
    text = (
        "We use e.g. BERT and GPT, i.e. transformers. Accuracy rises to 84.5 percent on NQ. "
        "Smith et al. showed this before (see Fig. 2). Is it new? Yes! The end"
    )
    assert sentences(text) == [
        "We use e.g. BERT and GPT, i.e. transformers.",
        "Accuracy rises to 84.5 percent on NQ.",
        "Smith et al. showed this before (see Fig. 2).",
        "Is it new?",
        "Yes!",
        "The end",
    ]


def test_sentence_spans_tile_the_text():
    text = "One. Two three.  Four?"
    spans = split_sentences(text)
    assert "".join(text[s.start : s.end] for s in spans) == text


def test_lowercase_after_period_is_not_a_boundary():
    assert sentences("We compare with v.s. baselines. then more text follows here.") == [
        "We compare with v.s. baselines. then more text follows here."
    ]


def test_chunks_respect_size_overlap_and_offsets():
    count = token_counter("cl100k_base")
    text = " ".join(f"Sentence number {i} says something about topic {i}." for i in range(30))
    spans = chunk_text(text, chunk_tokens=40, overlap_tokens=15, count=count)
    assert len(spans) > 3
    for s in spans:
        assert count(text[s.start : s.end].strip()) <= 40
    for a, b in zip(spans, spans[1:]):
        assert b.start < a.end, "consecutive chunks overlap"
        assert b.start > a.start, "chunks always advance"
    assert spans[0].start == 0 and spans[-1].end == len(text)


def test_zero_overlap_tiles_sentences():
    count = token_counter("cl100k_base")
    text = " ".join(f"Sentence {i} is here." for i in range(20))
    spans = chunk_text(text, chunk_tokens=20, overlap_tokens=0, count=count)
    for a, b in zip(spans, spans[1:]):
        assert b.start == a.end


def test_overlong_sentence_is_cut_at_words():
    count = token_counter("cl100k_base")
    text = "word " * 300 + "end."
    spans = chunk_text(text, chunk_tokens=50, overlap_tokens=10, count=count)
    assert len(spans) >= 6
    assert all(count(text[s.start : s.end]) <= 50 for s in spans)
    assert all(text[s.start - 1] == " " for s in spans[1:]), "cuts fall between words"


def test_every_seed_paper_chunks_exactly_and_rebuilds():
    settings = ChunkingSettings()
    for paper in load_collection([SEEDS]):
        chunks = chunk_paper(paper, settings)
        assert [c.index for c in chunks] == list(range(len(chunks)))
        for c in chunks:
            assert paper.abstract[c.start : c.end] == c.text
            assert c.n_tokens <= settings.chunk_tokens
        assert rebuild_abstract([(c.start, c.end, c.text) for c in chunks]) == paper.abstract


def test_chunk_ids_change_with_content():
    a = Paper("p", "T", "One sentence here. Another one there.")
    b = Paper("p", "T", "One sentence here. Another one changed.")
    ca, cb = chunk_paper(a, ChunkingSettings())[0], chunk_paper(b, ChunkingSettings())[0]
    assert ca.id(a.content_hash) != cb.id(b.content_hash)


def test_text_without_spaces_is_chunked_to_size():
    count = token_counter("cl100k_base")
    text = "这是一个没有空格的很长的句子" * 60 + "。结束。"
    spans = chunk_text(text, chunk_tokens=64, overlap_tokens=8, count=count)
    assert len(spans) > 5
    assert all(count(text[s.start : s.end]) <= 64 for s in spans)
    assert spans[-1].end == len(text)


def test_cjk_sentence_ends():
    assert sentences("第一句。第二句！Third one.") == ["第一句。", "第二句！", "Third one."]
