"""A research conversation: follow-up resolution and citation numbers that stay stable.

Pure logic, no I/O: :mod:`rag.chat` drives it from the terminal.

Follow-ups are resolved by rules before retrieval, so the standalone question is
predictable and works with the small local model (which cannot be trusted to rewrite
questions): explicit references (``[2]``, ``paper 2``, ``#2``) and ordinals (``the second
one``, ``the last paper``) become the cited paper's title; a pronoun that refers back
(``it``, ``this paper``, ``they``, ``its``) becomes the main paper of the last answer. The
papers so named are *focus* papers: they are given to the model as sources even when
retrieval on the rewritten question would miss them.

Citation numbers belong to the session: the first paper ever cited is [1] for the rest of
the session, a paper first cited in a later answer gets the next free number, and every
answer's markers and references are rewritten to those numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .answer import Answer
from .render import answer_view, markdown
from .text import neutralize

ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5,
    "sixth": 6, "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10,
    "1st": 1, "2nd": 2, "3rd": 3, "4th": 4, "5th": 5,
}  # fmt: skip
# "[2]", "[2, 3]", "paper 2", "reference #2", "source 2", "#2"
_EXPLICIT = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]|\b(?:paper|reference|ref\.?|source)\s*#?\s*(\d{1,3})\b(?![.,]?\d)|(?<!\w)#(\d{1,3})\b", re.I)
# "the second one", "the last paper", "the latter?" (not "the last decade", "the first method to...")
_ORDINAL = re.compile(
    rf"\bthe\s+({'|'.join(ORDINALS)}|last|latter|former)(?![-\w])"
    r"(?:\s+(?:one|paper|work|study|article|reference|source)\b|(?=\s*(?:[?.,;!]|$)))",
    re.I,
)
# words that refer back to the paper under discussion; "it"/"its" only in lower or title case
# (not "IT security", "ITS"), and not as a dummy subject ("it is known", "is it possible")
_NOUN = r"(?:one|paper|work|study|article|approach|method|model)"
_ANAPHOR = re.compile(
    rf"\b(?:(?:this|that|the\s+same)\s+{_NOUN}|these\s+(?:papers|works|methods|models)|their|they|them"
    r"|(?-i:[Ii]ts)|(?-i:[Ii]t)(?!\s+(?:is|was|possible|true|seems|matters?)\b))\b",
    re.I,
)
_COMPARE = re.compile(r"\b(?:compare[sd]?|comparison|versus|vs\.?|differ(?:s|ent|ence)?|contrast)\b", re.I)
_SLOT = re.compile(r"\x00(\d+)\x00")  # a resolved reference, expanded to its title at the end


@dataclass(frozen=True)
class Cited:
    n: int
    paper_id: str
    title: str


@dataclass(frozen=True)
class Resolved:
    """A follow-up made standalone."""

    question: str  # what the user typed
    standalone: str  # what is retrieved and answered
    focus: tuple[str, ...]  # paper ids the user referred to
    unknown: tuple[int, ...] = ()  # reference numbers the session has not used


@dataclass
class Turn:
    question: str
    standalone: str
    answer: Answer


@dataclass
class Conversation:
    turns: list[Turn] = field(default_factory=list)
    numbers: dict[str, int] = field(default_factory=dict)  # paper id -> session number
    cited: dict[int, Cited] = field(default_factory=dict)  # session number -> paper

    # -- follow-ups ---------------------------------------------------------------------

    def resolve(self, question: str) -> Resolved:
        """Make a follow-up standalone. Papers named by number or ordinal become focus papers;
        a pronoun is replaced by the last answer's main paper, without forcing it in as a
        source (a false reading then cannot switch off retrieval's abstention)."""
        last_refs = next(([self.cited[r.n] for r in t.answer.references] for t in reversed(self.turns) if t.answer.references), [])
        focus: list[Cited] = []
        unknown: list[int] = []

        def slot(c: Cited, named: bool = True) -> str:
            if named and c not in focus:
                focus.append(c)
            return f"\x00{c.n}\x00"

        def explicit(m: re.Match) -> str:
            numbers = [int(x) for x in re.findall(r"\d+", m.group(0))]
            unknown.extend(n for n in numbers if n not in self.cited)
            if any(n not in self.cited for n in numbers):
                return m.group(0)
            return " and ".join(slot(self.cited[n]) for n in numbers)

        def ordinal(m: re.Match) -> str:
            word = m.group(1).lower()
            if not last_refs:
                return m.group(0)
            if word in ("last", "latter"):
                return slot(last_refs[-1])
            i = 0 if word == "former" else ORDINALS[word] - 1
            return slot(last_refs[i]) if i < len(last_refs) else m.group(0)

        # placeholders first, titles last: a title's own words are never resolved again
        text = _EXPLICIT.sub(explicit, question)
        text = _ORDINAL.sub(ordinal, text)
        # a pronoun means the main paper of the last answer, unless the user already named the
        # paper(s) meant; in a comparison it means the last answer's first paper not yet named
        others = [c for c in last_refs if c not in focus]
        if others and (not focus or _COMPARE.search(text)):
            main = others[0]
            possessive = ("its", "their")
            text = _ANAPHOR.sub(lambda m: slot(main, False) + ("'s" if m.group(0).lower() in possessive else ""), text, count=1)
        # numbers that are not references of this session must not reach the model as markers
        text = neutralize(text)
        text = _SLOT.sub(lambda m: f'"{self.cited[int(m.group(1))].title}"', text)
        return Resolved(question, " ".join(text.split()), tuple(c.paper_id for c in focus), tuple(unknown))

    # -- stable numbers -----------------------------------------------------------------

    def number(self, paper_id: str, title: str) -> int:
        if paper_id not in self.numbers:
            n = len(self.numbers) + 1
            self.numbers[paper_id] = n
            self.cited[n] = Cited(n, paper_id, title)
        return self.numbers[paper_id]

    def add(self, question: str, standalone: str, answer: Answer) -> Answer:
        """Record a turn; rewrite the answer's citation numbers to the session's numbers."""
        answer = answer.model_copy(deep=True)
        mapping = {r.n: self.number(r.paper_id, r.title) for r in answer.references}
        if mapping:
            answer.text = re.sub(r"\[(\d+)\]", lambda m: f"[{mapping.get(int(m.group(1)), int(m.group(1)))}]", answer.text)
            for r in answer.references:
                r.n = mapping[r.n]
            for s in answer.sentences:
                s.citations = [mapping.get(n, n) for n in s.citations]
            for p in answer.retrieved:
                if p.cited_as is not None:
                    p.cited_as = mapping.get(p.cited_as, p.cited_as)
        self.turns.append(Turn(question, standalone, answer))
        return answer

    def reset(self) -> None:
        self.turns.clear()
        self.numbers.clear()
        self.cited.clear()

    @property
    def last(self) -> Answer | None:
        return self.turns[-1].answer if self.turns else None


def transcript_markdown(conv: Conversation, header: str) -> str:
    """The session as markdown: each question, and its answer as rag/render.py words it."""
    out = [f"# {header}", ""]
    for i, t in enumerate(conv.turns, 1):
        out += [f"## {i}. {t.question}", ""]
        if t.standalone != t.question:
            out += [f"*Understood as:* {t.standalone}", ""]
        out += [markdown(answer_view(t.answer)), ""]
    return "\n".join(out).rstrip() + "\n"
