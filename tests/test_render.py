"""rag/render.py: what every output shows of an Answer, checked as exact text (pure, no model)."""

from rag.render import answer_view, markdown, plain_text
from rag.schema import UNSUPPORTED_NOTE, Answer, Quote, Reference, RetrievedPaper

PAPER = RetrievedPaper(rank=1, paper_id="a", title="Alpha: Fast Diffusion", score=0.5, dense=0.5, bm25=None, sentence="Alpha is fast.")
REF = Reference(n=1, paper_id="a", title="Alpha: Fast Diffusion", sentence="Alpha is fast.", start=0, end=14, support=0.9)


def _answer(**kw) -> Answer:
    return Answer(question="What is Alpha?", model="m", settings_hash="h", **kw)


def test_an_answer_with_references_and_an_unsupported_sentence():
    a = _answer(text=f"Alpha is fast [1]. It is blue. {UNSUPPORTED_NOTE}", references=[REF], retrieved=[PAPER])
    view = answer_view(a)
    assert plain_text(view) == (
        f"Alpha is fast [1]. It is blue. {UNSUPPORTED_NOTE}\n\nReferences:\n[1] Alpha: Fast Diffusion\n    “Alpha is fast.”\n\n"
        "1 sentence(s) marked “(no supporting source found)” are not backed by any retrieved paper.\n"
    )
    assert markdown(view) == (
        f"Alpha is fast [1]. It is blue. {UNSUPPORTED_NOTE}\n\n**References**\n\n[1] Alpha: Fast Diffusion  \n   > Alpha is fast.\n\n"
        "*1 sentence(s) marked “(no supporting source found)” are not backed by any retrieved paper.*"
    )
    assert view.papers == []  # an answer lists its references, not the retrieved papers


def test_an_abstention_lists_the_closest_papers():
    a = _answer(text="The collection does not answer this question.", abstained=True, status="abstained", retrieved=[PAPER])
    assert plain_text(answer_view(a)) == (
        "The collection does not answer this question.\n\nClosest papers:\n 1. Alpha: Fast Diffusion\n    “Alpha is fast.”\n"
    )
    assert markdown(answer_view(a)) == "The collection does not answer this question.\n\n**Closest papers**\n\n- Alpha: Fast Diffusion"


def test_no_answer_says_why_and_lists_the_most_relevant_papers():
    a = _answer(text="", status="retrieval_only", error="the LLM endpoint timed out", retrieved=[PAPER])
    view = answer_view(a)
    assert view.notice == "No answer was generated: the LLM endpoint timed out"
    assert plain_text(view).splitlines()[:3] == [view.notice, "", "The most relevant papers:"]
    assert markdown(view).startswith("*No answer was generated: the LLM endpoint timed out*\n\n**The most relevant papers**")


def test_a_reference_quotes_one_sentence_per_claim():
    quotes = [Quote(start=0, end=14, text="Alpha is fast."), Quote(start=15, end=29, text="Alpha is blue.")]
    ref = REF.model_copy(update={"quotes": quotes})
    view = answer_view(_answer(text="Alpha is fast [1]. It is blue [1].", references=[ref], retrieved=[PAPER]))
    assert plain_text(view) == (
        "Alpha is fast [1]. It is blue [1].\n\nReferences:\n[1] Alpha: Fast Diffusion\n    “Alpha is fast.”\n    “Alpha is blue.”\n"
    )
    assert markdown(view) == (
        "Alpha is fast [1]. It is blue [1].\n\n**References**\n\n[1] Alpha: Fast Diffusion  \n   > Alpha is fast.  \n   > Alpha is blue."
    )


def test_a_hedged_answer_names_the_papers_it_quotes_before_quoting_them():
    from rag.schema import HEDGE_TEXT, hedge_free, hedge_lead, hedged_text

    beta = Reference(n=2, paper_id="b", title='Beta [3]: the "Fast" Way', sentence="Beta is quick.", start=0, end=14, support=0.8)
    assert hedge_lead([REF]) == 'The closest paper, "Alpha: Fast Diffusion" [1], says:'
    # in reference order; a title's own quotes and markers cannot pass for the answer's
    assert hedge_lead([beta, REF]) == "The closest papers, \"Alpha: Fast Diffusion\" [1] and \"Beta (3): the 'Fast' Way\" [2], say:"
    third = REF.model_copy(update={"n": 3, "title": "Gamma"})
    assert hedge_lead([REF, beta, third]).startswith('The closest papers, "Alpha: Fast Diffusion" [1], "Beta')
    assert hedge_lead([]) == ""
    text = hedged_text("Alpha is fast [1].", [REF])
    assert text == f'{HEDGE_TEXT} The closest paper, "Alpha: Fast Diffusion" [1], says: Alpha is fast [1].'
    assert hedged_text("", []) == HEDGE_TEXT
    # what key-fact recall reads: the answer's own words, not the titles the hedge names
    assert hedge_free(_answer(text=text, references=[REF], hedged=True)) == "Alpha is fast [1]."
    assert hedge_free(_answer(text="Alpha is fast [1].", references=[REF])) == "Alpha is fast [1]."
