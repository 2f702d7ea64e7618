"""Follow-up resolution and session citation numbers (pure logic, exact expected values)."""

from __future__ import annotations

from rag.answer import Answer, Reference, RetrievedPaper, SentenceSupport
from rag.conversation import Conversation, transcript_markdown

TITLES = {"a": "Alpha: Fast Diffusion", "b": "Beta Nets", "c": "Gamma Retrieval", "d": "Delta Transformers"}


def answer(question: str, cited: list[str], text: str) -> Answer:
    refs = [Reference(n=i, paper_id=p, title=TITLES[p], sentence=f"{p} sentence.", start=0, end=11, support=0.8) for i, p in enumerate(cited, 1)]
    retrieved = [RetrievedPaper(rank=i, paper_id=p, title=TITLES[p], score=1 / i, dense=None, bm25=None, sentence="s", cited_as=i) for i, p in enumerate(cited, 1)]
    sentences = [SentenceSupport(text="x", citations=list(range(1, len(cited) + 1)), status="cited", support=0.8)]
    return Answer(question=question, text=text, references=refs, retrieved=retrieved, sentences=sentences, model="fake", settings_hash="h")


def test_numbers_stay_stable_across_answers():
    conv = Conversation()
    first = conv.add("q1", "q1", answer("q1", ["a", "b"], "A is fast [1]. B is deep [2]."))
    assert first.text == "A is fast [1]. B is deep [2]."
    # the next answer cites b first, then a new paper c: b keeps [2], c gets [3]
    second = conv.add("q2", "q2", answer("q2", ["b", "c"], "B again [1]. C retrieves [2][1]."))
    assert second.text == "B again [2]. C retrieves [3][2]."
    assert [(r.n, r.paper_id) for r in second.references] == [(2, "b"), (3, "c")]
    assert second.sentences[0].citations == [2, 3]
    assert [p.cited_as for p in second.retrieved] == [2, 3]
    assert conv.numbers == {"a": 1, "b": 2, "c": 3}


def test_ordinals_and_explicit_references_become_titles():
    conv = Conversation()
    conv.add("q1", "q1", answer("q1", ["a", "b"], "A [1]. B [2]."))
    r = conv.resolve("what dataset did the second one use?")
    assert r.standalone == 'what dataset did "Beta Nets" use?'
    assert r.focus == ("b",)
    r = conv.resolve("compare it with [2]")
    assert r.standalone == 'compare "Alpha: Fast Diffusion" with "Beta Nets"'
    assert r.focus == ("b",)  # the pronoun's paper is named in the question, not forced in as a source
    r = conv.resolve("Tell me more about paper 1 and the last one")
    assert r.standalone == 'Tell me more about "Alpha: Fast Diffusion" and "Beta Nets"'


def test_pronouns_refer_to_the_main_paper_of_the_last_answer():
    conv = Conversation()
    conv.add("q1", "q1", answer("q1", ["c", "d"], "C [1]. D [2]."))
    assert conv.resolve("How fast is it?").standalone == 'How fast is "Gamma Retrieval"?'
    assert conv.resolve("what are its limitations").standalone == "what are \"Gamma Retrieval\"'s limitations"
    r = conv.resolve("Which dataset does this paper use?")
    assert (r.standalone, r.focus) == ('Which dataset does "Gamma Retrieval" use?', ())
    assert conv.resolve("why is it so effective?").standalone == 'why is "Gamma Retrieval" so effective?'


def test_new_questions_are_left_alone():
    conv = Conversation()
    assert conv.resolve("What is the second method?").standalone == "What is the second method?"  # nothing cited yet
    conv.add("q1", "q1", answer("q1", ["a"], "A [1]."))
    for q in (
        "Is it possible to train diffusion models cheaply?",
        "Which papers study retrieval that uses graphs?",
        "How has NER changed over the last decade?",
        "What was the first method to use attention?",
        "Which papers use the second-order optimizers?",
        "How is machine learning used in IT security?",
        "Which paper from 2023 is best?",
    ):
        r = conv.resolve(q)
        assert (r.standalone, r.focus) == (q, ())


def test_unknown_reference_is_reported_and_kept():
    conv = Conversation()
    conv.add("q1", "q1", answer("q1", ["a"], "A [1]."))
    r = conv.resolve("what about [7]?")
    assert r.unknown == (7,)
    assert r.standalone == "what about (7)?"  # not a marker the model could take for one of its sources


def test_titles_are_not_resolved_again():
    conv = Conversation()
    TITLES["t"], TITLES["v"] = "What It Takes to Train the First Diffusion Model", "BERT and its Variants"
    conv.add("q", "q", answer("q", ["t", "v"], "T [1]. V [2]."))
    assert conv.resolve("tell me about [1]").standalone == 'tell me about "What It Takes to Train the First Diffusion Model"'
    r = conv.resolve("compare [2] with it")
    assert r.standalone == 'compare "BERT and its Variants" with "What It Takes to Train the First Diffusion Model"'



def test_abstained_answer_keeps_the_earlier_references_for_follow_ups():
    conv = Conversation()
    conv.add("q1", "q1", answer("q1", ["a", "b"], "A [1]. B [2]."))
    conv.add("q2", "q2", answer("q2", [], "The collection does not answer this question."))
    assert conv.resolve("the second one?").focus == ("b",)


def test_reset_restarts_numbers_and_transcript_lists_references():
    conv = Conversation()
    conv.add("What is A?", "What is A?", answer("What is A?", ["a"], "A is fast [1]."))
    conv.add("and it?", 'and "Alpha: Fast Diffusion"?', answer("x", ["a", "c"], "A [1]. C [2]."))
    md = transcript_markdown(conv, "rag chat")
    assert md.startswith("# rag chat\n\n## 1. What is A?\n\nA is fast [1].\n\n**References**\n\n[1] Alpha: Fast Diffusion")
    assert "*Understood as:* and \"Alpha: Fast Diffusion\"?" in md
    assert "[3] Gamma Retrieval" not in md and "[2] Gamma Retrieval" in md
    conv.reset()
    assert conv.add("q", "q", answer("q", ["c"], "C [1].")).references[0].n == 1
