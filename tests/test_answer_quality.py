"""Evidence selection, relevance, abstention and fusion: pure cores with exact values."""

import json

import numpy as np
import pytest

from rag.abstention import FEATURES, AbstentionModel, cross_validated, fit_logistic, threshold_for
from rag.errors import ConfigError
from rag.evidence import choose, relevance, role_weighted, roles, term_coverage
from rag.fusion import score_fusion
from rag.metrics import near_verbatim, verbatim_share
from rag.relevance import (
    adds_nothing,
    asks_for_paper,
    asks_for_several,
    is_bare_phrase,
    judged_relevance,
    question_echo,
    sentence_relevance,
    titles_as_markers,
)


def test_choose_adds_the_sentence_a_dependent_one_leans_on():
    scores = [0.1, 0.2, 0.9, 0.3, 0.8]
    dependent = [False, False, True, False, False]
    assert choose(scores, dependent, 2) == [1, 2, 4]
    assert choose(scores, [False, True, True, False, False], 1) == [0, 1, 2]  # transitively
    assert choose(scores, dependent, 0) == []
    assert choose([0.5, 0.5, 0.5], [False] * 3, 2) == [0, 1]  # ties: earlier first


def test_term_coverage_and_relevance_exact():
    idf = {"a": 1.0, "b": 3.0}.get
    assert term_coverage(["a", "b", "b"], {"b"}, idf) == 0.75
    assert term_coverage([], {"b"}, idf) == 0.0
    assert relevance(0.1, 0.0) == 0.0  # cosine at the floor, no shared term
    assert relevance(1.0, 1.0) == 1.0
    assert relevance(0.55, 0.5) == round(0.65 * 0.5 + 0.35 * 0.5, 4)


def test_sentence_relevance():
    assert sentence_relevance(0.0, 0.0, 0.0, is_title=True, paper_question=True) == 1.0
    assert sentence_relevance(0.9, 0.9, 0.9, is_title=True, paper_question=False) == 0.0
    own = relevance(0.55, 0.5)
    assert sentence_relevance(0.55, 0.5, 0.0, is_title=False, paper_question=False) == own
    assert sentence_relevance(0.55, 0.5, 1.0, is_title=False, paper_question=False) == round(0.5 * own + 0.5, 4)


@pytest.mark.parametrize(
    "question, expected",
    [
        ("Which paper trains diffusion models on a micro budget?", True),
        ("Is there work on KV cache compression?", True),
        ("What approaches reduce attention cost?", True),
        ("How does Monolith make real-time training possible?", False),
        ("What FID does InstaFlow reach?", False),
    ],
)
def test_asks_for_paper(question, expected):
    assert asks_for_paper(question) is expected


def test_score_fusion_exact():
    dense = {"a": 0.8, "b": 0.6}
    lexical = {"b": 10.0, "c": 5.0}
    out = score_fusion(dense, lexical, 0.5)
    assert out == [("b", 0.8), ("a", 0.4), ("c", 0.25)]
    assert score_fusion(dense, {}, 0.5) == [("a", 0.4), ("b", 0.3)]  # no lexical evidence: dense order
    assert score_fusion({"x": 0.5, "y": 0.5}, {}, 1.0) == [("x", 0.5), ("y", 0.5)]  # ties: first seen


def test_near_verbatim():
    s = "We propose a collisionless embedding table with expirable embeddings."
    assert near_verbatim(s, s)
    assert near_verbatim("We propose a collisionless embedding table with expirable embeddings [1].", s)
    assert not near_verbatim("It avoids hash collisions so each id keeps its own vector.", s)


def test_verbatim_share_counts_a_copy_of_any_quoted_sentence():
    first = "We propose a collisionless embedding table with expirable embeddings."
    second = "Our system reaches real-time training with frequency filtering of ids."
    quotes = {1: [first, second], 2: ["Something else entirely about speech models."]}
    sentences = [
        ("We propose a collisionless embedding table with expirable embeddings [1].", [1]),  # copies the first quote
        ("Our system reaches real-time training with frequency filtering of ids [1].", [1]),  # copies the second
        ("It avoids hash collisions so each id keeps its own vector [1].", [1]),  # own words
        ("Our system reaches real-time training with frequency filtering of ids [2].", [2]),  # not what [2] quotes
    ]
    assert verbatim_share(sentences, quotes) == 0.5
    assert verbatim_share(sentences[:2], {1: [first]}) == 0.5  # only the first quote known: one copy
    with pytest.raises(ValueError):
        verbatim_share([], quotes)


def test_restates_and_answering_sentences():
    from rag.evidence import EvidenceSentence
    from rag.verify import _answering, restates

    long = "In the recent past there was a shift to Transformers. We only use feed-forward encoder-decoder models."
    assert restates("In the recent past there was a shift to Transformers.", [long], 0.7)  # inside a longer sentence
    assert not restates("The authors evaluate at scales of up to 180 GPUs.", ["Checkpointing is 48x faster [1]."], 0.7)
    assert not restates("", [long], 0.7)
    texts = [
        "Diffusion models have revolutionized image generation.",  # background (before the first contribution)
        "We propose to mask 75% of the patches.",  # contribution
        "38.9%) for zero-shot object proposal on LVIS.",  # a fragment of a badly split sentence
        "Training costs $1,890 in total.",  # body
        "Code is available at https://example.org.",  # release
    ]
    every, start = [], 0
    for t, role in zip(texts, roles(texts)):  # as evidence selection sets them
        every.append(EvidenceSentence(start, start + len(t), t, 0.5, role))
        start += len(t) + 1
    assert [ev.text for ev in _answering(tuple(every))] == [texts[1], texts[3]]


def test_threshold_for_keeps_the_false_abstention_rate():
    p = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95]
    t = threshold_for(p, 0.1)  # one of ten may fall below
    assert t == 0.2 and sum(x < t for x in p) == 1
    assert threshold_for(p, 0.0) == 0.1
    assert threshold_for(p, 1.0) == 1.0


def test_logistic_separates_and_cross_validates():
    rng = np.random.default_rng(1)
    x = np.vstack([rng.normal(1, 0.3, (40, 2)), rng.normal(-1, 0.3, (40, 2))])
    y = np.array([1.0] * 40 + [0.0] * 40)
    w, b = fit_logistic(x, y)
    assert w[0] > 0 and w[1] > 0
    oof = cross_validated(x, y)
    assert ((oof >= 0.5) == (y == 1)).mean() >= 0.95


def test_abstention_model_round_trip_and_errors(tmp_path):
    n = len(FEATURES)
    m = AbstentionModel(FEATURES, (0.0,) * n, (1.0,) * n, (1.0,) + (0.0,) * (n - 1), 0.0, 0.5, {"x": 1})
    path = tmp_path / "a.json"
    path.write_text(m.to_json())
    loaded = AbstentionModel.load(path)
    assert loaded == m
    values = dict.fromkeys(FEATURES, 0.0)
    assert loaded.probability(values) == 0.5
    assert loaded.probability({**values, "dense_best": 50.0}) > 0.99
    with pytest.raises(ConfigError, match="missing"):
        AbstentionModel.load(tmp_path / "nope.json")
    path.write_text(json.dumps({"features": ["bogus"], "mean": [0], "scale": [1], "weights": [1], "bias": 0, "threshold": 0.5}))
    with pytest.raises(ConfigError, match="unknown features"):
        AbstentionModel.load(path)


def test_risk_coverage_exact():
    from rag.metrics import risk_coverage

    assert risk_coverage([0.9, 0.1, 0.5], [True, False, False]) == [(1 / 3, 1.0), (2 / 3, 0.5), (1.0, 1 / 3)]


def test_window_credit_goes_to_the_better_member():
    from rag.support import window_credit

    single, pairs = [0.2, 0.7, 0.3], [0.8, 0.6]
    assert window_credit(single, pairs, 0) == 0.2  # window (0, 1) belongs to sentence 1
    assert window_credit(single, pairs, 1) == 0.8
    assert window_credit(single, pairs, 2) == 0.3
    assert window_credit([0.5], [], 0) == 0.5


VIDEO_Q = "How can I score perceptual quality of 1080p videos with a deep model cheaply, without resizing or cropping?"
DETECTOR_Q = "Detector trained on partly unlabeled images where each pseudo-box's loss is weighted by the teacher's confidence score?"


def test_adds_nothing_is_the_question_said_back_with_a_citation():
    # users4 u4-033: the 0.5B model's first sentence, shown as "attributed" before
    assert adds_nothing("ProxylessNAS CIFAR-10 error and parameter count are [1].", "ProxylessNAS CIFAR-10 error and parameter count?")
    assert adds_nothing("Monolith makes real-time recommendation training possible [1].", "How does Monolith make real-time recommendation training possible?")
    # one new word or number is an answer: "74"
    assert not adds_nothing("The zero-shot ModelNet40 accuracy of ULIP-2 is 74% [1].", "zero-shot ModelNet40 accuracy of ULIP-2")
    assert not adds_nothing("Monolith uses a collisionless embedding table [1].", "How does Monolith work?")


def test_question_echo_keeps_what_the_sentence_adds():
    said = "To score perceptual quality of 1080p videos with a deep model cheaply, without resizing or cropping, you can use Grid Mini-patch Sampling [1]."
    assert question_echo(said, VIDEO_Q) == "you can use Grid Mini-patch Sampling [1]."
    # nothing echoed: unchanged, even when it shares words with the question
    own = "Monolith makes real-time recommendation training possible with a collisionless embedding table [1]."
    assert question_echo(own, "How does Monolith make real-time recommendation training possible?") == own
    # only the question and a pointer: nothing is claimed beyond it
    assert question_echo("The detector trained on partly unlabeled images where each pseudo-box's loss is weighted by the teacher's confidence score is presented in [1].", DETECTOR_Q) == ""
    assert question_echo("Monolith makes real-time recommendation training possible [1].", "How does Monolith make real-time recommendation training possible?") == ""


def test_titles_as_markers():
    titles = [(1, "Soft Teacher"), (2, "FAST-VQA: Efficient Video Quality Assessment")]
    assert titles_as_markers("It is presented in soft teacher, not in FAST-VQA.", titles) == ("It is presented in [1], not in FAST-VQA.", [1])
    assert titles_as_markers("No title here.", titles) == ("No title here.", [])


def test_asks_for_several():
    assert asks_for_several("Which papers train networks with intermediate exits?")
    assert asks_for_several("How does the dense-residual transformer differ from the diffusion approach?")
    assert asks_for_several("Data-free quantization vs. PTQ: how do data needs differ?")
    assert not asks_for_several(VIDEO_Q)
    assert not asks_for_several("What is Monolith and what problem does it solve?")
    # "ways to X" asks for the range of methods: "ways to shrink the kv cache" got one of four KV-cache papers
    assert asks_for_several("ways to shrink the kv cache during long generation")
    assert asks_for_several("curvature-aware alternatives to Adam for chatbot pretraining")
    assert not asks_for_several("the old seq2seq trick for convex hulls and tsp")  # one trick: one paper
    assert not asks_for_several("which AST extractor to pick, any options?")


def test_is_bare_phrase():
    assert is_bare_phrase("camera-only bird's-eye-view 3D detection for self-driving")
    assert is_bare_phrase("work on training hypernetworks")
    assert is_bare_phrase("duplicated targets help DETR converge sooner")
    assert not is_bare_phrase("class-incremental learning methods?")  # a question mark
    assert not is_bare_phrase("how does flexround work")  # a question word
    assert not is_bare_phrase("Explain monolith")  # a request
    assert not is_bare_phrase("  Is there work on spiking networks")


def test_a_sentence_that_restates_the_question_and_answers_it_is_relevant():
    said = "To score perceptual quality of 1080p videos cheaply without resizing, use Grid Mini-patch Sampling [1]."
    args = dict(cosine=0.9, coverage=0.9, source_relevance=0.9, titles=[], bare_title=False)
    q = "To score perceptual quality of 1080p videos cheaply without resizing?"
    assert judged_relevance(said, q, **args) == 0.0  # says the question back
    assert judged_relevance(said, q, restates=True, **args) > 0.5  # ... and then answers it


def test_only_shown_unsupported_sentences_are_counted_for_the_footer():
    from rag.schema import UNSUPPORTED_NOTE, Answer, SentenceSupport

    sentences = [SentenceSupport(text=t, citations=[], status="unsupported", support=0.1) for t in ("A.", "B.")]
    shown = Answer(question="q", text=f"A. {UNSUPPORTED_NOTE} C [1].", sentences=sentences, model="m", settings_hash="h")
    dropped = Answer(question="q", text="C [1].", sentences=sentences, model="m", settings_hash="h")
    assert (shown.marked_unsupported(), dropped.marked_unsupported()) == (1, 0)


def test_roles_of_an_abstract():
    sentences = [
        "Scaling laws concentrate development in a few labs.",  # before the paper's own work
        "We propose to randomly mask up to 75% of the image patches.",
        "It keeps quality with a patch-mixer.",
        "We aim to release our end-to-end training pipeline to democratize training on micro-budgets.",
        "Code is available at https://github.com/x/y.",
        "When labels are not available on the training data, we show that transfer works.",  # not a release
        "We release X, a dataset of 1M images.",  # a dataset paper's contribution: not a code release
    ]
    assert roles(sentences) == ["background", "contribution", "body", "release", "release", "contribution", "body"]
    assert roles(["Code will be released.", "We present Y."]) == ["release", "contribution"]  # a release is not where the work starts
    # MobileQuant's abstract (users4 u4-004): "we make", "we first investigate", "we then address" state its own work
    mobile = [
        "A promising solution is to reduce the number of bits used to represent weights and activations.",
        "In this work, we make a first attempt to facilitate the on-device deployment of LLMs using integer-only quantization.",
        "We first investigate the limitations of existing quantization methods for on-device deployment.",
        "We then address these limitations by introducing a simple post-training quantization method, named MobileQuant.",
    ]
    assert roles(mobile) == ["background", "contribution", "contribution", "contribution"]
    assert roles(["This paper tackles this challenge by introducing a technique."]) == ["contribution"]


def test_role_weighted():
    assert role_weighted(0.6, "background", 0.5, 0.1) == 0.3
    assert role_weighted(0.6, "release", 0.5, 0.1) == 0.3
    assert role_weighted(0.6, "contribution", 0.5, 0.1) == 0.7
    assert role_weighted(0.95, "contribution", 0.5, 0.1) == 1.0
    assert role_weighted(0.6, "body", 0.5, 0.1) == 0.6


def _paper(n: int, pid: str, title: str, texts: list[tuple[str, float]]):
    """A hand-built source whose evidence is every sentence of ``texts`` (text, score)."""
    from rag.evidence import EvidenceSentence, PaperEvidence
    from rag.retrieve import PaperHit
    from rag.sources import Source

    abstract = " ".join(t for t, _ in texts)
    sentences, start = [], 0
    for (t, score), role in zip(texts, roles([t for t, _ in texts])):  # roles as evidence selection sets them
        sentences.append(EvidenceSentence(start, start + len(t), t, score, role))
        start += len(t) + 1
    hit = PaperHit(n, pid, title, 1.0 / n, None, None, texts[0][0], 0, len(texts[0][0]), (), ())
    return Source(n, hit, [], PaperEvidence(n, pid, title, abstract, tuple(sentences), tuple(sentences)))


def _cited(question: str, sentences: list[str], src, mode: str = "generated"):
    from rag.schema import Answer, Quote, Reference, SentenceSupport

    first = src.evidence.sentences[0]
    ref = Reference(n=1, paper_id=src.hit.paper_id, title=src.hit.title, sentence=first.text, start=first.start, end=first.end,
                    support=1.0, quotes=[Quote(start=first.start, end=first.end, text=first.text)])
    return Answer(question=question, text=" ".join(f"{s} [1]." for s in sentences), model="t", settings_hash="x", mode=mode,
                  sentences=[SentenceSupport(text=f"{s}.", citations=[1], status="cited", support=1.0, relevance=0.5) for s in sentences],
                  references=[ref])


def test_add_supporting_picks_the_cited_or_focused_paper_and_leaves_other_answers_alone():
    """Pure wiring of the supporting sentence (hand-built sources, no model): the best
    answering sentence of the cited paper is quoted after the answer and marked a detail; with
    ``focus`` the focused source is used; extractive answers, several-paper questions and
    answers of LONG_ANSWER sentences are left as they are."""
    from rag.settings import Settings
    from rag.verify import LONG_ANSWER, add_supporting

    settings = Settings(answer={"supporting_sentences": 1})
    a = _paper(1, "a", "Alpha: Masked Training", [
        ("We propose Alpha, which masks 75% of image patches.", 0.6),
        ("Alpha trains a 1.2B model for $1,890 on 37M images.", 0.5),
        ("This reduces the cost further.", 0.9),  # leans on the sentence before it: never alone
    ])
    b = _paper(2, "b", "Beta: Cheap Sampling", [("We propose Beta, a one-step sampler.", 0.6), ("Beta reaches FID 5.0 on CIFAR-10.", 0.7)])
    q = "How can a diffusion model be trained cheaply?"
    answer = add_supporting(_cited(q, ["Alpha masks most image patches"], a), [a, b], settings)
    assert [s.text for s in answer.sentences][1:] == ["Alpha trains a 1.2B model for $1,890 on 37M images."]
    assert answer.sentences[1].detail and answer.sentences[1].citations == [1]
    assert [q.text for q in answer.references[0].quotes][-1] == "Alpha trains a 1.2B model for $1,890 on 37M images."
    assert answer.text.endswith("masks most image patches [1]. Alpha trains a 1.2B model for $1,890 on 37M images [1].")

    # an answer citing both papers: the best-ranked one's sentence, or with a chat follow-up's
    # focus on source 2, source 2's (cited there as [2])
    both = _cited(q, ["Alpha masks most image patches"], a)
    both.references.append(both.references[0].model_copy(update={"n": 2, "paper_id": "b", "title": b.hit.title}))
    assert add_supporting(both.model_copy(deep=True), [a, b], settings).sentences[-1].text.startswith("Alpha trains")
    focused = add_supporting(both, [a, b], settings, frozenset({2}))
    assert focused.sentences[-1].text == "Beta reaches FID 5.0 on CIFAR-10." and focused.sentences[-1].citations == [2]

    for unchanged in (
        _cited(q, ["Alpha masks most image patches"], a, mode="extractive"),
        _cited("Which papers train diffusion models cheaply?", ["Alpha masks most image patches"], a),
        _cited(q, [f"Alpha claim {i}" for i in range(LONG_ANSWER)], a),
    ):
        before = unchanged.text
        assert add_supporting(unchanged, [a, b], settings).text == before


def test_an_extractive_answer_quotes_after_its_best_sentence_only_sentences_that_answer():
    """The best-scoring sentence is always quoted; the next ones only when they answer on their
    own: background, a sentence leaning on the one before it, a fragment are skipped even
    when they score higher than the sentence that is quoted instead."""
    from rag.schema import Answer
    from rag.settings import Settings
    from rag.verify import extractive

    settings = Settings(answer={"extractive_lead": "best"})
    a = _paper(1, "a", "Alpha: Masked Training", [
        ("Training diffusion models is expensive for most labs.", 0.8),  # background
        ("We propose Alpha, which masks 75% of image patches during training.", 0.9),
        ("This reduces the cost further.", 0.85),  # leans on the sentence before it
        ("38.9%) for zero-shot proposals.", 0.8),  # a fragment of a badly split sentence
        ("Alpha trains a 1.2B model for $1,890 on 37M images.", 0.5),
        ("Alpha reaches 12.7 FID on COCO [7].", 0.4),  # a marker inside the source is data
    ])
    answer = extractive([a], [], Answer(question="How is Alpha trained cheaply?", text="", model="t", settings_hash="x"), settings)
    assert answer.mode == "extractive"
    assert [s.text for s in answer.sentences] == [
        "The authors propose Alpha, which masks 75% of image patches during training.",
        "Alpha trains a 1.2B model for $1,890 on 37M images.",
        "Alpha reaches 12.7 FID on COCO (7).",
    ]
    assert "[7]" not in answer.text and answer.text.endswith("COCO (7) [1].")
    assert answer.references[0].quotes[-1].text == "Alpha reaches 12.7 FID on COCO [7]."  # the quote stays verbatim


def test_a_quote_pointing_back_at_a_problem_does_not_answer_on_its_own():
    from rag.evidence import EvidenceSentence
    from rag.verify import _answering

    back = EvidenceSentence(0, 10, "With a focus on text-to-image models, we aim to address this bottleneck by demonstrating low-cost training.", 0.9, "contribution")
    lead_in = EvidenceSentence(11, 20, "To address this issue, we propose to mask 75% of the patches.", 0.8, "contribution")  # the lead-in is dropped
    own = EvidenceSentence(21, 30, "Our model costs 118x less than stable diffusion models.", 0.7, "body")
    purpose = EvidenceSentence(31, 40, "To break through this bottleneck, their Vlogger leverages an LLM as Director.", 0.6, "body")
    names = EvidenceSentence(41, 50, "In this paper, we address these issues and propose the BLSP approach.", 0.5, "contribution")
    assert _answering((back, lead_in, own, purpose, names)) == [lead_in, own, purpose, names]


def test_a_sentence_pointing_at_what_another_papers_sentence_said_is_dangling():
    """Real drafts (2026-12-06): "Knowledge distillation is ... [1]. This divergence illustrates
    the ineffectiveness of ... [2]." and "This makes it particularly suitable for ... [1]." as a
    first sentence: "this" points at nothing shown. "This method uses ..." first, for a
    question asking which method, "This distillation ..." for a question about distillation,
    and "It ..." (it may stand for the asked term) read fine."""
    from rag.citations import Decision
    from rag.evidence import points_at_previous
    from rag.verify import _dangling

    q = "Which training-free method lets a small aligned model steer a large one?"
    assert points_at_previous("This divergence illustrates the ineffectiveness of hint-based methods.", q)
    assert points_at_previous("This divergence illustrates the ineffectiveness of hint-based methods.", q, first=True)
    assert points_at_previous("This makes it particularly suitable for driving.", q, first=True)
    assert points_at_previous("This is done by a gating network.", q, first=True)
    assert points_at_previous("The latter needs no labels.", q)
    assert not points_at_previous("This method uses a small aligned model to generate tokens.", q, first=True)
    assert points_at_previous("This method uses a small aligned model.", "how can a small model steer a large one?")  # not first: another paper's method
    assert not points_at_previous("This distillation scheme needs no labels.", "what is knowledge distillation")
    assert points_at_previous("This loss is new.", "what is long context")  # "loss" is not "long"
    assert not points_at_previous("It uses a small aligned model.", q)
    assert not points_at_previous("This paper introduces xRAG.", q)  # the paper itself
    assert not points_at_previous("That said, the gains vanish at scale.", q)
    assert not points_at_previous("However, the gains vanish at scale.", q)  # a connective reads on its own
    assert not points_at_previous("Thisbe is a model.", q)

    def d(*sources):
        return Decision("cited", list(sources), [], [], 1.0)

    texts = ["Knowledge distillation is a method [1].", "This divergence illustrates the gap [2].", "These results hold for CNNs [1]."]
    assert _dangling([0, 1, 2], texts, [d(1), d(2), d(1)], "what is knowledge distillation") == {1}
    assert _dangling([0, 2], texts, [d(1), d(2), d(1)], "what is knowledge distillation") == set()  # follows a sentence of [1]
    # a dangling sentence is not "before" anything: "These results" is then the first shown sentence
    assert _dangling([1, 2], texts, [d(1), d(2), d(2)], "what is knowledge distillation") == {1, 2}


def test_a_sentence_opening_with_a_title_it_does_not_cite_is_found():
    from rag.corpus import normalize_title
    from rag.verify import opens_with_other_title

    titles = {normalize_title(t): n for n, t in {1: "Vlogger: Make Your Dream A Vlog", 2: "Multimodal Language Models for Domain-Specific Procedural Video Summarization"}.items()}
    swapped = "Multimodal Language Models for Domain-Specific Procedural Video Summarization introduces a novel video diffusion model, ShowMaker [1]."
    assert opens_with_other_title(swapped, titles, [1]) == 2
    assert opens_with_other_title(swapped, titles, [2]) is None  # cites the paper it names
    assert opens_with_other_title("Vlogger: Make Your Dream A Vlog presents Vlogger [1].", titles, [1]) is None
    assert opens_with_other_title("The authors present ShowMaker, as in Multimodal Language Models for Domain-Specific Procedural Video Summarization [1].", titles, [1]) is None


def test_a_bare_phrase_covers_only_papers_nearly_as_close_to_it_as_the_first():
    """cover_papers with ``min_dense_share`` (answer.cover_phrases_dense_share): of two further
    sources with evidence as relevant as the first's, only the one whose dense cosine to the
    question is at least that share of the first source's is added, named and cited."""
    from dataclasses import replace

    from rag.settings import Settings
    from rag.verify import cover_papers

    settings = Settings(answer={"cover_papers": 3, "extractive_margin": 0.5})
    question = "work on training hypernetworks"
    first = _paper(1, "p1", "HyperNet A", [("We propose a hypernetwork that generates weights.", 0.8)])
    near = _paper(2, "p2", "HyperInterval", [("We train a hypernetwork over intervals of tasks.", 0.75)])
    far = _paper(3, "p3", "Sparse Training", [("We propose training sparse networks from scratch.", 0.75)])
    sources = [replace(s, hit=replace(s.hit, dense=d)) for s, d in ((first, 0.60), (near, 0.57), (far, 0.45))]

    def covered(share: float) -> list[str]:
        answer = _cited(question, ["A hypernetwork generates the weights"], sources[0])
        return [r.title for r in cover_papers(answer, sources, settings, several=True, min_dense_share=share).references]

    assert covered(0.9) == ["HyperNet A", "HyperInterval"]  # 0.57 >= 0.9 * 0.60; 0.45 < 0.54
    assert covered(0.0) == ["HyperNet A", "HyperInterval", "Sparse Training"]
    assert covered(0.99) == ["HyperNet A"]
