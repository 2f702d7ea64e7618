"""Cited answers end to end: the real bundled llama.cpp model over the real index."""

import asyncio

import pytest
from conftest import check_references, scripted_llm

from rag.answer import UNSUPPORTED_NOTE, Answerer, AnswerStream, build_sources, clean_question
from rag.errors import RagError
from rag.text import neutralize

pytestmark = pytest.mark.slow

def UnsupportedLLM(settings=None):  # noqa: N802 - reads like the class it stands for
    """The registered scripted LLM, with a draft no source supports (verification rejects it)."""
    from rag.settings import load_settings

    return scripted_llm(settings or load_settings(), default="Bananas are rich in potassium [1].")


SOFT_TEACHER = "What is the soft teacher mechanism in semi-supervised object detection?"


@pytest.fixture(scope="module")
def answerer(full_index, retriever):
    settings, _ = full_index
    return Answerer(settings, retriever=retriever)


def test_end_to_end_with_the_bundled_model(answerer, retriever):
    answer = answerer.ask(SOFT_TEACHER)
    assert answer.status == "answered", answer.raw_text
    assert answer.model == "llama-cpp:qwen2.5-coder-0.5b-instruct-q4_k_m@q4_0"  # converted once (llm.requantize)
    assert answer.references, answer
    check_references(answer, retriever)
    assert "Soft Teacher" in answer.references[0].title
    assert all(s.status in ("cited", "attributed", "unsupported", "abstention", "off_topic") for s in answer.sentences)
    assert answer.timings.total_s >= answer.timings.generation_s > 0
    assert answer.timings.first_token_s is not None and answer.tokens.prompt > 100 and answer.tokens.completion > 0
    assert answer.settings_hash == answerer.settings.settings_hash()


def test_streaming_yields_the_raw_text(answerer):
    stream = AnswerStream(answerer, SOFT_TEACHER)
    pieces = list(stream)
    assert len(pieces) > 3
    assert "".join(pieces) == stream.answer.raw_text


def test_async_variant(answerer):
    async def go():
        return await asyncio.to_thread(answerer.ask, SOFT_TEACHER)

    assert asyncio.run(go()).status == "answered"


def test_off_topic_question_abstains_without_the_llm(answerer):
    answer = answerer.ask("What is the boiling point of seawater on Mars?")
    assert (answer.abstained, answer.abstain_reason, answer.status) == (True, "retrieval", "abstained")
    assert answer.references == [] and len(answer.retrieved) >= 4
    assert answer.tokens.completion == 0


def test_verification_of_a_written_answer(full_index, retriever):
    """Real judge, real sources; the answer text is written here instead of generated.
    (Citation logic only: the relevance filter is off here and tested on its own below.)"""
    settings, _ = full_index
    answerer = Answerer(
        settings.model_copy(update={"answer": settings.answer.model_copy(update={"relevance_threshold": 0.0, "unsupported": "mark"})}), retriever=retriever
    )
    hits = retriever.search(SOFT_TEACHER, k=4)
    sources = build_sources(hits, answerer.settings)
    teacher = next(s.n for s in sources if "Soft Teacher" in s.hit.title)
    other = next(s.n for s in sources if s.n != teacher)
    raw = (
        f"The classification loss of each unlabeled box is weighed by the teacher's classification score [{other}]. "
        "Bananas are a good source of potassium for marathon runners [1]. "
        "A box jittering approach selects reliable pseudo boxes for box regression [9]."
    )
    from rag.answer import Answer, RetrievedPaper

    retrieved = [RetrievedPaper.from_hit(h) for h in hits]
    answer = answerer.verify(raw, sources, retrieved, Answer(question=SOFT_TEACHER, text="", model="test", settings_hash="x"))
    statuses = [s.status for s in answer.sentences]
    assert statuses == ["attributed", "unsupported", "attributed"]
    assert answer.sentences[0].dropped_citations == [other]
    assert answer.sentences[2].invalid_citations == [9]
    assert [s.citations for s in answer.sentences] == [[1], [], [1]]
    assert len(answer.references) == 1 and "Soft Teacher" in answer.references[0].title
    assert f"potassium for marathon runners. {UNSUPPORTED_NOTE}" in answer.text
    check_references(answer, retriever)
    dropped = answerer.verify(raw, sources, retrieved, Answer(question=SOFT_TEACHER, text="", model="test", settings_hash="x"), drop_unsupported=True)
    assert [s.status for s in dropped.sentences] == statuses and "potassium" not in dropped.text  # what a hedged answer does


def test_a_sentence_said_twice_is_shown_once(answerer, retriever):
    """The 0.5B model sometimes repeats itself (4 of 159 answers of the users3, paraphrase_test
    and offtopic_test runs); the repeat is left out, with status repeated."""
    from rag.answer import Answer, RetrievedPaper

    settings = answerer.settings
    answerer = Answerer(settings.model_copy(update={"answer": settings.answer.model_copy(update={"relevance_threshold": 0.0})}), retriever=retriever)
    hits = retriever.search(SOFT_TEACHER, k=4)
    sources = build_sources(hits, answerer.settings)
    teacher = next(s.n for s in sources if "Soft Teacher" in s.hit.title)
    claim = "The classification loss of each unlabeled box is weighed by the teacher's classification score"
    raw = f"{claim} [{teacher}]. The paper shows that {claim[0].lower()}{claim[1:]} [{teacher}]."
    retrieved = [RetrievedPaper.from_hit(h) for h in hits]
    answer = answerer.verify(raw, sources, retrieved, Answer(question=SOFT_TEACHER, text="", model="test", settings_hash="x"))
    assert [s.status for s in answer.sentences] == ["cited", "repeated"]
    assert answer.text.count("classification loss") == 1 and answer.text.endswith("[1].")
    check_references(answer, retriever)


def test_off_topic_sentences_are_left_out(answerer, retriever):
    """A supported sentence that says the question back, or only points at code, is not an answer."""
    from rag.answer import Answer, RetrievedPaper

    hits = retriever.search(SOFT_TEACHER, k=4)
    sources = build_sources(hits, answerer.settings)
    teacher = next(s for s in sources if "Soft Teacher" in s.hit.title)
    raw = f"What is the soft teacher mechanism in semi-supervised object detection [{teacher.n}]. The code is available at https://github.com/x/y [{teacher.n}]."
    answer = answerer.verify(raw, sources, [RetrievedPaper.from_hit(h) for h in hits], Answer(question=SOFT_TEACHER, text="", model="t", settings_hash="x"))
    assert answer.abstained and answer.text == "The collection does not answer this question."
    assert {s.status for s in answer.draft} <= {"off_topic", "unsupported"}  # neither is shown as an answer


def test_restated_questions_and_links_are_not_relevant():
    from rag.relevance import judged_relevance, sentence_relevance

    def rel(sentence, question="What is the soft teacher mechanism in semi-supervised object detection?"):
        return judged_relevance(sentence, question, cosine=0.9, coverage=1.0, source_relevance=1.0, titles=["Soft Teacher"], bare_title=False)

    assert rel("The soft teacher mechanism in semi-supervised object detection.") == 0.0
    assert rel("The code is available at https://github.com/x/y.") == 0.0
    assert rel("Each unlabeled box's loss is weighed by the teacher's score.") == sentence_relevance(0.9, 1.0, 1.0, is_title=False, paper_question=False)
    assert judged_relevance("Soft Teacher does it.", "Which paper weighs boxes by a teacher?", cosine=0, coverage=0, source_relevance=0,
                            titles=["Soft Teacher"], bare_title=False) == 1.0


def test_hostile_markers_in_sources_are_neutralized():
    assert neutralize("see [1] and [2, 3] or [Source 4]") == "see (1) and (2, 3) or (Source 4)"


@pytest.mark.parametrize("question", ["", "   \n\t", "\x00\x01"])
def test_empty_questions(question):
    with pytest.raises(RagError, match="empty"):
        clean_question(question, 100)


def test_oversize_question():
    with pytest.raises(RagError, match=r"the question is 101 characters; the limit is 100"):
        clean_question("x" * 101, 100)


def test_a_named_paper_counts_only_when_it_is_about_the_question(answerer, retriever):
    """Small models often answer "which paper...?" by echoing a source header."""
    from rag.answer import Answer, RetrievedPaper

    question = "Which paper weighs the classification loss of unlabeled boxes by a teacher network's score?"
    hits = retriever.search(question, k=4)
    sources = build_sources(hits, answerer.settings)
    retrieved = [RetrievedPaper.from_hit(h) for h in hits]
    teacher = next(s for s in sources if "Soft Teacher" in s.hit.title)
    other = next(s for s in sources if "Soft Teacher" not in s.hit.title)

    def verify(raw):
        return answerer.verify(raw, sources, retrieved, Answer(question=question, text="", model="test", settings_hash="x"))

    good = verify(f"[{teacher.n}] {teacher.hit.title}\n")
    assert good.status == "answered" and good.text == f"{teacher.hit.title} [1]."
    assert good.references[0].paper_id == teacher.hit.paper_id
    check_references(good, retriever)
    assert verify(f"[{other.n}] {other.hit.title}\n").abstained


def test_short_question_naming_a_paper_is_not_refused(full_index, retriever):
    """"What does CSKV do?" has a low cosine (the embedder does not know the acronym) but names a paper."""
    from rag.llm import make_llm

    settings, _ = full_index
    settings = settings.model_copy(update={"llm": settings.llm.model_copy(update={"backend": "extractive"})})
    answer = Answerer(settings, retriever=retriever, llm=make_llm(settings)).ask("What does CSKV do?")
    assert answer.retrieved[0].dense < 0.4
    assert answer.abstain_reason != "retrieval"
    assert answer.status == "answered" and "CSKV" in answer.references[0].title


@pytest.mark.parametrize(
    "question, title, content",
    [
        # the 0.5B model has answered this one from InstaFlow, source [2]; answer.require_top_source
        # then answers from Stretching Each Dollar, which retrieval ranks first
        ("How can a text-to-image diffusion model be trained on a small budget?", "Stretching Each Dollar", r"mask"),
        ("How does Monolith make real-time recommendation training possible?", "Monolith", r"collisionless"),
        ("What is Monolith and what problem does it solve?", "Monolith", r"online training|real-time|collisionless"),
    ],
)
def test_questions_users_asked_get_cited_answers(answerer, retriever, question, title, content):
    """The questions a new user tried (issue 9), with the real model: cited, on the right paper, on point."""
    import re

    answer = answerer.ask(question)
    assert answer.status == "answered", (answer.abstain_reason, answer.raw_text)
    assert title in answer.references[0].title, answer.references
    assert re.search(content, answer.text, re.I), answer.text
    check_references(answer, retriever)


def test_absent_topic_abstains_before_the_llm(answerer):
    answer = answerer.ask("Which papers study EEG-based brain-computer interfaces?")
    assert (answer.abstained, answer.abstain_reason) == (True, "retrieval")
    assert answer.answerable is not None and answer.answerable < answerer.abstention.threshold


def test_extractive_fallback_quotes_the_evidence(full_index, retriever):
    """A draft that fails verification, with confident retrieval, becomes a cited quote of the best evidence."""
    settings, _ = full_index
    answer = Answerer(settings, retriever=retriever, llm=UnsupportedLLM()).ask("How does Monolith make real-time recommendation training possible?")
    assert (answer.status, answer.mode) == ("answered", "extractive")
    assert answer.draft and answer.draft[0].status == "unsupported"
    assert "Monolith" in answer.references[0].title
    check_references(answer, retriever)


def test_an_answer_about_one_paper_that_cites_another_is_answered_from_the_first(full_index, retriever):
    """The 0.5B model once copied InstaFlow's sentence (source 2) for the README question; retrieval
    ranks Stretching Each Dollar first. The draft is supported by its source, but it answers from
    the wrong paper: the answer quotes the first paper instead, in the third person."""
    settings, _ = full_index
    draft = (
        "To train a text-to-image diffusion model on a small budget, we propose a novel text-conditioned pipeline to turn "
        "Stable Diffusion (SD) into an ultra-fast one-step model, in which we find reflow plays a critical role in "
        "improving the assignment between noise and images [2]."
    )
    llm = scripted_llm(settings, default=draft)
    answer = Answerer(settings, retriever=retriever, llm=llm).ask(BUDGET)
    assert "Stretching Each Dollar" in answer.retrieved[0].title
    assert (answer.status, answer.mode) == ("answered", "extractive")
    assert [r.title for r in answer.references] == [answer.retrieved[0].title]
    assert "75%" in answer.text and "the authors propose" in answer.text and "we propose" not in answer.text.lower()
    assert any("we propose" in q.text for q in answer.references[0].quotes)  # the reference still quotes the abstract word for word
    check_references(answer, retriever)
    off = settings.model_copy(update={"answer": settings.answer.model_copy(update={"require_top_source": False})})
    before = Answerer(off, retriever=retriever, llm=llm).ask(BUDGET)
    assert before.mode == "generated" and "InstaFlow" in before.references[0].title  # what the rule changes


def test_concurrent_asks_share_one_model_safely(full_index, retriever):
    """Threads asking at once: one llama.cpp model, generations serialized, answers independent."""
    from concurrent.futures import ThreadPoolExecutor

    settings, _ = full_index
    settings = settings.model_copy(update={"llm": settings.llm.model_copy(update={"max_tokens": 24})})
    questions = [
        SOFT_TEACHER,
        "How does CSKV compress the KV cache?",
        "What does COAT compress to save memory in FP8 training?",
        "How does FlashAttention-2 improve over FlashAttention?",
    ]
    answerers = [Answerer(settings, retriever=retriever) for _ in questions]  # separate instances, one shared model
    with ThreadPoolExecutor(len(questions)) as pool:
        answers = list(pool.map(lambda qa: qa[1].ask(qa[0]), zip(questions, answerers)))
    assert [a.question for a in answers] == questions
    for a in answers:
        assert a.status in ("answered", "abstained") and a.tokens.completion <= 24
        check_references(a, retriever) if a.references else None


def test_widen_gives_a_short_source_the_sentences_before_it():
    from rag.answer import widen

    abstract = "One two three. Four five six. Seven eight nine. Ten."
    words = lambda t: len(t.split())  # noqa: E731 - a token counter for the test
    tail = [(abstract.index("Ten."), len(abstract), "Ten.")]
    assert widen(tail, abstract, 5, words) == [(15, len(abstract), "Four five six. Seven eight nine. Ten.")]
    assert widen(tail, abstract, 1, words) == tail  # long enough already
    assert widen(tail, abstract, 99, words) == [(0, len(abstract), abstract)]  # never past the start


BUDGET = "How can a text-to-image diffusion model be trained on a small budget?"


def _budget_answer(answerer, retriever, raw: str):
    from rag.answer import Answer, RetrievedPaper, evidence_sources

    hits = retriever.search(BUDGET, k=4)
    evidence = answerer.evidence(BUDGET, hits)
    sources = evidence_sources(hits, evidence, answerer.settings)
    assert "Stretching Each Dollar" in sources[0].hit.title
    return answerer.verify(raw, sources, [RetrievedPaper.from_hit(h) for h in hits], Answer(question=BUDGET, text="", model="t", settings_hash="x"))


def test_an_answer_that_only_names_the_paper_also_says_what_it_does(answerer, retriever):
    """'X is proposed in <title> [1].' answers "which paper" and nothing else; the paper's own
    statement of its work is quoted after it (answer.explain_named)."""
    answer = _budget_answer(answerer, retriever, "Training a text-to-image diffusion model on a small budget is proposed in [1].")
    # the naming sentence and the quote are one sentence: 'In “Stretching Each Dollar: ...”, the authors ...'
    assert [s.status for s in answer.sentences] == ["repeated", "cited"] and len(answer.references) == 1
    added = answer.sentences[1].text
    assert "mask up to 75% of the image patches" in added or "micro-budget" in added.lower(), added
    assert added.startswith("In “Stretching Each Dollar"), added
    from rag.citations import with_markers

    assert answer.text == with_markers(added, [1])
    check_references(answer, retriever)
    off = answerer.settings.model_copy(update={"answer": answerer.settings.answer.model_copy(update={"explain_named": False})})
    assert len(_budget_answer(Answerer(off, retriever=retriever), retriever, "Training a text-to-image diffusion model on a small budget is proposed in [1].").sentences) == 1


def test_an_answer_does_not_depend_on_the_question_asked_before_it(full_index, retriever):
    """The chat, `rag eval` and a service ask one question after another in one process, and
    llama.cpp reuses the cached prompt prefix; the answer must be the one a fresh process gives.
    With llm.flash_attention the Monolith draft changed after the README question (2026-12-05)."""
    settings, _ = full_index
    answerer = Answerer(settings, retriever=retriever)
    monolith = "What is Monolith and what problem does it solve?"
    answerer.llm.model.reset()
    fresh = answerer.ask(monolith).raw_text
    answerer.ask(BUDGET)
    assert answerer.ask(monolith).raw_text == fresh


def test_a_copied_source_list_keeps_only_the_titles_about_the_question_and_says_what_they_do(answerer, retriever):
    """The model's whole answer is the source list, titles and numbers ('[1] BLSP: ... [3] CorDA:
    ...'; seen from the README's fourth question). A title of a source that is not about the
    question (CorDA adapts LLMs to tasks, not to speech) is left out; the titles that remain
    only name papers, so what each paper does is quoted after them (answer.explain_named)."""
    from rag.answer import Answer, RetrievedPaper, evidence_sources

    question = "Which papers adapt a pretrained text LLM so that it can understand or produce speech?"
    hits = retriever.search(question, k=answerer.settings.answer.max_sources)
    sources = evidence_sources(hits, answerer.evidence(question, hits), answerer.settings)
    if not any("CorDA" in s.hit.title for s in sources):  # the listed source that is off the question
        corda = next(h for h in retriever.search("CorDA context-oriented decomposition adaptation", k=1))
        sources = evidence_sources([*hits[:2], corda], answerer.evidence(question, [*hits[:2], corda]), answerer.settings)
    raw = "\n".join(f"[{s.n}] {s.hit.title}" for s in sources)
    answer = answerer.verify(raw, sources, [RetrievedPaper.from_hit(h) for h in hits], Answer(question=question, text="", model="t", settings_hash="x"))
    assert "CorDA" not in answer.text and [s.status for s in answer.sentences if "CorDA" in s.text] == ["off_topic"], answer.text
    speech = [r for r in answer.references if "Speech" in r.title]
    assert speech and all("Speech" in r.title for r in answer.references), answer.references
    shown = [s for s in answer.sentences if s.status == "cited"]
    # each title with what that paper does, as one sentence: 'In “title”, the authors ...'
    assert len(shown) == len(answer.references)
    assert [s.citations for s in shown] == [[r.n] for r in answer.references], shown
    assert all(s.text.startswith((f"In “{r.title}”", f"“{r.title}”")) for s, r in zip(shown, answer.references)), shown
    from rag.citations import with_markers

    assert answer.text == " ".join(with_markers(s.text, s.citations) for s in shown)
    check_references(answer, retriever)


def test_a_sentence_giving_the_asked_figure_is_kept_when_a_source_states_that_number(answerer, retriever):
    """'How much ...?' answered by saying the question back with the number: the judge scores the
    restated words low, the number is what was asked, and a source sentence states it. Another
    number is not backed by anything and stays out."""
    from rag.answer import Answer, RetrievedPaper, evidence_sources

    question = "How much did it cost to train the text-to-image diffusion model of Stretching Each Dollar?"
    hits = retriever.search(question, k=4)
    sources = evidence_sources(hits, answerer.evidence(question, hits), answerer.settings)

    def verified(raw):
        return answerer.verify(raw, sources, [RetrievedPaper.from_hit(h) for h in hits], Answer(question=question, text="", model="t", settings_hash="x"))

    restated = "Training the text-to-image diffusion model of Stretching Each Dollar cost {} in total, by their account."
    right, wrong = verified(restated.format("$1,890")), verified(restated.format("$2,500"))
    assert [s.status for s in right.sentences] in (["attributed"], ["cited"]) and "$1,890" in right.text
    assert "$1,890" in right.references[0].sentence and "Stretching Each Dollar" in right.references[0].title
    assert "$2,500" not in wrong.text
    check_references(right, retriever)


def test_supporting_details_follow_an_answer_from_the_same_source(answerer, retriever):
    """The budget and data size are kept after the sentence that answers how, from the same
    paper. On their own they are the best the paper retrieval ranks first says about the
    question, so they answer it rather than the answer being refused."""
    masking = "To cut the training budget of a text-to-image diffusion model, randomly mask up to 75% of the image patches during training [1]."
    detail = "Using only 37M publicly available real and synthetic images, they train a 1.16 billion parameter sparse transformer [1]."
    answer = _budget_answer(answerer, retriever, f"{masking} {detail}")
    assert [s.status for s in answer.sentences] == ["cited", "cited"], answer.sentences
    assert [s.detail for s in answer.sentences] == [False, True]
    assert "37M" in answer.text and "75%" in answer.text
    assert "75%" in answer.references[0].sentence  # the reference quotes what backs the answer, not the detail
    check_references(answer, retriever)

    alone = _budget_answer(answerer, retriever, detail)
    assert not alone.abstained and [(s.status, s.detail) for s in alone.sentences] == [("cited", False)], alone.sentences
    assert "Stretching Each Dollar" in alone.references[0].title


def test_an_answer_about_one_paper_also_quotes_the_paper_s_best_evidence_it_leaves_out(answerer, retriever):
    """The model said how (masking); the paper's best evidence it did not state (its cost or
    data) follows, quoted and cited to the same paper, one sentence per answer.supporting_sentences;
    nothing already said is repeated, and answer.supporting_sentences = 0 turns it off."""
    from rag.answer import evidence_sources
    from rag.verify import add_supporting

    masking = "To cut the training budget of a text-to-image diffusion model, randomly mask up to 75% of the image patches during training [1]."
    answer = _budget_answer(answerer, retriever, masking)
    assert len(answer.sentences) == 1
    sources = evidence_sources(retriever.search(BUDGET, k=4), answerer.evidence(BUDGET, retriever.search(BUDGET, k=4)), answerer.settings)
    one = answerer.settings.model_copy(update={"answer": answerer.settings.answer.model_copy(update={"supporting_sentences": 1})})
    more = add_supporting(answer.model_copy(deep=True), sources, one)
    assert len(more.sentences) == 2
    added = more.sentences[1]
    assert added.citations == [1] and added.status == "cited" and "75%" not in added.text, added
    assert len(more.references) == 1 and more.references[0].title.startswith("Stretching Each Dollar")
    abstract = retriever.paper(more.references[0].paper_id).abstract
    assert any(q.text == abstract[q.start : q.end] and q.text[:40] in abstract for q in more.references[0].quotes)
    assert more.text.startswith(answer.text) and more.text.endswith("[1].")
    check_references(more, retriever)
    again = add_supporting(more.model_copy(deep=True), sources, one)
    assert len(again.sentences) == 3 and again.sentences[2].text not in {s.text for s in more.sentences}
    # the paper's remaining evidence is background or leans on the sentence before it: nothing more
    # (the cap at LONG_ANSWER sentences is tested with hand-built sources in test_answer_quality.py)
    assert add_supporting(again.model_copy(deep=True), sources, answerer.settings).text == again.text
    # the default (2) adds both in one call, best first
    assert answerer.settings.answer.supporting_sentences == 2
    assert add_supporting(answer.model_copy(deep=True), sources, answerer.settings).text == again.text
    off = answerer.settings.model_copy(update={"answer": answerer.settings.answer.model_copy(update={"supporting_sentences": 0})})
    assert add_supporting(answer.model_copy(deep=True), sources, off).text == answer.text


def test_how_the_method_works_is_kept_and_the_background_is_not(full_index, retriever):
    """A sentence on the answering paper's method shares no words with the question (relevance
    under 0.1) yet is the detail a "how" question wants; one restating the paper's background
    is left out. With answer.body_details off, both are left out."""
    masking = "To cut the training budget of a text-to-image diffusion model, randomly mask up to 75% of the image patches during training [1]."
    method = "A patch-mixer preprocesses all patches before the masking step, which reduces the performance degradation [1]."
    background = "Scaling laws concentrate the development of these models among actors with large computational resources [1]."
    raw = f"{masking} {method} {background}"
    settings, _ = full_index
    on = _budget_answer(Answerer(settings, retriever=retriever), retriever, raw)
    assert [(s.status, s.detail) for s in on.sentences] == [("cited", False), ("cited", True), ("off_topic", False)], on.sentences
    assert on.sentences[1].relevance < settings.answer.detail_relevance_threshold
    assert "patch-mixer" in on.text and "Scaling laws" not in on.text
    off_settings = settings.model_copy(update={"answer": settings.answer.model_copy(update={"body_details": False})})
    off = _budget_answer(Answerer(off_settings, retriever=retriever), retriever, raw)
    assert [s.status for s in off.sentences] == ["cited", "off_topic", "off_topic"], off.sentences


def test_an_answer_cut_at_the_token_limit_loses_its_unfinished_sentence(full_index, retriever):
    settings, _ = full_index
    # no supporting sentence: the paper's own "118× lower cost" sentence would be quoted after the answer
    settings = settings.model_copy(update={"answer": settings.answer.model_copy(update={"supporting_sentences": 0})})
    text = "To cut the training budget of a text-to-image diffusion model, randomly mask up to 75% of the image patches during training [1]. Notably, our model achieves 118"
    cut = scripted_llm(settings).enqueue(text, finish_reason="length")
    answer = Answerer(settings, retriever=retriever, llm=cut).ask(BUDGET)
    assert answer.mode == "generated" and answer.text.endswith("during training [1].") and "118" not in answer.text
    assert answer.raw_text.endswith("achieves 118")  # the model's text as it came


def test_a_figure_the_abstract_does_not_state_is_declined_without_the_llm(answerer):
    answer = answerer.ask("What perplexity does BitStack reach on WikiText-2 at 3 bits per weight?")
    assert (answer.abstained, answer.abstain_reason, answer.status) == (True, "figure", "abstained")
    assert "BitStack" in answer.retrieved[0].title and "BitStack" in answer.text and "perplexity" in answer.text
    assert answer.tokens.completion == 0 and answer.references == []
    # framing around the question does not hide what it asks for (the detectors read the request core)
    framed = answerer.ask("does anyone know what perplexity BitStack reaches on WikiText-2 at 3 bits per weight?")
    assert (framed.abstained, framed.abstain_reason) == (True, "figure"), framed.text


def test_a_named_detail_the_abstract_does_not_name_is_declined_without_the_llm(full_index, retriever):
    """"What license ...?" about a paper whose abstract names no license: the collection does not
    say (before, the extractive fallback quoted OpenELM's other sentences). A detail the abstract
    gives in other words ("experiments on CUB-200-2011, ...") is not declined."""
    settings, _ = full_index
    answerer = Answerer(settings, retriever=retriever, llm=UnsupportedLLM())
    answer = answerer.ask("what license is OpenELM released under?")
    assert (answer.abstained, answer.abstain_reason, answer.status) == (True, "detail", "abstained")
    assert "OpenELM" in answer.retrieved[0].title and "OpenELM" in answer.text and "the license" in answer.text
    assert answer.tokens.completion == 0 and answer.references == []
    named = answerer.ask("which datasets test the label-free fine-grained distillation method?")
    assert named.abstain_reason != "detail", named.text
    off = settings.model_copy(update={"answer": settings.answer.model_copy(update={"detail_papers": 0})})
    assert Answerer(off, retriever=retriever, llm=UnsupportedLLM()).ask("what license is OpenELM released under?").abstain_reason != "detail"


def test_a_name_the_named_papers_abstract_never_mentions_is_declined_without_the_llm(full_index, retriever):
    """"does GPTQ beat AWQ at 4-bit?": GPTQ's abstract never mentions AWQ, so the collection
    cannot say (before, the model wrote GPTQ's own claims as if they answered). A question that
    names two papers of the collection compares them and is answered; the setting turns it off."""
    settings, _ = full_index
    answerer = Answerer(settings, retriever=retriever, llm=UnsupportedLLM())
    answer = answerer.ask("does GPTQ beat AWQ at 4-bit?")
    assert (answer.abstained, answer.abstain_reason, answer.status) == (True, "name", "abstained"), answer.text
    assert "GPTQ" in answer.retrieved[0].title and "does not mention AWQ." in answer.text
    assert answer.tokens.completion == 0 and answer.references == []
    compared = answerer.ask("How do GPTQ and EfficientQAT differ in how they quantize LLM weights?")
    assert compared.abstain_reason != "name", compared.text
    off = settings.model_copy(update={"answer": settings.answer.model_copy(update={"unmentioned_names": False})})
    assert Answerer(off, retriever=retriever, llm=UnsupportedLLM()).ask("does GPTQ beat AWQ at 4-bit?").abstain_reason != "name"


def test_an_extractive_answer_quotes_the_sentence_that_states_the_asked_figure(full_index, retriever):
    from rag.figures import asked_figure, gives_figure

    settings, _ = full_index
    question = "How much faster are FFT convolutions using tensor-core matrix decomposition?"
    figure = asked_figure(question)
    answer = Answerer(settings, retriever=retriever, llm=UnsupportedLLM()).ask(question)
    assert (answer.status, answer.mode) == ("answered", "extractive")
    assert "FlashFFTConv" in answer.references[0].title
    assert any(gives_figure(s.text, figure) for s in answer.sentences), answer.text
    check_references(answer, retriever)
    off = settings.model_copy(update={"answer": settings.answer.model_copy(update={"figure_papers": 0})})
    before = Answerer(off, retriever=retriever, llm=UnsupportedLLM()).ask(question)
    assert not any(gives_figure(s.text, figure) for s in before.sentences), before.text  # what the check adds


def test_a_low_confidence_answer_is_hedged_and_a_question_naming_its_paper_is_not(full_index, retriever):
    from rag.answer import HEDGE_TEXT
    settings, _ = full_index
    answerer = Answerer(settings, retriever=retriever, llm=UnsupportedLLM())
    answer = answerer.ask("Which paper recognizes emotions from speech audio?")
    assert answerer.abstention.threshold <= answer.answerable < settings.answer.hedge_below
    assert answer.hedged and answer.status == "answered" and answer.text.startswith(HEDGE_TEXT + " ")
    assert answer.references  # the quotes that follow are still cited
    for r in answer.references:  # and the papers they come from are named before them, by title
        assert f'"{r.title}" [{r.n}]' in answer.text.split(" say", 1)[0], answer.text
    named = answerer.ask("How does Monolith make real-time recommendation training possible?")
    assert not named.hedged and not named.text.startswith(HEDGE_TEXT)


def test_a_hedged_answer_quotes_the_closest_papers_without_the_llm(full_index, retriever):
    """Below answer.hedge_below, "the closest paper(s) ... say:" is followed by their own sentences, quoted
    and cited; the model, which would state the user's topic as the papers' claim, is not asked."""
    from rag.answer import HEDGE_TEXT
    from rag.text import third_person

    settings, _ = full_index
    question = "Which paper recognizes emotions from speech audio?"
    llm = scripted_llm(settings)
    answer = Answerer(settings, retriever=retriever, llm=llm).ask(question)
    assert llm.prompts == []  # the LLM was not asked
    assert answer.hedged and answer.mode == "extractive" and answer.text.startswith(HEDGE_TEXT + " "), answer.text
    assert answer.tokens.completion == 0 and answer.references
    for r in answer.references:  # every quote is the paper's own sentence ("we" said as "the authors")
        assert third_person(r.sentence).rstrip(".") in answer.text and r.sentence == retriever.paper(r.paper_id).abstract[r.start : r.end]
    check_references(answer, retriever)


def test_a_hedged_answer_leaves_out_what_no_source_supports(full_index, retriever):
    from rag.answer import HEDGE_TEXT
    from rag.llm import ExtractiveLLM

    settings, _ = full_index
    claim = "Yes, bananas recognise emotions in speech."

    # the claim, then the first sentence of each source, cited
    claim_then_quote = scripted_llm(settings).enqueue(lambda messages: f"{claim} {ExtractiveLLM(settings).complete(messages).text}")
    generated = settings.model_copy(update={"answer": settings.answer.model_copy(update={"hedged_answer": "generated"})})
    answer = Answerer(generated, retriever=retriever, llm=claim_then_quote).ask("Which paper recognizes emotions from speech audio?")
    assert answer.hedged and answer.text.startswith(HEDGE_TEXT), answer.text
    assert claim not in answer.text and answer.references
    assert [s.status for s in answer.sentences + answer.draft if s.text == claim] == ["unsupported"]  # listed, not shown


def test_a_question_about_several_papers_gets_each_relevant_paper(full_index, retriever):
    """The 0.5B model answers "Which papers ..." by describing the first source at length and
    stopping there. The answer names and cites each further source whose best evidence is nearly
    as relevant (answer.extractive_margin), quoted from its abstract. Retrieval ranks BLSP, then
    "Scaling Speech-Text Pre-training ..." (whose best evidence scores 0.85 of BLSP's, at the
    default margin's edge: the margin is set to 0.8 here), then OmniFlatten within the top four."""
    settings, _ = full_index
    settings = settings.model_copy(update={"answer": settings.answer.model_copy(update={"extractive_margin": 0.8})})
    question = "Which papers adapt a pretrained text LLM so that it can understand or produce speech?"
    draft = (
        "BLSP proposes the BLSP approach that Bootstraps Language-Speech Pre-training via behavior alignment of continuation writing [1]. "
        "It achieves this by learning a lightweight modality adapter between a frozen speech encoder and an LLM [1]."
    )
    llm = scripted_llm(settings, default=draft)
    answer = Answerer(settings, retriever=retriever, llm=llm).ask(question)
    assert (answer.status, answer.mode) == ("answered", "generated")
    titles = [r.title for r in answer.references]
    assert titles[0].startswith("BLSP") and 2 <= len(titles) <= settings.answer.cover_papers, titles
    assert {t.split(":")[0] for t in titles[1:]} <= {"Scaling Speech-Text Pre-training with Synthetic Interleaved Data", "OmniFlatten"}
    for r in answer.references[1:]:
        assert f"In “{r.title}”, " in answer.text and f"[{r.n}]" in answer.text
    check_references(answer, retriever)
    off = settings.model_copy(update={"answer": settings.answer.model_copy(update={"cover_papers": 1})})
    before = Answerer(off, retriever=retriever, llm=llm).ask(question)
    assert [r.title for r in before.references] == titles[:1]  # what the step adds
    one = Answerer(settings, retriever=retriever, llm=scripted_llm(settings, default=draft)).ask(BUDGET)
    assert len(one.references) == 1  # a question about one paper is left as it is


def test_name_paper_opens_a_quoted_sentence_with_the_paper():
    from rag.verify import name_paper

    assert name_paper("BLSP", "The authors propose X.") == "In “BLSP”, the authors propose X."
    assert name_paper("OmniFlatten", "OmniFlatten is a GPT model.") == "In “OmniFlatten”, OmniFlatten is a GPT model."
    assert name_paper("T", "We train.") == "In “T”, we train."
    assert name_paper("T", "This paper is the first empirical study of X.") == "“T” is the first empirical study of X."
    assert name_paper("T", "This work presents X.") == "“T” presents X."
    assert name_paper("T", "The study of protein folding remains open.") == "In “T”, the study of protein folding remains open."
    assert name_paper("BigNAS: Big Models", "Without retraining, it works.") == "In “BigNAS: Big Models”, without retraining, it works."
    assert name_paper("Monolith: Real Time Recommendation", "Monolith trains.") == "In “Monolith: Real Time Recommendation”, Monolith trains."
    assert name_paper("X", "GNNPipe is fast.") == "In “X”, GNNPipe is fast."
    assert name_paper("SlimFlow: Training with Rectified Flow", "With their framework, it works.").startswith("In “SlimFlow: Training with Rectified Flow”, with their")


def test_a_reference_quotes_the_sentence_behind_each_claim(full_index, retriever):
    """Three claims cite [1]: the reference quotes the three sentences of the abstract they rest
    on (in abstract order), not only the best one, so that each claim can be checked."""
    settings, _ = full_index
    # no supporting sentence: its quote would be a fourth
    settings = settings.model_copy(update={"answer": settings.answer.model_copy(update={"supporting_sentences": 0})})
    draft = (
        "The authors randomly mask up to 75% of the image patches during training [1]. "
        "A deferred masking strategy preprocesses all patches with a patch-mixer before masking [1]. "
        "Using only 37M real and synthetic images, they train a 1.16 billion parameter sparse transformer for $1,890 [1]."
    )
    answer = Answerer(settings, retriever=retriever, llm=scripted_llm(settings, default=draft)).ask(BUDGET)
    assert answer.mode == "generated" and len(answer.references) == 1, answer.text
    quotes = [q.text for q in answer.references[0].quotes]
    assert len(quotes) == 3 and "75%" in quotes[0] and "patch-mixer" in quotes[1] and "$1,890" in quotes[2], quotes
    check_references(answer, retriever)
    one = settings.model_copy(update={"answer": settings.answer.model_copy(update={"quotes_per_reference": 1})})
    single = Answerer(one, retriever=retriever, llm=scripted_llm(settings, default=draft)).ask(BUDGET)
    assert [q.text for q in single.references[0].quotes] == [single.references[0].sentence]


def test_a_follow_up_about_one_paper_is_answered_from_that_paper_only(full_index, retriever):
    """A chat follow-up ("what does the first one compare against?") is about the paper it
    names (``focus``). The README's chat once answered it with a second paper's "Inspired by
    this, we propose ..." quoted next to the first paper's comparison: a sentence of another
    source is left out, and the extractive fallback quotes only the named paper (this failed
    before: Immiscible Diffusion was the second reference)."""
    import re

    settings, _ = full_index
    first = retriever.search(BUDGET)[0]
    assert "Stretching Each Dollar" in first.title
    question = f'what does "{first.title}" compare against?'

    def draft(messages):  # the first source's opening sentence and the second source's, each cited
        bodies = dict(re.findall(r"^\[(\d)\] .*\n(.+)$", messages[-1].content, flags=re.M))
        return f"{bodies['1'].split('. ')[0].rstrip('.')} [1]. {bodies['2'].split('. ')[0].rstrip('.')} [2]."

    llm = scripted_llm(settings).enqueue(draft)
    answer = Answerer(settings, retriever=retriever, llm=llm).ask(question, focus=[first.paper_id])
    assert answer.status == "answered" and not answer.abstained
    assert [r.paper_id for r in answer.references] == [first.paper_id], [r.title for r in answer.references]
    assert "[2]" not in answer.text and "118" in answer.text, answer.text  # what the paper compares against
    check_references(answer, retriever)


def test_verification_with_a_focus_leaves_out_sentences_of_other_sources(full_index, retriever):
    """verify(focus=...): a supported, relevant sentence is shown when its source is one the
    question is about, and left out (off_topic) when it is not."""
    from rag.answer import evidence_sources
    from rag.schema import Answer, RetrievedPaper

    settings, _ = full_index
    answerer = Answerer(settings, retriever=retriever, llm=scripted_llm(settings))
    first = retriever.search(BUDGET)[0]
    question = f'what does "{first.title}" compare against?'
    hits = retriever.search_with(question, [first.paper_id], k=5)
    sources = evidence_sources(hits, answerer.evidence(question, hits), settings)
    assert sources[0].hit.paper_id == first.paper_id and len(sources) >= 2
    draft = "Notably, their model achieves competitive FID while incurring 118× lower cost than stable diffusion models [1]."

    def check(focus):
        blank = Answer(question=question, model="scripted", settings_hash="x", text="")
        return answerer.verify(draft, sources, [RetrievedPaper.from_hit(h) for h in hits], blank, focus=focus)

    for focus in (frozenset(), frozenset({1})):
        shown = check(focus)
        assert shown.status == "answered" and [s.status for s in shown.sentences] == ["cited"], focus
    other = check(frozenset({2}))
    assert other.abstained and [s.status for s in other.draft] == ["off_topic"]


def test_what_is_a_name_is_answered_by_the_source_that_defines_it(full_index, retriever):
    """"what is lora", 2026-12-05: the 0.5B model wrote "Lora is <sentence of the source>" for
    each of three sources; only "Tracking Meets LoRA" says what LoRA is ("adapting LoRA, a
    technique that ...") or spells it out (Trans-LoRA: "Low-rank adapters (LoRA) and their
    variants are ..."). The other two sentences ("Lora is a lossless, nearly data-free
    transfer of LoRAs" from Trans-LoRA) are not shown, and an extractive answer leads with the
    first source that defines the term (rag/definitions.py)."""
    settings, _ = full_index
    question = "what is lora"
    hits = retriever.search(question, k=settings.answer.max_sources)
    n = {h.title.split(":")[0]: i + 1 for i, h in enumerate(hits)}
    tracking, trans, cellm = n["Tracking Meets LoRA"], n["Trans-LoRA"], n["CELLM"]
    draft = (
        f"Lora is a technique that fine-tunes a small subset of model parameters without adding inference latency, to the domain of visual tracking [{tracking}]. "
        f"Lora is a lossless, nearly data-free transfer of LoRAs across base models [{trans}]. "
        f"Lora is a method that reduces communication costs by up to 10x over vanilla LoRA [{cellm}]."
    )
    answer = Answerer(settings, retriever=retriever, llm=scripted_llm(settings, default=draft)).ask(question)
    # the model's one supported sentence cites Tracking Meets LoRA, not the first paper, so the
    # answer quotes the first paper that says what LoRA is: Trans-LoRA, which spells it out
    # ("Low-rank adapters (LoRA) and their variants are popular ... techniques")
    assert answer.text.startswith("Low-rank adapters (LoRA) and their variants are popular"), answer.text
    assert "Lora is a lossless" not in answer.text and "Lora is a method that reduces" not in answer.text
    assert answer.references[0].title.startswith("Trans-LoRA")
    check_references(answer, retriever)
    # nothing the model says survives: the extractive answer quotes the defining source first
    bare = Answerer(settings, retriever=retriever, llm=scripted_llm(settings, default=draft.split(". ", 1)[1])).ask(question)
    assert bare.text.startswith("Low-rank adapters (LoRA) and their variants are popular"), bare.text
    assert "Lora is a lossless" not in bare.text and "Lora is a method that reduces" not in bare.text


def test_what_is_answer_says_what_the_term_is_or_that_no_abstract_does(full_index, retriever):
    """"what is CLIP", 2026-12-05: the model wrote "CLIP is a language model trained using
    contrastive loss [1]" from LaCLIP's "CLIP models are trained using contrastive loss", while
    the same abstract says what CLIP is ("Contrastive Language-Image Pre-training (CLIP) stands
    as ..."): that sentence now leads the answer and the made-up one is not shown. "what is
    DETR?": Group DETR's "DETR is a simple ... approach" is not shown (that is Group DETR),
    its "Detection transformer (DETR) relies on ..." leads. "what is gaussian splatting": no
    abstract found says what it is (EndoGaussian builds on it), and the answer says so."""
    settings, _ = full_index

    def answer_to(question: str, title: str, *sentences: str):
        """The answer to ``question`` when the model writes ``sentences``, each citing the source titled ``title``."""
        hits = retriever.search(question, k=settings.answer.max_sources)
        n = next(i + 1 for i, h in enumerate(hits) if h.title.startswith(title))
        draft = " ".join(f"{s} [{n}]." for s in sentences)
        answer = Answerer(settings, retriever=retriever, llm=scripted_llm(settings, default=draft)).ask(question)
        check_references(answer, retriever)
        return answer.text

    text = answer_to(
        "what is CLIP", "Improving CLIP Training", "CLIP is a language model trained using contrastive loss",
        "The authors introduce Language augmented CLIP (LaCLIP), a simple yet highly effective approach to enhance CLIP training through language rewrites",
    )
    assert text.startswith("Contrastive Language-Image Pre-training (CLIP) stands as one of") and "CLIP is a language model" not in text, text
    text = answer_to("what is DETR?", "Group DETR", "DETR is a simple yet efficient DETR training approach that introduces a group-wise way for one-to-many assignment")
    assert text.startswith("Detection transformer (DETR) relies on one-to-one assignment"), text
    assert "DETR is a simple" not in text and "Group DETR" in text
    text = answer_to("what is gaussian splatting", "EndoGaussian", "Gaussian splatting is a real-time endoscopic scene reconstruction framework")
    assert text.startswith("None of the abstracts found says what gaussian splatting is.") and "Gaussian splatting is a real-time" not in text, text


def test_what_is_a_term_no_abstract_uses_is_declined_before_the_model_runs(full_index, retriever):
    """No seed abstract mentions gradient boosting: "what is gradient boosting?" is declined
    (abstain_reason term) and says so; the model is never asked. "what is gaussian splatting"
    (EndoGaussian builds on 3D Gaussian Splatting) is not declined."""
    settings, _ = full_index
    llm = scripted_llm(settings, default="Gradient boosting is an ensemble of trees [1].")
    answer = Answerer(settings, retriever=retriever, llm=llm).ask("what is gradient boosting?")
    assert answer.abstained and answer.abstain_reason == "term", answer
    assert answer.text.endswith("None of the abstracts found mentions gradient boosting.") and llm.prompts == [], answer.text
    assert answer.retrieved  # the closest papers are still listed
    kept = Answerer(settings, retriever=retriever, llm=scripted_llm(settings)).ask("what is gaussian splatting")
    assert kept.abstain_reason != "term"
    answerer = Answerer(settings, retriever=retriever, llm=scripted_llm(settings))

    def unmentioned(question: str) -> str | None:
        return answerer.unmentioned_term(question, retriever.search(question, k=5))

    assert unmentioned("what is machine unlearning") == "machine unlearning"  # no paper says "unlearning": not a typo of "learning"
    assert unmentioned("hey what is compositonal zero shot learning?") is None  # a typo of a word some abstract uses
    assert unmentioned("what is rlhf") is None and unmentioned("what are LLM agents") is None  # acronyms may be spelled out
    assert unmentioned("what is it") is None  # no word to look for


def test_a_sentence_using_the_asked_term_needs_a_source_that_uses_it(full_index, retriever):
    """"what is speculative decoding", 2026-12-06: the model swapped "encoder-decoder" in a
    source's sentence for the asked term ("... demonstrates that speculative decoding
    architectures provide a more practical path ..."); a source that never says "speculative"
    does not support a sentence about speculative decoding (rag/verify.py _require_term)."""
    settings, _ = full_index
    question = "what is a state space model"
    hits = retriever.search(question, k=settings.answer.max_sources)
    other = next(i + 1 for i, h in enumerate(hits) if "state space" not in (h.title + retriever.paper(h.paper_id).abstract).lower())
    never = next(i + 1 for i, h in enumerate(hits) if h.title.startswith("Never Train from Scratch"))
    paper = retriever.paper(hits[other - 1].paper_id)
    copied = paper.abstract.split(". ")[1].rstrip(".")  # a sentence of that paper, with the asked term put in
    draft = (
        f"Pretraining with standard denoising objectives leads to very small gaps between Transformers and state space models [{never}]. "
        f"State space models, the authors show, {copied[0].lower()}{copied[1:]} [{other}]."
    )
    plain = Answerer(settings, retriever=retriever, llm=scripted_llm(settings, default=f"{copied} [{other}].")).ask(question)
    assert plain.text and not plain.abstained  # the source's own sentence, without the term, is its to support
    answer = Answerer(settings, retriever=retriever, llm=scripted_llm(settings, default=draft)).ask(question)
    assert "denoising objectives" in answer.text and "State space models, the authors show" not in answer.text, answer.text
    check_references(answer, retriever)


def test_require_term_zeroes_the_support_of_sources_without_the_term():
    """rag/verify.py _require_term, on its own: a sentence using the asked term keeps the
    support of sources that use it (a typo forgiven unless the word as asked is known) and
    loses the others'."""
    from types import SimpleNamespace

    from rag.support import Evidence, Support
    from rag.verify import _require_term

    def source(title):
        return SimpleNamespace(hit=SimpleNamespace(title=title))

    by_number = {1: source("Return of the Encoder"), 2: source("Compositional zero-shot learning with primitives")}
    evidence = {
        1: Evidence.from_chunks([(0, 40, "Encoder-decoder architectures are practical.")]),
        2: Evidence.from_chunks([(0, 60, "Compositional zero-shot learning (CZSL) aims to recognize.")]),
    }
    scores = {1: Support(0.9, 0), 2: Support(0.8, 0)}
    _require_term("Speculative decoding architectures are practical [1].", "speculative decoding", scores, by_number, evidence)
    assert scores == {1: Support(0.0, 0), 2: Support(0.0, 0)}  # neither source says "speculative"
    scores = {1: Support(0.9, 0), 2: Support(0.8, 0)}
    _require_term("Compositonal zero shot learning aims to recognize [2].", "compositonal zero shot learning", scores, by_number, evidence)
    assert scores == {1: Support(0.0, 0), 2: Support(0.8, 0)}  # the source spells it right
    scores = {2: Support(0.8, 0)}
    _require_term("Compositonal zero shot learning aims to recognize [2].", "compositonal zero shot learning", scores, by_number, evidence, known={"compositon"}.__contains__)
    assert scores == {2: Support(0.0, 0)}
    scores = {1: Support(0.9, 0)}
    _require_term("Encoder-decoder architectures are practical [1].", "speculative decoding", scores, by_number, evidence)
    assert scores == {1: Support(0.9, 0)}  # the sentence does not use the term
    scores = {1: Support(0.9, 0), 2: Support(0.8, 0)}
    _require_term("Compositional zero shot learning architectures are practical [1].", "compositonal zero shot learning", scores, by_number, evidence)
    assert scores == {1: Support(0.0, 0), 2: Support(0.8, 0)}  # spelt right in the answer, wrong in the question
    by_number[3] = source("Agents")
    evidence[3] = Evidence.from_chunks([(0, 50, "Large language model agents plan their steps.")])
    scores = {3: Support(0.7, 0)}
    _require_term("LLM agents plan their steps [3].", "LLM agents", scores, by_number, evidence)
    assert scores == {3: Support(0.7, 0)}  # "LLM" may be spelled out


def test_what_is_clip_with_the_bundled_model(answerer, retriever):
    """The real model on "what is CLIP" (2026-12-05 it wrote "CLIP is a language model trained
    using contrastive loss [1]"): the answer's first reference quotes the sentence that says
    what CLIP is, and the made-up definition is not shown."""
    answer = answerer.ask("what is CLIP")
    assert not answer.abstained and "language model trained using contrastive loss" not in answer.text, answer.text
    first = answer.references[0]
    assert first.title.startswith("Improving CLIP Training"), answer.references
    assert any(q.text.startswith("Contrastive Language-Image Pre-training (CLIP) stands as") for q in first.quotes), first.quotes
    check_references(answer, retriever)


def test_a_defining_source_the_answer_did_not_cite_becomes_its_first_reference(answerer, retriever):
    """"what is CLIP" answered only from the mask-adapted CLIP paper: LaCLIP's sentence that says
    what CLIP is opens the answer as [1], and the cited paper moves to [2] in the text, the
    sentences' citations and the references alike (rag/verify.py lead_definition)."""
    from rag.answer import Answer, RetrievedPaper, evidence_sources
    from rag.verify import lead_definition

    question = "what is CLIP"
    hits = retriever.search(question, k=answerer.settings.answer.max_sources)
    sources = evidence_sources(hits, answerer.evidence(question, hits), answerer.settings)
    mask = next(s for s in sources if "Mask-adapted CLIP" in s.hit.title)
    draft = f"The authors identify the performance bottleneck of this paradigm to be the pre-trained CLIP model, since it does not perform well on masked images [{mask.n}]."
    answer = answerer.verify(draft, sources, [RetrievedPaper.from_hit(h) for h in hits], Answer(question=question, text="", model="t", settings_hash="x"))
    assert [r.title for r in answer.references] == [mask.hit.title] and answer.text.endswith("[1]."), answer.text
    answer = lead_definition(answer, sources, answerer.settings)
    assert answer.text.startswith("Contrastive Language-Image Pre-training (CLIP) stands as one of") and answer.text.endswith("[2]."), answer.text
    assert [(r.n, r.title.split(":")[0][:20]) for r in answer.references] == [(1, "Improving CLIP Train"), (2, "Open-Vocabulary Sema")]
    assert [s.citations for s in answer.sentences if s.status == "cited" or s.status == "attributed"] == [[1], [2]]
    assert {r.paper_id: r.cited_as for r in answer.retrieved if r.cited_as} == {answer.references[0].paper_id: 1, mask.hit.paper_id: 2}
    check_references(answer, retriever)


def test_a_user_asking_in_their_own_framing_gets_the_same_decision(answerer):
    """The abstention features read the question's request core: "how do I ..." names
    nothing, and "any papers on X?" is "X?". (Before: "how do I prune ..." abstained at
    p 0.060 because "I" counted as a name no paper mentions.)"""
    def decision(q):
        hits = answerer.retriever.search_with(q, [], k=5)
        return answerer.answerability(q, hits, answerer.evidence(q, hits))

    p_plain, f_plain = decision("pruning a network without fine-tuning afterwards?")
    p_wrapped, f_wrapped = decision("Any papers on pruning a network without fine-tuning afterwards?")
    assert f_wrapped == f_plain and p_wrapped == p_plain
    p, features = decision("how do I prune a network without fine-tuning afterwards?")
    assert features["names_missing"] == 0.0 and p >= answerer.abstention.threshold
