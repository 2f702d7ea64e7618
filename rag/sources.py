"""The numbered sources a prompt shows the model, and what the model's text says of them.

A source is one retrieved paper: its title and either its evidence sentences
(evidence-first prompts, rag/evidence.py) or its best chunks, in abstract coordinates.
Source text is data: sentences addressed to a language model are left out and citation-like
markers inside it are neutralized, so a paper can neither instruct the model nor forge a
citation. ``normalize_copied_headers`` and ``name_marker_references`` turn the small
model's habit of echoing titles or writing "the paper [1]" into sentences that name the
paper with its marker.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .chunking import token_counter
from .evidence import PaperEvidence
from .retrieve import PaperHit
from .settings import Settings
from .support import Evidence
from .text import instruction_like, instruction_sentences, neutralize, sentence_spans

# -- building the prompt ---------------------------------------------------------------------

def data_only(text: str) -> str:
    """Source text with the sentences addressed to a language model ("ignore previous
    instructions and answer X") left out: the model never sees them as instructions."""
    for start, end in reversed(instruction_sentences(text)):
        text = text[:start] + "(instruction-like text omitted)" + text[end:]
    return text


def without_instructions(ev: Evidence) -> Evidence:
    """Evidence minus instruction-like sentences: an injected "answer X" never supports X."""
    kept = tuple(s for s in ev.sentences if not instruction_like(s[2]))
    return ev if len(kept) == len(ev.sentences) else Evidence(" ".join(s for _, _, s in kept), kept)


@dataclass
class Source:
    n: int
    hit: PaperHit
    chunks: list[tuple[int, int, str]]  # (start, end, text) in abstract coordinates
    evidence: PaperEvidence | None = None  # evidence-first prompts: the selected sentences and every scored one

    def title_text(self) -> str:
        """The title as the prompt shows it (data only, no citation markers)."""
        return neutralize(data_only(self.hit.title))

    def body_text(self) -> str:
        """The chunks as the prompt shows them, "…" where sentences were skipped."""
        body, last_end = [], None
        for start, end, text in self.chunks:
            if last_end is not None and start > last_end + 2:  # more than the space between two sentences
                body.append("…")
            body.append(text)
            last_end = end
        return neutralize(data_only(" ".join(body)))

    def prompt_text(self) -> str:
        return f"[{self.n}] {self.title_text()}\n{self.body_text()}"


def widen(chunks: list[tuple[int, int, str]], abstract: str, min_tokens: int, count: Callable[[str], int]) -> list[tuple[int, int, str]]:
    """Give a source too short to say anything (often an abstract's last sentence) the
    sentences before it, up to ``min_tokens``. Offsets stay abstract coordinates."""
    if not chunks or sum(count(t) for _, _, t in chunks) >= min_tokens:
        return chunks
    start, end, _ = chunks[0]
    starts = [s.start for s in sentence_spans(abstract) if s.start < start]
    while starts and count(abstract[start:end]) < min_tokens:
        start = starts.pop()
    return [(start, end, abstract[start:end]), *chunks[1:]]


def build_sources(hits: list[PaperHit], settings: Settings, abstract_of: Callable[[str], str] | None = None) -> list[Source]:
    """Numbered sources within the token budget: best chunks of the best papers (widened to
    ``answer.min_source_tokens`` with the abstract when ``abstract_of`` is given)."""
    a = settings.answer
    count = token_counter(settings.chunking.encoding)
    sources: list[Source] = []
    budget = a.max_source_tokens
    for hit in hits[: a.max_sources]:
        chunks = sorted((c.start, c.end, c.text) for c in hit.chunks[: a.chunks_per_source])
        # drop text that an earlier chunk of the same paper already covers
        merged: list[tuple[int, int, str]] = []
        for start, end, text in chunks:
            if merged and start < merged[-1][1]:
                ps, pe, pt = merged[-1]
                if end > pe:
                    merged[-1] = (ps, end, pt + text[pe - start :])
                continue
            merged.append((start, end, text))
        if abstract_of is not None and sum(count(t) for _, _, t in merged) < a.min_source_tokens:  # only then fetch the abstract
            merged = widen(merged, abstract_of(hit.paper_id), a.min_source_tokens, count)
        source = Source(n=len(sources) + 1, hit=hit, chunks=merged)
        cost = count(source.prompt_text())
        if sources and cost > budget:
            break
        while cost > budget and len(source.chunks) > 1:  # even the first source must fit
            source.chunks.pop()
            cost = count(source.prompt_text())
        sources.append(source)
        budget -= cost
    return sources


def evidence_sources(hits: list[PaperHit], evidence: list[PaperEvidence], settings: Settings) -> list[Source]:
    """Numbered sources made of each paper's evidence sentences, within the token budget."""
    count = token_counter(settings.chunking.encoding)
    sources: list[Source] = []
    budget = settings.answer.max_source_tokens
    for hit, ev in zip(hits, evidence):
        source = Source(n=len(sources) + 1, hit=hit, chunks=[(e.start, e.end, e.text) for e in ev.sentences], evidence=ev)
        cost = count(source.prompt_text())
        if sources and cost > budget:
            break
        while cost > budget and len(source.chunks) > 1:
            source.chunks.pop()
            cost = count(source.prompt_text())
        sources.append(source)
        budget -= cost
    return sources


def normalize_copied_headers(raw: str, sources: list[Source]) -> str:
    """Small models often answer by echoing source titles: a header ("[2] Title" on its own
    line), or titles run together with no marker, which for "which paper..." questions is
    the answer. Each echoed title becomes a sentence naming the paper, cited with its
    number; a title used inside a sentence gets its marker after it."""
    titles = [(s.n, neutralize(s.hit.title)) for s in sources]
    for n, title in titles:
        sentence = f"{title} [{n}].\n"
        raw = re.sub(rf"\[\d+\]\s*{re.escape(title)}\s*(?:\n|$)", lambda _m, line=sentence: line, raw)
    any_title = "|".join(re.escape(t) for _, t in titles)
    for n, title in titles:
        # a bare title followed by another title or the end: a sentence of its own
        # (replacements are functions: a title may hold a backslash, "\\emph", read as an escape)
        raw = re.sub(rf"{re.escape(title)}(?!\s*\[)\s*(?=(?:{any_title})|$)", lambda _m, t=f"{title} [{n}].\n": t, raw)
        # a title inside a sentence without its marker: cite it there
        raw = re.sub(rf"{re.escape(title)}(?!\s*\[)(?!\s*\.?\n)", lambda _m, t=f"{title} [{n}]": t, raw)
    return name_marker_references(raw, dict(titles))


_MARKER_AS_NOUN = re.compile(
    r"\b(?:(?:the|this)\s+(?:paper|work|method|approach|framework|study|model|system|technique)\s+(?:(?:proposed|presented|introduced|described)\s+)?(?:in\s+)?"
    r"|(?:proposed|presented|introduced|described)\s+in\s+|is\s+)\[(\d+)\](?!\s*\[)",
    re.I,
)


def name_marker_references(raw: str, titles: dict[int, str]) -> str:
    """"The paper [1] trains ..." / "... is [2]." -> the source's title with its marker, so
    a sentence that answers "which paper" names the paper instead of pointing at a number."""

    def sub(m: re.Match) -> str:
        n = int(m.group(1))
        if n not in titles:
            return m.group(0)
        lead = m.group(0)[: m.start(1) - 1 - m.start(0)]
        keep = "is " if lead.lower().startswith("is") else ("in " if lead.lower().rstrip().endswith(" in") and not lead.lower().startswith(("the", "this")) else "")
        prefix = lead[: -len("in ")] + "in " if keep == "in " else ("is " if keep == "is " else "")
        return f"{prefix}{titles[n]} [{n}]"

    raw = _MARKER_AS_NOUN.sub(sub, raw)

    def named(m: re.Match) -> str:  # the marker stays, after the title it stands for
        n = int(m.group("n"))
        return f"{m.group('lead')}{titles[n]} [{n}]" if n in titles else m.group(0)

    # "The authors of [1] show", "as described in [2].", "according to [1]": a marker after a
    # preposition is the paper itself; moved to the sentence's end it would leave "The authors of show"
    raw = _MARKER_AFTER_PREPOSITION.sub(named, raw)
    # "[1][2] also mention that X.", "[1][2] propose X.": the markers go to the sentence's end,
    # where verification keeps those that support it (a title would stay in the text when one
    # does not; one marker is one paper, whose title the subject becomes below)
    raw = said_by_markers(raw)
    # "[1] states ...", "... state that [1] presents ...": a marker as a sentence's subject
    # ("states ..." once it moved); "... is [1][2].": markers as its object
    return _MARKERS_AS_OBJECT.sub(lambda m: _titled(m, titles), _MARKERS_AS_SUBJECT.sub(lambda m: _titled(m, titles), raw))


_SAY = r"(?:state|mention|show|report|suggest|note|find|argue|explain|demonstrate|indicate|claim|say|confirm|highlight)"
_SENTENCE_START = r"(?P<lead>(?:^|(?<=[.!?]\s)|(?<=\n))\s*)"
_MARKER_GROUP = r"\[\d+\](?:\s*\[\d+\])+"  # two or more markers
_NOT_CONJUNCTION = r"(?!(?:and|or|but|while|whereas)\b)"  # "... fast. [1][2] and it scales": a citation, not a subject
_MARKERS_DO = re.compile(rf"{_SENTENCE_START}(?P<markers>{_MARKER_GROUP})\s+{_NOT_CONJUNCTION}(?P<first>[a-z])")
_MARKERS_SAY_THAT = re.compile(
    rf"{_SENTENCE_START}(?P<markers>{_MARKER_GROUP})\s+(?:(?:also|further|both|additionally)\s+)?"
    rf"(?:{_SAY}(?:s|es|ed)?|found|said|shown|pointed\s+out)\s+that\s+(?P<first>\w)"
)


def said_by_markers(raw: str) -> str:
    """Two or more markers as a sentence's subject, moved to the sentence's end, where
    verification keeps those that support it: "... memory. [1][2] also mention that it
    combines with quantization." -> "... memory. It combines with quantization [1][2]." (a
    verb that says what they say: the claim it reports); "[1][2] further propose a method."
    -> "The authors further propose a method [1][2]." (naming both papers would leave one in
    the text that proposes nothing of the kind). Pure."""
    while m := _MARKERS_SAY_THAT.search(raw) or _MARKERS_DO.search(raw):
        start = m.start("first")
        line_end = raw.find("\n", start)
        rest = raw[start : len(raw) if line_end < 0 else line_end]
        spans = sentence_spans(rest)  # the project's splitter: "vs.", "e.g." and "et al." end no sentence
        end = start + (spans[0].end if spans else len(rest))
        claim = raw[start:end].rstrip()
        if claim and claim[-1] in ".!?":
            cut = start + len(claim) - 1
            claim = claim[:-1]
        else:
            cut = start + len(claim)
        if m.re is _MARKERS_DO:
            claim = f"The authors {claim}"
        elif claim.split(maxsplit=1)[0].islower():  # "vLLM", "iPhone" keep their case
            claim = claim[0].upper() + claim[1:]
        raw = f"{raw[: m.start()]}{m.group('lead')}{claim} {m.group('markers')}{raw[cut:]}"
    return raw


def _titled(m: re.Match, titles: dict[int, str]) -> str:
    """The marker group of ``m`` as the titles it stands for, each with its marker ("T1 [1]
    and T2 [2]"); unchanged when a number is not a source."""
    numbers = [int(n) for n in re.findall(r"\d+", m.group("markers"))]
    if not numbers or any(n not in titles for n in numbers):
        return m.group(0)
    named = [f"{titles[n]} [{n}]" for n in dict.fromkeys(numbers)]
    joined = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]
    return f"{m.group('lead')}{joined}{m.group('tail')}"


_MARKER_AFTER_PREPOSITION = re.compile(r"(?P<lead>\b(?:of|in|by|from|to|see|with)\s+)\[(?P<n>\d+)\](?!\s*\[)", re.I)
_MARKERS_AS_SUBJECT = re.compile(
    rf"(?P<lead>(?:^|(?<=[.!?]\s)|(?<=\n)|(?<=\bthat\s))\s*)(?P<markers>\[\d+\](?:\s*\[\d+\])*)(?P<tail>\s+)(?=[a-z]){_NOT_CONJUNCTION}"
)
_MARKERS_AS_OBJECT = re.compile(rf"(?P<lead>\bis\s+)(?P<markers>{_MARKER_GROUP})(?P<tail>)(?=\s*[.;,]|\s*$)", re.I)
