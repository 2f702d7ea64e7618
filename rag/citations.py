"""Citation markers in generated answers: parsing, checking, attribution, renumbering.

Pure functions over strings and numbers; the support scores they act on come from
:mod:`rag.support`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from .text import MARKER, sentence_spans

# markers that follow the sentence's final punctuation: "... memory. [1][2] Next" -> "... memory [1][2]. Next"
_TRAILING = re.compile(rf"([.!?])((?:\s*{MARKER.pattern})+)", re.I)
# whatever bracket is left that still holds a number after the markers are parsed
_LEFTOVER = re.compile(r"[\[【][^\[\]【】\n]{0,30}\d[^\[\]【】\n]{0,30}[\]】]")
_ABSTAIN = re.compile(
    r"\b(?:sources?|context|documents?|passages?|collection|provided\s+(?:papers?|abstracts?))\b[^.]{0,40}"
    r"\b(?:do(?:es)?\s+not|don't|doesn't|cannot|can't|fail\s+to)\s+"
    r"(?:answer|contain|mention|provide|cover|address|include|discuss|say|specify|state)"
    r"|\bnot\s+(?:covered|mentioned|addressed|answered|provided)\s+(?:in|by)\s+the\s+(?:sources?|context|collection|provided)"
    r"|\bno\s+(?:information|mention|details?)\s+(?:about|on|of|regarding)\b[^.]{0,60}\b(?:in|from)\s+the\s+(?:sources?|context|collection)"
    r"|\b(?:question|this)\s+cannot\s+be\s+answered\b",
    re.I,
)

Status = Literal["cited", "attributed", "unsupported", "abstention", "off_topic", "repeated"]


def parse_numbers(marker_body: str) -> list[int]:
    """``"1, 3-5"`` -> ``[1, 3, 4, 5]`` (ranges longer than 20 are taken as two numbers)."""
    out: list[int] = []
    for part in re.split(r"\s*(?:[,;]\s*(?:and\s+)?|and)\s*", marker_body.strip().rstrip(",")):
        m = re.fullmatch(r"(\d+)\s*[-–]\s*(\d+)", part)
        if m:
            a, b = int(m.group(1)), int(m.group(2))
            out.extend(range(a, b + 1) if 0 <= b - a <= 20 else (a, b))
        elif part.isdigit():
            out.append(int(part))
    return out


def strip_markers(text: str) -> tuple[str, list[int]]:
    """Remove citation markers; return the clean text and the cited numbers in order (unique)."""
    numbers: list[int] = []
    for m in MARKER.finditer(text):
        for n in parse_numbers(m.group(1)):
            if n not in numbers:
                numbers.append(n)
    clean = _LEFTOVER.sub("", MARKER.sub("", text))  # never leave an unverified "[n]" in the text
    clean = re.sub(r"\s+([.,;:!?])", r"\1", clean)
    return " ".join(clean.split()), numbers


@dataclass
class AnswerSentence:
    text: str  # without markers
    cited: list[int]  # numbers as the model wrote them


def split_answer(text: str, whole: Sequence[str] = ()) -> list[AnswerSentence]:
    """Answer text -> sentences with their citation numbers.

    Markers right after a sentence's final punctuation ("... memory. [1] Next") belong to
    that sentence, unless the answer puts its markers first ("[1] X works. [2] Y fails.").
    ``whole``: texts never split, where they occur (the sources' titles: "What Matters in
    Transformers? Not All Attention is Needed [1] shows ..." is one sentence).
    """
    text = text.strip()
    if not MARKER.match(text):
        text = _TRAILING.sub(lambda m: m.group(2) + m.group(1), text)
    out = []
    for span in _joined(sentence_spans(text), text, whole):
        clean, cited = strip_markers(text[span.start : span.end])
        if clean and re.search(r"\w", clean):
            out.append(AnswerSentence(clean, cited))
        elif cited and out:  # a marker left on its own belongs to the sentence before
            out[-1].cited += [n for n in cited if n not in out[-1].cited]
    return out


_GOES_ON = re.compile(rf"(?:\s*{MARKER.pattern})*\s+[a-z]", re.I)


def _joined(spans: list, text: str, whole: Sequence[str]) -> list:
    """``spans`` with each pair joined whose boundary falls inside an occurrence of a text of
    ``whole`` in ``text``."""
    inside = [
        # a title ending in "?" whose sentence goes on ("... Locality? [2] proposes") is inside it too
        (m.start(), m.end() + (1 if _GOES_ON.match(text, m.end()) else 0))
        for w in whole
        if w and any(c in w for c in ".!?")
        for m in re.finditer(re.escape(w), text)
    ]
    if not inside:
        return spans
    out = [spans[0]] if spans else []
    for span in spans[1:]:
        if any(a < span.start and out[-1].end < b for a, b in inside):
            out[-1] = replace(out[-1], end=span.end)
        else:
            out.append(span)
    return out


_FINISHED = re.compile(rf"[.!?][\"”’)]*(?:\s*{MARKER.pattern})*(?=\s|$)", re.I)


def finished_sentences(text: str) -> str:
    """``text`` up to the end of its last finished sentence (with its markers): what is
    left when generation stopped at the token limit mid-sentence. Text with no finished
    sentence is returned unchanged. Pure."""
    ends = [m.end() for m in _FINISHED.finditer(text)]
    return text[: ends[-1]].rstrip() if ends else text


def is_abstention(sentence: str) -> bool:
    """Does the sentence say that the sources do not answer (rather than state a fact)?"""
    return bool(_ABSTAIN.search(sentence))


@dataclass
class Decision:
    """What verification decided for one answer sentence (numbers are 1-based source numbers)."""

    status: Status
    sources: list[int] = field(default_factory=list)
    invalid: list[int] = field(default_factory=list)  # cited numbers that are not a given source
    dropped: list[int] = field(default_factory=list)  # valid citations that did not support the sentence
    support: float = 0.0  # best support among the kept sources (or among all, when unsupported)


def decide(
    cited: Sequence[int],
    support: Sequence[float],
    *,
    support_threshold: float,
    attribution_threshold: float,
    abstention: bool = False,
) -> Decision:
    """Check one sentence's citations against its support by each source.

    ``support[j]`` is the support of the sentence by source ``j + 1``. Valid citations whose
    support reaches ``support_threshold`` are kept. If none is left, the sentence goes to
    the best-supporting source when that support reaches ``attribution_threshold``;
    otherwise it is unsupported.
    """
    n_sources = len(support)
    valid = [n for n in cited if 1 <= n <= n_sources]
    invalid = [n for n in cited if not 1 <= n <= n_sources]
    if abstention and not any(support[n - 1] >= support_threshold for n in valid):
        return Decision("abstention", [], invalid, valid, 0.0)
    keep = [n for n in valid if support[n - 1] >= support_threshold]
    dropped = [n for n in valid if n not in keep]
    if keep:
        return Decision("cited", keep, invalid, dropped, max(support[n - 1] for n in keep))
    if n_sources:
        best = max(range(n_sources), key=lambda j: (support[j], -j))
        if support[best] >= attribution_threshold:
            return Decision("attributed", [best + 1], invalid, dropped, support[best])
        return Decision("unsupported", [], invalid, dropped, support[best])
    return Decision("unsupported", [], invalid, dropped, 0.0)


def renumber(per_sentence: Sequence[Sequence[int]]) -> dict[int, int]:
    """Old source number -> new number, 1..n in order of first use."""
    mapping: dict[int, int] = {}
    for numbers in per_sentence:
        for n in numbers:
            if n not in mapping:
                mapping[n] = len(mapping) + 1
    return mapping


def with_markers(text: str, numbers: Sequence[int]) -> str:
    """``"It works."`` + ``[1, 2]`` -> ``"It works [1][2]."`` (markers before final punctuation)."""
    if not numbers:
        return text
    marks = "".join(f"[{n}]" for n in numbers)
    m = re.search(r"([.!?]+[\"')\]]*)$", text)
    if m:
        return f"{text[: m.start()].rstrip()} {marks}{m.group(1)}"
    return f"{text} {marks}"
