"""The answer a user gets: the ``Answer`` schema and its parts (pydantic models).

Every public way to ask (``ask()``, ``rag ask --json``, the chat, the HTTP API) returns or
prints these models; their field names are the public contract. Invariants: every [n] in
``Answer.text`` indexes ``Answer.references``; each reference's ``sentence`` is
``abstract[start:end]`` of its paper, and so is each of its ``quotes``, which include it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from .text import neutralize

if TYPE_CHECKING:
    from .retrieve import PaperHit

UNSUPPORTED_NOTE = "(no supporting source found)"
ABSTAIN_TEXT = "The collection does not answer this question."
HEDGE_TEXT = "The collection may not answer this directly."


# -- the answer ---------------------------------------------------------------------------


class Quote(BaseModel):
    start: int = Field(description="Offset of the sentence in the paper's abstract.")
    end: int
    text: str = Field(description="The abstract's words, abstract[start:end].")


class Reference(BaseModel):
    n: int = Field(description="The citation number used in the answer text.")
    paper_id: str
    title: str
    sentence: str = Field(description="The source sentence that best supports the citing answer sentence(s).")
    start: int = Field(description="Offset of that sentence in the paper's abstract.")
    end: int
    support: float = Field(description="Support score of the best citing sentence by this source (0..1).")
    quotes: list[Quote] = Field(
        default_factory=list,
        description="Every sentence of the abstract that backs an answer sentence citing this reference (one per "
        "claim, up to answer.quotes_per_reference, plus the sentences quoted as they are: extractive answers and "
        "answer.supporting_sentences), in abstract order; `sentence` is among them.",
    )


class RetrievedPaper(BaseModel):
    rank: int
    paper_id: str
    title: str
    score: float
    dense: float | None
    bm25: float | None
    sentence: str = Field(description="The sentence of this paper that matched the question best.")
    cited_as: int | None = Field(None, description="Its reference number when the answer cites it.")

    @classmethod
    def from_hit(cls, h: PaperHit) -> RetrievedPaper:
        return cls(rank=h.rank, paper_id=h.paper_id, title=h.title, score=h.score, dense=h.dense, bm25=h.bm25, sentence=h.sentence)


class SentenceSupport(BaseModel):
    text: str = Field(description="The sentence as shown in the answer, without markers.")
    citations: list[int] = Field(description="Reference numbers it cites (after renumbering).")
    status: Literal["cited", "attributed", "unsupported", "abstention", "off_topic", "repeated"] = Field(
        description="cited/attributed: shown with its citations; unsupported: no source backs it; abstention: the "
        "model said the sources do not answer; off_topic: supported but does not address the question (left out of the text); "
        "repeated: says again what an earlier shown sentence said (left out of the text)."
    )
    support: float
    relevance: float = Field(0.0, description="How much the sentence addresses the question (0..1, rag/relevance.py).")
    detail: bool = Field(
        False, description="Kept as a supporting detail: below the relevance threshold, but from the source(s) of an "
        "answering sentence and either relevant enough (answer.detail_relevance_threshold), leaning on the sentence before "
        "it, or backed by what the paper itself does rather than its background (answer.body_details); or quoted after "
        "the answer as the best evidence it did not state (answer.supporting_sentences)."
    )
    invalid_citations: list[int] = Field(default_factory=list, description="Numbers the model cited that were not sources.")
    dropped_citations: list[int] = Field(default_factory=list, description="Source numbers (as prompted) cited but not supporting.")


class Timings(BaseModel):
    retrieval_s: float = 0.0
    first_token_s: float | None = None
    generation_s: float = 0.0
    verification_s: float = 0.0
    total_s: float = 0.0


class Tokens(BaseModel):
    prompt: int = 0
    completion: int = 0
    estimated: bool = Field(False, description="True when the backend reported no usage and these are estimates.")


class Answer(BaseModel):
    question: str
    text: str = Field(description="The answer, with [n] markers that index `references`.")
    references: list[Reference] = Field(default_factory=list)
    retrieved: list[RetrievedPaper] = Field(default_factory=list, description="Every retrieved paper, with scores.")
    sentences: list[SentenceSupport] = Field(default_factory=list)
    draft: list[SentenceSupport] = Field(
        default_factory=list, description="mode extractive: the model's draft sentences as verified (none was shown)."
    )
    abstained: bool = False
    abstain_reason: Literal["retrieval", "figure", "detail", "name", "term", "model", "unsupported", "empty"] | None = Field(
        None,
        description="retrieval: no paper matches well enough; figure: the question asks for a figure the best paper's "
        "abstract does not state; detail: it asks which named thing (a license, a backbone, a dataset) the paper used "
        "and the best paper's abstract names nothing of that kind; name: the question names a paper and also something else "
        "by name (a dataset, a rival method, a device) that the named paper's abstract never mentions; term: the question asks what a term is and no retrieved abstract uses its words; model: the model said the sources do not answer; unsupported: no draft sentence was "
        "supported; empty: the model wrote nothing.",
    )
    status: Literal["answered", "abstained", "retrieval_only"] = "answered"
    mode: Literal["generated", "extractive"] = Field(
        "generated",
        description="generated: the model's verified sentences. extractive: the model's draft failed verification "
        "while retrieval was confident, so the answer quotes the best evidence sentences, each cited.",
    )
    answerable: float | None = Field(None, description="The abstention model's probability that the collection answers the question.")
    hedged: bool = Field(
        False,
        description="The answer is given although `answerable` is below answer.hedge_below: the text starts with "
        "HEDGE_TEXT ('The collection may not answer this directly.') and names the papers it then quotes or cites "
        "('The closest paper, \"<title>\" [1], says: ...').",
    )
    error: str | None = Field(None, description="Why no answer was generated (retrieval_only).")
    model: str
    settings_hash: str
    timings: Timings = Field(default_factory=Timings)
    tokens: Tokens = Field(default_factory=Tokens)
    raw_text: str = Field("", description="The model's text before verification.")

    def marked_unsupported(self) -> int:
        """How many sentences the text shows with UNSUPPORTED_NOTE (a hedged answer or
        answer.unsupported = "drop" leaves them out, though `sentences` still lists them)."""
        return self.text.count(UNSUPPORTED_NOTE)


# -- the hedged answer's words ---------------------------------------------------------


def hedge_lead(references: Sequence[Reference]) -> str:
    """The sentence that tells a hedged answer's reader which papers the rest quotes or cites,
    by title, so the reader can judge at once whether they are about the question ("The
    closest paper, "DiffRhythm: ..." [1], says:"); empty when nothing is cited."""
    # a title's own double quotes become single ones, and its citation-like markers parentheses
    named = ['"' + neutralize(r.title).replace('"', "'") + f'" [{r.n}]' for r in sorted(references, key=lambda r: r.n)]
    if not named:
        return ""
    if len(named) == 1:
        return f"The closest paper, {named[0]}, says:"
    listed = ", ".join(named[:-1]) + f" and {named[-1]}"
    return f"The closest papers, {listed}, say:"


def hedged_text(text: str, references: Sequence[Reference]) -> str:
    """A hedged answer's text: HEDGE_TEXT, :func:`hedge_lead`, then ``text``."""
    return " ".join(part for part in (HEDGE_TEXT, hedge_lead(references), text) if part)


def hedge_free(answer: Answer) -> str:
    """``answer.text`` without the hedge's own words (HEDGE_TEXT and the titles it names):
    what key-fact recall reads, so that naming a paper is not scored as stating its facts."""
    if not answer.hedged:
        return answer.text
    return answer.text.removeprefix(" ".join(p for p in (HEDGE_TEXT, hedge_lead(answer.references)) if p)).strip()
