"""What a person is shown of an :class:`~rag.schema.Answer`, decided once for every output.

:func:`answer_view` picks the parts (the answer text or why there is none, the references,
the count of unsupported sentences the text shows, the papers to list instead of references)
and words them; each output only lays them out: :func:`plain_text` for ``rag ask``,
:func:`markdown` for saved chat transcripts, and the chat's rich console (rag/chat.py) reads
the same view. The web page renders the JSON ``Answer`` in the browser (rag/web/app.js).
Pure: no I/O, no terminal codes.
"""

from __future__ import annotations

from dataclasses import dataclass

from .schema import Answer, Quote, Reference, RetrievedPaper


@dataclass(frozen=True)
class AnswerView:
    notice: str | None  # instead of an answer: why none was generated
    text: str  # the answer text as shown ("" when there is none)
    references: list[Reference]
    unsupported: str | None  # the footer counting the sentences shown as unsupported
    papers_heading: str | None  # "Closest papers" / "The most relevant papers", when papers are listed
    papers: list[RetrievedPaper]


def answer_view(answer: Answer) -> AnswerView:
    if answer.status == "retrieval_only":
        why = f"No answer was generated: {answer.error}" if answer.error else "No answer was generated."
        return AnswerView(why, "", [], None, "The most relevant papers", list(answer.retrieved))
    n = answer.marked_unsupported()
    unsupported = f"{n} sentence(s) marked “(no supporting source found)” are not backed by any retrieved paper." if n else None
    papers = list(answer.retrieved) if answer.abstained else []
    return AnswerView(None, answer.text.strip(), list(answer.references), unsupported, "Closest papers" if papers else None, papers)


def quotes(ref: Reference) -> list[Quote]:
    """What a reference quotes from its paper: one sentence per claim citing it, in abstract
    order (an answer saved before references had quotes: its one sentence)."""
    return list(ref.quotes) or [Quote(start=ref.start, end=ref.end, text=ref.sentence)]


def quoted(ref: Reference) -> list[str]:
    return [q.text for q in quotes(ref)]


def plain_text(view: AnswerView) -> str:
    """The view as plain text lines (``rag ask``)."""
    out = [view.notice or view.text]
    if view.references:
        out += ["", "References:"]
        out += [f"[{r.n}] {r.title}" + "".join(f"\n    “{q}”" for q in quoted(r)) for r in view.references]
    if view.unsupported:
        out += ["", view.unsupported]
    if view.papers:
        out += ["", f"{view.papers_heading}:"]
        out += [f"{p.rank:>2}. {p.title}\n    “{p.sentence}”" for p in view.papers]
    return "\n".join(out) + "\n"


def markdown(view: AnswerView) -> str:
    """The view as markdown blocks (chat transcripts), without a trailing blank line."""
    out = [f"*{view.notice}*" if view.notice else view.text, ""]
    if view.references:
        out += ["**References**", ""]
        out += [f"[{r.n}] {r.title}" + "".join(f"  \n   > {q}" for q in quoted(r)) for r in view.references]
        out.append("")
    if view.unsupported:
        out += [f"*{view.unsupported}*", ""]
    if view.papers:
        out += [f"**{view.papers_heading}**", ""]
        out += [f"- {p.title}" for p in view.papers]
        out.append("")
    return "\n".join(out).rstrip()
