import math

import numpy as np
import pytest

from rag.lexical import BM25Index, best_span, tokenize

DOCS = [
    "Sparse attention reduces the memory of transformers.",
    "Quantization of large language models to four bits.",
    "Memory efficient training of language models with quantized optimizer states.",
    "A dataset of brick walls for topology-aware segmentation.",
]


def test_tokenize_stems_and_drops_stopwords():
    assert tokenize("The Models are Training on the GPUs") == ["model", "train", "gpus"]
    assert tokenize("") == []


def _reference_bm25(docs, query, k1=1.2, b=0.75):
    """Lucene's BM25 as in Kamphuis et al. 2020 ("Which BM25 do you mean?"), written from
    the formula: idf = ln(1 + (N - n + .5)/(n + .5)), tf part = tf / (tf + k1 (1 - b + b dl/avgdl))
    (Lucene drops the constant (k1 + 1) numerator)."""
    toks = [tokenize(d) for d in docs]
    n_docs = len(toks)
    avgdl = sum(len(t) for t in toks) / n_docs
    out = []
    for t in toks:
        s = 0.0
        for q in set(tokenize(query)):
            n = sum(q in d for d in toks)
            if n == 0:
                continue
            idf = math.log(1 + (n_docs - n + 0.5) / (n + 0.5))
            tf = t.count(q)
            s += idf * tf / (tf + k1 * (1 - b + b * len(t) / avgdl))
        out.append(s)
    return out


@pytest.mark.parametrize("query", ["memory of language models", "quantization", "brick topology", "nothing matches zzz"])
def test_bm25_matches_reference_formula(query):
    index = BM25Index.build(DOCS)
    assert list(index.scores(query)) == pytest.approx(_reference_bm25(DOCS, query), rel=1e-5)


def test_top_orders_and_drops_zero_scores():
    index = BM25Index.build(DOCS)
    top = index.top("memory language models", k=10)
    assert [i for i, _ in top] == [2, 1, 0]  # 3 terms, then 2 (language, model), then 1
    assert index.top("zzz", k=3) == []


def test_save_load_roundtrip(tmp_path):
    index = BM25Index.build(DOCS)
    index.save(tmp_path)
    again = BM25Index.load(tmp_path)
    assert list(again.scores("memory models")) == pytest.approx(list(index.scores("memory models")))
    assert again.idf("memori") == index.idf("memori")


def test_best_span_picks_the_most_informative_sentence():
    text = "We propose a method. It cuts KV cache memory by half. Results are good."
    spans = [(0, 20), (21, 52), (53, 71)]
    index = BM25Index.build(DOCS)
    assert best_span("how to reduce KV cache memory", text, spans, index.idf) == 1
    assert best_span("unrelated", text, spans, index.idf) == 0


def test_question_words_are_not_terms():
    assert tokenize("What does CSKV do? Which paper is it?") == ["cskv"]


def test_names_title():
    from rag.lexical import names_title

    df = {"cskv": 3, "cach": 40, "kv": 20}
    assert names_title("What does CSKV do?", "CSKV: Channel Shrinking for KV Cache", df)
    assert not names_title("How do KV caches work?", "CSKV: Channel Shrinking for KV Cache", df)  # common words
    assert not names_title("What does CSKV do?", "Another Paper", df)


def test_title_names_are_the_words_a_title_writes_as_names():
    from rag.lexical import title_names

    assert title_names("Monolith: Real Time Recommendation System With Collisionless Embedding Table") == {"monolith"}
    assert title_names("FlexRound: Learnable Rounding based on Element-wise Division") == {"flexround"}
    assert title_names("Deep Neural Network On-Device Learning on MicroControllers") == {"microcontrollers"}
    assert title_names("OTOV2: Automatic, Generic, User-Friendly") == {"otov2"}
    # several words before the colon are a phrase, not a name; short capitals are too ambiguous typed in lower case
    assert title_names("Stretching Each Dollar: Diffusion Training on a Micro-Budget") == set()
    assert title_names("Group DETR: Fast DETR Training with HD maps") == {"detr"}  # "hd": too short
    assert title_names("Diffusion Training from Scratch") == set()


def test_scores_are_bm25s_scores_bit_for_bit():
    """The query path scores without bm25s (rag.lexical.bm25_scores); bm25s is the reference."""
    import random

    rng = random.Random(7)
    vocab = "memory model language cache quantization diffusion attention kernel graph robot token sparse".split()
    docs = [" ".join(rng.choice(vocab) for _ in range(rng.randint(3, 40))) for _ in range(300)] + DOCS
    index = BM25Index.build(docs)
    for query in ["memory of language models", "cache cache kernel", "robot sparse token graph attention", "zzz", "quantization"]:
        ids = index.model.get_tokens_ids(tokenize(query))
        expected = index.model.get_scores_from_ids(ids) if ids else np.zeros(len(docs), dtype=np.float32)
        assert np.array_equal(index.scores(query), expected), query


def test_a_loaded_index_scores_like_the_built_one_and_cannot_be_saved(tmp_path):
    index = BM25Index.build(DOCS)
    index.save(tmp_path)
    again = BM25Index.load(tmp_path)
    assert again.model is None
    assert np.array_equal(again.scores("memory language models"), index.scores("memory language models"))
    with pytest.raises(RuntimeError, match="built in this process"):
        again.save(tmp_path / "x")


def test_the_pronoun_i_is_not_a_name():
    from rag.lexical import name_words

    assert name_words("how do I prune a network without fine-tuning afterwards?") == []
    assert name_words("Can I use LoRA for diffusion, or I'm better off with DreamBooth?") == ["LoRA", "DreamBooth"]
    assert name_words("What does Monolith do?") == ["Monolith"]


def test_a_question_saying_i_misses_no_name():
    """"How can I ..." counted "I" as a name no retrieved paper mentions (names_missing 1.0,
    the abstention model's strongest negative feature): a user's own wording pushed an
    answerable question towards abstention (p 0.06 at the threshold for "how do I prune a
    network without fine-tuning afterwards?")."""
    from rag.abstention import features
    from rag.evidence import PaperEvidence

    ev = PaperEvidence(1, "p1", "Pruning Once", "We prune a network once, with no fine-tuning.", (), ())
    values = features("how do I prune a network without fine-tuning?", [0.5], [ev], lambda t: 1.0, lambda t: 1)
    assert values["names_missing"] == 0.0
    values = features("how does EEG pruning work?", [0.5], [ev], lambda t: 1.0, lambda t: 1)
    assert values["names_missing"] == 1.0


def test_best_terms_is_best_span_on_tokenized_spans():
    from rag.lexical import best_terms

    idf = {"kv": 3.0, "cach": 2.0, "memori": 1.0}.get
    spans = [{"we", "studi"}, {"memori"}, {"kv", "cach"}, {"kv", "cach"}]
    assert best_terms({"kv", "cach", "memori"}, spans, lambda t: idf(t, 0.0)) == 2  # 5.0 beats 1.0; tie -> earliest
    assert best_terms({"unrel"}, spans, lambda t: idf(t, 0.0)) == 0
    assert best_terms(set(), [], lambda t: 0.0) == 0
