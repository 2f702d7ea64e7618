"""rag/figures.py: which questions ask for a figure, and which sentences give it (pure, exact)."""

from __future__ import annotations

import pytest

from rag.evidence import EvidenceSentence, PaperEvidence
from rag.figures import Figure, asked_figure, gives_figure, states_figure, with_figure


@pytest.mark.parametrize(
    ("question", "phrase", "some_terms"),
    [
        ("What perplexity does the 1-bit compression reach at 3 bits?", "the perplexity", {"perplexity", "ppl"}),
        ("What WikiText-2 perplexity does GPTQ get?", "the WikiText-2 perplexity", {"perplexity"}),
        ("What equal error rates on VoxCeleb does it reach?", "the equal error rate", {"eer", "error"}),
        ("How many protein sequences was the model trained on?", "how many protein sequences", {"sequence"}),
        ("How many hours of music was it trained on?", "how many hours", {"hour", "day"}),
        ("How many seconds does one edit take?", "how many seconds", {"second", "ms"}),
        ("How many mAP points does it gain?", "how many mAP points", {"map"}),
        ("How much faster are FFT convolutions on tensor cores?", "how much faster", {"faster", "x", "speedup"}),
        ("How much less memory than CoTTA does it use?", "how much less memory", {"memory", "%"}),
        ("How long does editing one photo take?", "how long", {"second", "minute"}),
        ("Which backbone does it use, and what FID does it reach?", "the FID", {"fid"}),
    ],
)
def test_asked_figure(question, phrase, some_terms):
    figure = asked_figure(question)
    assert figure is not None and figure.phrase == phrase
    assert some_terms <= figure.terms


@pytest.mark.parametrize(
    "question",
    [
        "By how much does LaCLIP improve zero-shot accuracy over CLIP?",
        "How large is the TOD3Cap dataset?",
        "What average improvement does PRIME bring?",
    ],
)
def test_questions_any_number_answers(question):
    figure = asked_figure(question)
    assert figure is not None and figure.terms == frozenset()


@pytest.mark.parametrize(
    "question",
    [
        "Which training objective teaches code LLMs to predict how many tokens are left?",  # not its own clause
        "What memory mechanism does the agent use?",  # 'what memory' need not ask for a number
        "How does Monolith make real-time recommendation training possible?",
        "Which papers study EEG-based brain-computer interfaces?",
        "What is the soft teacher mechanism in semi-supervised object detection?",
    ],
)
def test_questions_that_ask_for_no_figure(question):
    assert asked_figure(question) is None


def test_two_figures_asked_either_one_counts():
    figure = asked_figure("How long does it take to train, and what FID does it reach?")
    assert figure.phrase == "how long" and {"fid", "hour"} <= figure.terms


PPL = Figure("the perplexity", frozenset({"perplexity", "ppl"}))
SPEED = asked_figure("How much faster is it?")
TIME = asked_figure("How long does it take?")


@pytest.mark.parametrize(
    ("sentence", "figure", "expected"),
    [
        ("It reaches a perplexity of 5.3 on WikiText-2.", PPL, True),
        ("It lowers perplexity substantially at extreme compression.", PPL, False),  # no number
        ("It matches baselines at 3 bits per weight.", PPL, False),  # a number, not a perplexity
        ("Inference is 2.3x faster than the baseline.", SPEED, True),
        ("It runs 4.5× quicker on GPUs.", SPEED, True),  # the unit written after the number
        ("It has 7 layers.", SPEED, False),
        ("Editing takes 4 minutes per image.", TIME, True),
        ("Editing takes 4s per image.", TIME, True),
        ("It's a 7B model.", TIME, False),  # a lone "s" is not seconds
        ("It makes songs of 4m45s in only ten seconds.", asked_figure("How many hours of music was it trained on?"), False),
        ("Anything with 3 numbers.", Figure("how much", frozenset()), True),
        ("No number here.", Figure("how much", frozenset()), False),
    ],
)
def test_gives_figure(sentence, figure, expected):
    assert gives_figure(sentence, figure) is expected


def _evidence(texts: list[str], picked: list[int]) -> PaperEvidence:
    from rag.evidence import roles

    spans, start = [], 0
    for k, (t, role) in enumerate(zip(texts, roles(texts))):
        spans.append(EvidenceSentence(start, start + len(t), t, score=1.0 - k / 10, role=role))
        start += len(t) + 1
    return PaperEvidence(1, "p", "T", " ".join(texts), tuple(spans[i] for i in picked), tuple(spans))


def test_with_figure_adds_the_best_stating_sentence_in_abstract_order():
    ev = _evidence(["We propose X.", "X lowers perplexity.", "X reaches perplexity 5.3.", "X has perplexity 9 at 2 bits."], [0, 1])
    assert states_figure(ev, PPL)
    out = with_figure(ev, PPL)
    assert [s.text for s in out.sentences] == ["We propose X.", "X lowers perplexity.", "X reaches perplexity 5.3."]
    assert with_figure(out, PPL) == out  # already stated: unchanged


def test_with_figure_leaves_a_paper_that_states_none_unchanged():
    ev = _evidence(["We propose X.", "X lowers perplexity."], [0])
    assert not states_figure(ev, PPL)
    assert with_figure(ev, PPL) == ev


@pytest.mark.parametrize(
    ("question", "phrase", "some_terms"),
    [
        ("InstaFlow output image resolution?", "the resolution", {"resolution", "px"}),
        ("parameter count of the speech LM trained on synthetic interleaved data", "the parameter count", {"parameter"}),
        ("total parameter count of SkillNet multimodal model", "the parameter count", {"parameter"}),
        ("LLM size used in the online gradient-alignment data mixing experiments?", "the llm size", {"parameter"}),
        ("once-for-all net: training trick and mobile ImageNet accuracy?", "the accuracy", {"accuracy"}),
        ("Stretching Each Dollar training cost?", "the training cost", {"$", "gpu"}),
    ],
)
def test_a_noun_phrase_can_ask_for_a_figure(question, phrase, some_terms):
    """Users write detail questions as fragments; the measure ends the phrase or is followed by
    what it is of."""
    figure = asked_figure(question)
    assert figure is not None and figure.phrase == phrase
    assert some_terms <= figure.terms


@pytest.mark.parametrize(
    "question",
    [
        "diffusion models at high resolution",  # a qualified measure is a topic
        "quantization for small model size",
        "sketched regression with infinity-norm accuracy",  # a generic measure without "?" is a topic
        "forecasting code-task accuracy of bigger LMs beforehand",
        "Which papers reduce training cost of diffusion models?",  # a question, not a fragment
        "resolution-agnostic image generation",
        "reducing training time of diffusion models",  # found by review: topics, not asks
        "scaling laws for model size",
        "parameters of a Gaussian process",
        "efficient inference time for transformers",
        "image resolution",
    ],
)
def test_a_noun_phrase_naming_a_measure_as_a_topic_asks_for_no_figure(question):
    assert asked_figure(question) is None


def test_a_unit_alone_is_not_the_asked_parameter_count_or_resolution():
    params, resolution = asked_figure("parameter count of X?"), asked_figure("X output resolution?")
    assert not gives_figure("Scaling pre-training to 1 trillion tokens (with 600B synthetic tokens).", params)
    assert gives_figure("We train a 1.16 billion parameter sparse transformer.", params)
    assert not gives_figure("InstaFlow yields an FID of 13.1 on MS COCO 2014-30k.", resolution)
    assert not gives_figure("It is 118× cheaper and runs 10× faster.", resolution)
    assert gives_figure("It generates images at 1024×1024 resolution.", resolution) and gives_figure("Videos at 1080p.", resolution)
