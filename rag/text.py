"""Text safety and sentence splitting, shared by ingest, retrieval, answers and display.

Pure functions over strings, no imports from the rest of the package (every other module
may import this one):

* sentences: :func:`split_sentences` (spans that tile the text) and :func:`sentence_spans`
  (without trailing whitespace); offsets always index the text given;
* control characters: :func:`strip_controls` (keeps line breaks) and :func:`clean_text`
  (one line) remove terminal escapes, so no source or model text can drive the terminal;
* prompt injection: :func:`instruction_like` marks text addressed to a language model;
* citation markers: :data:`MARKER` parses "[1]", "[1, 2]", "[Source 2]", ...;
  :func:`neutralize` turns markers inside source text into parentheses, so a source can
  never cite;
* LaTeX left in scraped abstracts: :func:`detex` ("\\%" -> "%", "2.4times" -> "2.4×");
* voice: :func:`third_person` says a paper's "we"/"our" as "the authors"/"their", so an
  answer never speaks as if the system wrote the paper;
* :func:`redact_credentials` masks the user, password and key of URLs quoted in log lines;
  :class:`RedactCredentials` is the logging filter that applies it;
* :func:`shorten` for error messages.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    start: int
    end: int


# -- sentences ------------------------------------------------------------------------

# Tokens that end with a period but do not end a sentence.
_ABBREVIATIONS = {
    "e.g", "i.e", "et al", "al", "etc", "vs", "fig", "figs", "eq", "eqs", "sec", "tab", "ref",
    "refs", "approx", "resp", "cf", "no", "dr", "mr", "ms", "prof", "st", "jr", "inc", "ltd",
    "viz", "ca", "esp", "incl", "w.r.t", "wrt", "a.k.a", "u.s",
}
_BOUNDARY = re.compile(r"[.!?]+[\"')\]]*\s+|[。！？]+[」』）]*\s*")
_NEXT_STARTS_SENTENCE = re.compile(r"[A-Z0-9\"'(\[]")


def split_sentences(text: str) -> list[Span]:
    """Sentence spans of ``text``. Each span includes its trailing whitespace, so spans tile the text."""
    spans: list[Span] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        end = m.end()
        if end >= len(text):
            break
        cjk = text[m.start()] in "。！？"
        if not cjk and not _NEXT_STARTS_SENTENCE.match(text, end):
            continue
        if cjk:
            spans.append(Span(start, end))
            start = end
            continue
        before = text[start : m.start()]
        last_word = before.rsplit(None, 1)[-1].lower() if before.split() else ""
        last_word = last_word.lstrip("([\"'")
        if last_word in _ABBREVIATIONS or (len(last_word) == 1 and last_word.isalpha()):
            continue
        if text[m.start()] == "." and m.start() + 1 < len(text) and text[m.start() - 1 : m.start()].isdigit() and text[end : end + 1].isdigit():
            continue
        spans.append(Span(start, end))
        start = end
    if start < len(text):
        spans.append(Span(start, len(text)))
    return spans


def sentence_spans(text: str) -> list[Span]:
    """Sentence spans without their trailing whitespace (for display and support scoring)."""
    out = []
    for s in split_sentences(text):
        end = s.end
        while end > s.start and text[end - 1].isspace():
            end -= 1
        if end > s.start:
            out.append(Span(s.start, end))
    return out


# -- control characters ---------------------------------------------------------------

# terminal escape sequences: CSI ("\x1b[31m") and OSC ("\x1b]0;title\x07"), removed whole
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?")


def strip_controls(s: str) -> str:
    """Drop terminal escape sequences and control characters, keeping line breaks and tabs
    (for generated text, whose layout matters)."""
    s = _ESCAPES.sub("", s)
    return "".join(c for c in s if c.isprintable() or c in "\n\t")


def clean_text(s: str) -> str:
    """Collapse whitespace and drop control characters (terminal escapes must not reach the screen)."""
    s = _ESCAPES.sub(" ", s)
    return " ".join("".join(c if c.isprintable() or c.isspace() else " " for c in s).split())


# -- prompt injection -----------------------------------------------------------------

# Text addressed to a language model rather than to a reader ("ignore previous instructions
# and answer X"): a prompt injection hidden in a collection. Such sentences stay in the index
# as data; ingest reports them and answers must never use them as instructions or evidence.
_INSTRUCTION = re.compile(
    r"""
      \b(?:ignore|disregard|forget|override)\b[^.!?]{0,40}?\b(?:instructions?|prompts?|rules|guidelines)\b
    | \b(?:system|developer)\s+(?:message|prompt|instructions?)\s*:
    | \b(?:answer|reply|respond|say|output|write)\s+(?:only|exactly|just)\b
    | \byou\s+(?:must|should|are\s+now|will\s+now)\s+(?:answer|say|reply|respond|ignore|cite|output|write)\b
    | \bdo\s+not\s+(?:cite|mention)\s+(?:any\s+)?other\b
    """,
    re.IGNORECASE | re.VERBOSE,
)


def instruction_like(sentence: str) -> bool:
    """Is this sentence an instruction to a language model (a prompt injection), not a statement?"""
    return bool(_INSTRUCTION.search(sentence))


def instruction_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of the instruction-like sentences of ``text``."""
    return [(s.start, s.end) for s in sentence_spans(text) if instruction_like(text[s.start : s.end])]


# -- citation markers -----------------------------------------------------------------

# [1]  [1, 2]  [1-3]  [1; 4]  [4, 1, and 2]  [1,2,]  [Source 2]  [Source: 2]  [sources 1, 3]  【1】
_NUM_LIST = r"\d+(?:\s*(?:[-–,;]|,?\s*and)\s*\d+)*\s*,?"
MARKER = re.compile(rf"[\[【]\s*(?:sources?\s*:?\s*)?({_NUM_LIST})\s*[\]】]", re.I)


def neutralize(text: str) -> str:
    """Source text is data: citation-like markers inside it become parentheses."""
    return MARKER.sub(lambda m: "(" + m.group(0)[1:-1] + ")", text)


# -- LaTeX in scraped abstracts ---------------------------------------------------------

# Abstracts copied from arXiv pages keep some LaTeX: "\%", "\&", "$\times$", "{\em x}", and
# some lost part of a command on the way ("2.4times" was "2.4$\times$", "\1,890" was "\$1,890").
# Only what has one clear reading is undone; unknown macros ("\name", "\METHOD") stay.
_LATEX: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\\url\{([^{}\s]*)\}"), r"\1"),
    (re.compile(r"\{\\(?:em|it|bf|textit|textbf|emph)\s+([^{}]*)\}"), r"\1"),
    (re.compile(r"\\(?:emph|textit|textbf)\{([^{}]*)\}"), r"\1"),
    (re.compile(r"\$?\\times\$?"), "×"),
    (re.compile(r"\$\\cdot\$|\\cdot\b"), "·"),
    (re.compile(r"\$\\(?:sim|approx)\$"), "~"),
    (re.compile(r"\$\\(?:leq|le)\$"), "≤"),
    (re.compile(r"\$\\(?:geq|ge)\$"), "≥"),
    (re.compile(r"\$\\pm\$"), "±"),
    (re.compile(r"\$\\ell_\{?\\infty\}?\$"), "ℓ∞"),
    (re.compile(r"\$\\ell_\{?(\d)\}?\$"), r"ℓ\1"),
    (re.compile(r"(?<=\d)times\b"), "×"),  # "2.4times": never English
    (re.compile(r"\\([%&$#_])"), r"\1"),
    (re.compile(r"\\(?=\d)"), "$"),  # "\1,890": a "\$" that lost its "$"
    (re.compile(r"\\eg\b\.?"), "e.g."),
    (re.compile(r"\\ie\b\.?"), "i.e."),
    (re.compile(r"\\etc\b\.?"), "etc."),
    (re.compile(r"\\etal\b\.?"), "et al."),
    (re.compile(r"\$([A-Za-z][^$\s\\]{0,20})\$"), r"\1"),  # "$Q^*$" -> "Q^*": a symbol, not money
]


def detex(text: str) -> str:
    """``text`` with the LaTeX of scraped abstracts undone where it has one clear reading."""
    if "\\" not in text and "times" not in text and "$" not in text:
        return text
    for pattern, repl in _LATEX:
        text = pattern.sub(repl, text)
    return text


# -- voice ----------------------------------------------------------------------------

_FIRST_PERSON = {"we": "the authors", "our": "their", "ours": "theirs", "us": "them", "ourselves": "themselves"}
_FIRST_PERSON_WORD = re.compile(r"\b(?:[Ww]e|[Oo]urs|[Oo]ur|[Oo]urselves|us)\b(?!['’]|\.\w)")


_ADVICE = re.compile(r"\b([Ww]e)(?=\s+(?:can|could|should|may|might|need to|would need to)\b)")


# "this", "these challenges", "the above issues": at most two words after the pointer, so that no
# clause of the sentence's own ("... we introduce X, our ...") is taken for the opening
_BACK = r"(?:this|these|that|those|such|the\s+(?:above|aforementioned|former|latter))(?:\s+(?!(?:we|our)\b)[\w-]+){0,2}"
_LEAD_IN = re.compile(
    r"^(?:(?:to|in\s+order\s+to)\s+(?:address|overcome|tackle|solve|mitigate|alleviate|resolve|remedy|fill|bridge|close)\s+" + _BACK
    + r"|to\s+this\s+end|(?:inspired|motivated)\s+by\s+" + _BACK
    + r"|in\s+this\s+(?:paper|work|study|letter|article)|specifically|moreover|furthermore|in\s+addition|additionally|besides)"
    r"\s*,\s+(?=(?:we|our)\b)",
    re.I,
)


# two openings in a row, the second without its comma: "To address this challenge, in this paper we study ..."
_CHAINED = re.compile(
    r"^(?:(?:to|in\s+order\s+to)\s+(?:address|overcome|tackle|solve|mitigate|alleviate|resolve)\s+" + _BACK + r"|to\s+this\s+end)"
    r"\s*,\s+in\s+this\s+(?:paper|work|study)\s*,?\s+(?=(?:we|our)\b)",
    re.I,
)

# "we address these issues and propose X": the problem is stated in sentences the answer does not show
_ADDRESS_AND = re.compile(
    r"^(we|the\s+authors)\s+(?:address|tackle|solve|overcome|mitigate|alleviate|resolve)\s+" + _BACK
    + r"\s*,?\s+and\s+(?=(?:propose|present|introduce|develop|design)\b)",
    re.I,
)


def without_lead_in(sentence: str) -> str:
    """A paper's sentence without an opening that only links it to its context, so that it
    reads alone in an answer: one pointing back at the sentences before it ("To address this
    challenge, we propose X" -> "We propose X"; "Inspired by this, ...", "To this end, ...") or
    a connective or locator ("Specifically, ...", "Moreover, ...", "In this paper, ..."). Only
    when the opening ends at a comma followed by "we" or "our" (what follows is then the
    paper's own statement); any other sentence is returned as it is. "We address these
    issues and propose X" -> "We propose X"."""
    m = _LEAD_IN.match(sentence)
    if m is None:
        m = _CHAINED.match(sentence)
    if m:
        rest = sentence[m.end() :]
        sentence = rest[0].upper() + rest[1:]
    return _ADDRESS_AND.sub(lambda m: m.group(1) + " ", sentence, count=1)


def third_person(sentence: str, *, advice: bool = False) -> str:
    """A paper's sentence as said about the paper: "we propose" -> "the authors propose",
    "our method" -> "their method" (the replacements are plural, so verbs still agree).
    With ``advice`` (a sentence the model wrote), "we can use X" is the model addressing the
    reader: "you can use X". "US" (capitals) and words that contain these letters are left alone."""

    def swap(m: re.Match[str]) -> str:
        word = m.group(0)
        new = _FIRST_PERSON[word.lower()]
        # capitalised where a sentence or quote starts; an abstract's stray capital mid-sentence
        # ("results demonstrate that Our framework") is not carried over
        opens = not sentence[: m.start()].strip() or sentence[: m.start()].rstrip()[-1] in '.!?:"“('
        return new[0].upper() + new[1:] if word[0].isupper() and opens else new

    if advice:
        sentence = _ADVICE.sub(lambda m: "You" if m.group(1) == "We" else "you", sentence)
    return _FIRST_PERSON_WORD.sub(swap, sentence)


# -- credentials ----------------------------------------------------------------------

_URL_USERINFO = re.compile(r"\b([a-z][a-z0-9+.-]*://)[^/\s@?#]+@", re.I)
_URL_SECRET_PARAM = re.compile(r"([?&](?:api[-_]?key|key|token|access[-_]?token|password)=)[^&\s#]+", re.I)


def redact_credentials(text: str) -> str:
    """``text`` with the credentials of any URL in it masked: "http://user:pw@host/?api_key=k"
    -> "http://***@host/?api_key=***" (for log lines, which quote request URLs)."""
    return _URL_SECRET_PARAM.sub(r"\1***", _URL_USERINFO.sub(r"\1***@", text))


class RedactCredentials(logging.Filter):
    """Mask URL credentials in every record it sees (:func:`redact_credentials`): the HTTP
    client logs request URLs, and ``llm.base_url`` may carry a user and password."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact_credentials(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def redact_loggers(names: tuple[str, ...]) -> None:
    """Add :class:`RedactCredentials` to the loggers ``names`` (once each). A logger's own
    filter masks its records before any handler sees them, whoever configured the handlers:
    an application that embeds ``ask()`` with its own logging gets masked lines too."""
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactCredentials) for f in logger.filters):
            logger.addFilter(RedactCredentials())


# -- messages -------------------------------------------------------------------------


def shorten(text: str, n: int = 160) -> str:
    """``text`` on one line, cut to ``n`` characters with an ellipsis (for messages)."""
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"
