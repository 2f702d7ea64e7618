"""Questions that ask for a figure, and whether a sentence gives it.

"What perplexity does the 1-bit compression reach?", "How many protein sequences was it
trained on?", "How much faster is it?": a user asking for a number wants that number. When
the abstract of the paper the question is about states no such figure, the honest answer is
that the collection does not give it, not a quote of the paper's other sentences; when it
does, the sentence that states it must reach the model.

:func:`asked_figure` reads what is asked: a :class:`Figure`, the words of which one must
stand in the same sentence as a number ("perplexity"; "faster", "speedup", "x" ...), or no
words when any number will do ("By how much does it improve ...?"). :func:`gives_figure`
checks one sentence; :func:`states_figure` and :func:`with_figure` apply it to a paper's
scored evidence (rag/evidence.py).

Invariants: pure functions of their text. ``asked_figure`` returns None unless the question
asks for a figure in a clause of its own (at the start, or after a comma, semicolon, colon or
"and"): "a model that predicts how many tokens are left" asks for no figure; or is a noun
phrase that asks for one (``_fragment_figure``: "InstaFlow output image resolution?"). A sentence gives
a figure only if it contains a digit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from .evidence import PaperEvidence

_TIME = frozenset({"hour", "day", "minute", "second", "min", "ms", "week", "month", "sec", "h", "s", "gpu-hour", "gpu-day", "time"})
_LENGTH = frozenset({"token", "context", "length", "k", "word", "frame"})
_SPEED = frozenset({"faster", "speedup", "speed-up", "speed", "x", "×", "throughput", "accelerat", "latency", "time", "slower"})
_MEMORY = frozenset({"memory", "gb", "mb", "footprint", "%", "less", "reduc", "sav", "compress"})
_COMPUTE = _TIME | frozenset({"gpu", "compute", "flop", "tpu", "cost", "$"})

# a measure named after "what/which (...)": the words that must stand next to its number.
# Only names that ask for a number; "what memory", "what cost", "what time" may not
# ("What memory mechanism ...?"), so they are asked for with "how much" instead.
_MEASURES: dict[str, frozenset[str]] = {
    "accuracy": frozenset({"accuracy", "top-1", "acc", "%"}),
    "top-1": frozenset({"accuracy", "top-1", "acc"}),
    "error rate": frozenset({"error", "eer", "err", "wer", "cer"}),
    "speedup": _SPEED,
    "speed-up": _SPEED,
    "throughput": _SPEED,
    "latency": frozenset({"latency", "ms", "millisecond", "second", "s"}),
    "perplexity": frozenset({"perplexity", "ppl"}),
    "map": frozenset({"map", "ap"}),
    "rank": frozenset({"rank"}),
    "mos": frozenset({"mos"}),
    "dice": frozenset({"dice"}),
    "bleu": frozenset({"bleu"}),
    "fid": frozenset({"fid"}),
    "auc": frozenset({"auc", "auroc"}),
    "f1": frozenset({"f1"}),
    "rate": frozenset({"rate"}),
    # measures any number answers
    "score": frozenset(), "improvement": frozenset(), "gain": frozenset(), "size": frozenset(), "number": frozenset(),
    "percentage": frozenset(), "fraction": frozenset(),
}
_CLAUSE = r"(?:^|[,;:]\s*|\band\s+|\bor\s+)"
_WHAT = re.compile(
    _CLAUSE + r"(?:what|which)(?:'s|\s+is|\s+was|\s+are|\s+were)?(?:\s+the)?((?:\s+[\w-]+){0,4}?)\s+(" + "|".join(re.escape(k).replace(r"\ ", r"\s+") for k in _MEASURES)
    + r")(?:e?s)?\b",
    re.I,
)
_HOW = re.compile(_CLAUSE + r"(?:by\s+)?how\s+(many|much|fast|long|large|big|quickly)\b((?:\s+[\w-]+){0,3})", re.I)
_STOP = frozenset(
    "the a an of does do did is was are were it its can could to in on for with and less more does will would should "
    "has have had this that their they them".split()
)
_GENERIC_HEADS = frozenset({"point", "percent", "percentage", "time", "x"})
_NUMBER = re.compile(r"\d")
_WORD = re.compile(r"[a-z][a-z0-9\-]*|%|\$|×")
_UNIT = re.compile(r"\d[\d.,]*\s?([a-z×%]+)")


@dataclass(frozen=True)
class Figure:
    """What a question asks for: ``phrase`` as asked, ``terms`` one of which must stand in the
    same sentence as a number (empty: any number)."""

    phrase: str
    terms: frozenset[str]


def _stem(word: str) -> str:
    word = word.lower()
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _how(kind: str, after: str) -> frozenset[str]:
    words = [w.lower() for w in re.findall(r"[\w-]+", after)]
    if kind in ("fast", "quickly"):
        return _SPEED
    if kind == "long":
        return _TIME | _LENGTH
    if kind in ("large", "big"):
        return frozenset()
    if kind == "much":
        head = words[:2]
        if head and head[0] in ("faster", "quicker", "slower", "speedup", "speed-up"):
            return _SPEED
        if "memory" in head:
            return _MEMORY
        if head and head[0] in ("compute", "time", "gpu", "training"):
            return _COMPUTE
        return frozenset()
    # many: the noun phrase after it, up to "of"/a verb; its head noun (the last word)
    phrase = []
    for w in words:
        if w in _STOP or w in ("of", "does", "do", "did", "was", "were", "is", "are", "can"):
            break
        phrase.append(_stem(w))
    if not phrase:
        return frozenset()
    head = phrase[-1]
    if head in _GENERIC_HEADS:
        return frozenset(phrase[:-1]) or frozenset()
    if head in ("hour", "day", "week", "month", "year", "gpu-hour", "gpu-day"):  # long spans: not seconds of output
        return frozenset({"hour", "day", "week", "month", "year", "gpu-hour", "gpu-day", "h"})
    if head in ("minute", "second", "millisecond"):
        return frozenset({"minute", "second", "millisecond", "min", "sec", "ms", "s"})
    return frozenset({head})


_PARAMS = frozenset({"parameter", "param"})  # "600B tokens", "$2M": a unit alone is not a parameter count
# a question written as a noun phrase ("InstaFlow output image resolution?", "parameter count
# of SkillNet"): the measure that asks for a number, and the words that must stand next to it
_FRAGMENT_MEASURES: dict[str, frozenset[str]] = {
    "resolution": frozenset({"resolution", "px", "pixel", "p"}),  # not "30k images", "118× cheaper"
    "parameter count": _PARAMS,
    "number of parameters": _PARAMS,
    "model size": _PARAMS,
    "llm size": _PARAMS,
    "network size": _PARAMS,
    "training cost": _COMPUTE,
    "training time": _COMPUTE,
    "inference time": _TIME,
    "memory usage": _MEMORY,
    "memory footprint": _MEMORY,
}
# measures that also name a topic ("infinity-norm accuracy", "speedup of attention"): asked
# only when the phrase ends with a question mark
_FRAGMENT_MEASURES_ASKED = {k: v for k, v in _MEASURES.items() if v and k not in _FRAGMENT_MEASURES}
_FRAGMENT_ALL = {**_FRAGMENT_MEASURES, **_FRAGMENT_MEASURES_ASKED}
_QUALIFIER = frozenset(
    "high low higher lower large larger small smaller full native arbitrary any different varying variable multi multiple "
    "fixed reduced increased limited super ultra extreme".split()
)
_FRAGMENT = re.compile(
    r"(?:^|\s)(" + "|".join(re.escape(k).replace(r"\ ", r"\s+") for k in sorted(_FRAGMENT_ALL, key=len, reverse=True))
    + r")(?:\s*$|\s+(?:of|used|in|for|on|reported|achieved|reached)\s+\S)",
    re.I,
)
_ASKING = re.compile(r"^(?:what|which|how|who|whom|whose|where|when|why|does|do|did|is|are|was|were|can|could|should|will|would|has|have|list|find|show|give|compare|explain)\b", re.I)


_TOPIC_WORDS = frozenset("for on of in with to by about via reduce reduces reducing cut cutting lower lowering efficient faster scaling".split())


def _fragment_figure(question: str) -> Figure | None:
    """A figure asked by a noun phrase rather than a question: the measure ends the phrase
    ("InstaFlow output image resolution?") or is followed by what it is of ("parameter count of
    SkillNet", "LLM size used in ..."). Without a question mark, the phrase must open with the
    measure ("total parameter count of SkillNet"). A measure that is qualified ("high
    resolution", "small model size") or that follows a verb or preposition ("reducing training
    time of ...", "scaling laws for model size") names a topic, not an ask."""
    text = question.strip().rstrip("?").strip()
    if not text or _ASKING.match(text) or len(text.split()) > 14:
        return None
    m = _FRAGMENT.search(text)
    if m is None:
        return None
    before = [w.lower() for w in text[: m.start(1)].split()]
    if before and before[-1] in _QUALIFIER:
        return None
    if any(w in _TOPIC_WORDS or (w.endswith("ing") and len(w) > 4) for w in before[-2:]):
        return None
    key = re.sub(r"\s+", " ", m.group(1).lower())
    asked = question.strip().endswith("?")
    if not asked and (key not in _FRAGMENT_MEASURES or any(w not in ("total", "overall", "the") for w in before)):
        return None
    return Figure(f"the {key}", _FRAGMENT_ALL[key])


def asked_figure(question: str) -> Figure | None:
    """The figure ``question`` asks for, or None when it asks for none."""
    found: list[Figure] = []
    for m in _WHAT.finditer(question):
        noun = re.sub(r"\s+", " ", m.group(2).lower())
        terms = _MEASURES[noun]
        found.append((m.start(), Figure("the " + " ".join(f"{m.group(1)} {m.group(2)}".split()), terms)))
    for m in _HOW.finditer(question):
        kind, after = m.group(1).lower(), m.group(2)
        found.append((m.start(), Figure(_how_phrase(kind, after), _how(kind, after))))
    if not found:
        return _fragment_figure(question)
    found.sort(key=lambda f: f[0])
    figures = [f for _, f in found]
    terms = frozenset() if any(not f.terms for f in figures) else frozenset().union(*(f.terms for f in figures))
    return Figure(figures[0].phrase, terms)


def _how_phrase(kind: str, after: str) -> str:
    """ "how many protein sequences", "how much faster", "how long": what is asked, for a message."""
    words = re.findall(r"[\w-]+", after)
    if kind == "many":
        phrase = []
        for w in words:
            if w.lower() in _STOP:
                break
            phrase.append(w)
        return " ".join(["how many", *phrase])
    if kind == "much" and words and (words[0].lower() in ("faster", "quicker", "slower", "memory", "compute", "time") or words[0].lower() == "less"):
        return " ".join(["how much", *words[: 2 if words[0].lower() == "less" else 1]])
    return f"how {kind}"


def gives_figure(sentence: str, figure: Figure) -> bool:
    """Does ``sentence`` state a number of the kind ``figure`` asks for?"""
    if not _NUMBER.search(sentence):
        return False
    if not figure.terms:
        return True
    low = sentence.lower()
    # single letters ("s", "h", "x") count only as a unit written after a number
    words = {_stem(w) for w in _WORD.findall(low) if len(w) > 1 or not w.isalpha()} | {_stem(u) for u in _UNIT.findall(low)}
    return any(w == t or (len(t) >= 4 and w.startswith(t)) for t in figure.terms for w in words)


def states_figure(evidence: PaperEvidence, figure: Figure) -> bool:
    """Does any sentence of the paper's abstract state ``figure``?"""
    return any(gives_figure(s.text, figure) for s in evidence.all_sentences)


def with_figure(evidence: PaperEvidence, figure: Figure) -> PaperEvidence:
    """``evidence`` with its best-scored sentence that states ``figure`` among the selected
    ones (kept in abstract order); unchanged when a selected sentence states it or none does."""
    if any(gives_figure(s.text, figure) for s in evidence.sentences):
        return evidence
    stating = [s for s in evidence.all_sentences if gives_figure(s.text, figure)]
    if not stating:
        return evidence
    best = max(stating, key=lambda s: s.score)
    return replace(evidence, sentences=tuple(sorted((*evidence.sentences, best), key=lambda s: s.start)))
