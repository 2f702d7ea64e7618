"""Does an answer sentence address the question? Small pure functions.

Support (rag/support.py) says whether a source backs a sentence; it cannot tell a
faithful but beside-the-point sentence (background, another paper's claim) from an
answer. Relevance combines:

* the sentence's own similarity to the question (cosine, rescaled) and the share of the
  question's terms it uses (idf-weighted);
* the relevance to the question of the source sentence that supports it (a faithful
  paraphrase of the evidence that answers the question is an answer, even in new words);
* a bare paper title answers "which paper ...?" questions and nothing else.

The weights and the threshold (``answer.relevance_threshold``) are validated on labelled
real answer sentences (eval/datasets/answer_labels.jsonl).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .evidence import relevance
from .lexical import tokenize
from .metrics import near_verbatim
from .text import MARKER

_ASKS_FOR_PAPER = re.compile(
    r"\b(?:which|what|any|a|some|name)\s+(?:\w+\s+){0,3}?(?:papers?|works?|stud(?:y|ies)|articles?|publications?|approach(?:es)?|methods?|models?|systems?|frameworks?)\b"
    r"|\bis\s+there\b|\bare\s+there\b|\bpapers?\s+(?:on|about|that)\b",
    re.I,
)
_ABOUT_SEVERAL = re.compile(
    r"\b(?:papers|works|studies|articles|publications|approaches|methods|models|systems|frameworks)\b"
    r"|\b(?:compare[sd]?|comparison|differ(?:s|ence|ences)?|versus|vs\.?)\b|\bbetween\b.+\band\b"
    r"|\b(?:ways|techniques|tricks|strategies|alternatives|options)\s+(?:to|for|of)\b",  # "ways to shrink the kv cache"
    re.I,
)
SOURCE_WEIGHT = 0.5
_CLAUSE = re.compile(r"\s*(?:[,;:]|\s[-\u2013\u2014]\s)\s*")
ECHO_SHARE = 0.75  # a clause with at least this share of its content words from the question says it back
_LINK = re.compile(r"https?://|\bgithub\b|\bproject page\b|\bcode (?:is|will be) (?:available|released)", re.I)


_QUESTION_START = re.compile(
    r"^\W*(?:what|which|how|why|when|where|who|whom|whose|is|are|was|were|can|could|does|do|did|should|would|will|has|have|"
    r"explain|tell|describe|summari[sz]e|list|find|show|give|compare|name)\b",
    re.I,
)


def is_bare_phrase(question: str) -> bool:
    """Is the question a bare phrase ("camera-only bird's-eye-view 3D detection for
    self-driving"), not a question or a request? Users search that way for a topic as often
    as for one paper, so an answer to it covers the other papers that are nearly as relevant."""
    return "?" not in question and not _QUESTION_START.search(question)


def asks_for_paper(question: str) -> bool:
    """Is a paper's name on its own an answer to this question ("Which paper ...?")?"""
    return bool(_ASKS_FOR_PAPER.search(question))


def asks_for_several(question: str) -> bool:
    """Is the question about several papers ("Which papers ...", a comparison), rather than
    about one paper?"""
    return bool(_ABOUT_SEVERAL.search(question))


def sentence_relevance(cosine: float, coverage: float, source_relevance: float, *, is_title: bool, paper_question: bool) -> float:
    """Relevance of one answer sentence to the question (0..1).

    ``cosine``/``coverage``: the sentence against the question; ``source_relevance``: the
    relevance to the question of the source sentence that supports it (0 when none does).
    """
    if is_title:
        return 1.0 if paper_question else 0.0
    own = relevance(cosine, coverage)
    return round(max(own, SOURCE_WEIGHT * own + (1 - SOURCE_WEIGHT) * source_relevance), 4)


def judged_relevance(
    sentence: str,
    question: str,
    *,
    cosine: float,
    coverage: float,
    source_relevance: float,
    titles: Iterable[str],
    bare_title: bool,
    restates: bool = False,
) -> float:
    """:func:`sentence_relevance` plus the rules the labelled sentences showed:

    * a sentence that names a source's title answers a "which paper" question;
    * a sentence that says the question back (>= 60 % of its words in order) or only
      points at code or a project page does not answer anything, unless it goes on to
      answer it (``restates``: :func:`question_echo` found a claim beyond the echo).
    """
    paper_question = asks_for_paper(question)
    if paper_question and any(t and t.lower() in sentence.lower() for t in titles):
        return 1.0
    if (near_verbatim(sentence, question, 0.6) and not restates) or _LINK.search(sentence):
        return 0.0
    return sentence_relevance(cosine, coverage, source_relevance, is_title=bare_title, paper_question=paper_question)


def question_echo(sentence: str, question: str) -> str:
    """What an answer sentence claims beyond saying the question back.

    Small models open with the question itself: "To score video quality cheaply without
    resizing, you can use Grid Mini-patch Sampling [1]". The echoed clauses are the user's
    premise, not a claim of the model, and no abstract states them in the user's words; the
    support of the sentence is the support of the rest. The sentence is split into clauses
    (at , ; : and dashes); a clause of which at least ``ECHO_SHARE`` of the content words
    (stemmed, stopwords removed) occur in the question is dropped. Returns the remaining
    clauses joined with ", " (the sentence unchanged when no clause echoes), or "" when
    fewer than two content words outside the question are left: the sentence only points at
    a source ("The detector trained on ... is presented in [1]"). Pure.
    """
    asked = set(tokenize(question))
    clauses = [c for c in _CLAUSE.split(sentence) if c.strip()]
    kept = []
    for clause in clauses:
        words = tokenize(clause)
        if words and sum(w in asked for w in words) / len(words) >= ECHO_SHARE:
            continue
        kept.append(clause)
    new = {w for c in kept for w in tokenize(c)} - asked
    if len(new) < 2:
        return ""
    return sentence if len(kept) == len(clauses) else ", ".join(kept)


def adds_nothing(sentence: str, question: str) -> bool:
    """Does ``sentence`` say only the question back: no content word (stemmed, stopwords
    removed; numbers count) that the question does not use? "ProxylessNAS CIFAR-10 error
    and parameter count are [1]." answers "ProxylessNAS CIFAR-10 error and parameter count?"
    with nothing; "The zero-shot ModelNet40 accuracy of ULIP-2 is 74% [1]." adds "74". Pure."""
    return not set(tokenize(MARKER.sub(" ", sentence))) - set(tokenize(question))


def titles_as_markers(sentence: str, titles: Iterable[tuple[int, str]]) -> tuple[str, list[int]]:
    """Each source title named in ``sentence`` replaced by its marker ``[n]`` (case-insensitive);
    also returns the numbers of the named sources, in order of the titles given. Pure."""
    named = []
    for n, title in titles:
        if title and title.lower() in sentence.lower():
            sentence = re.sub(re.escape(title), lambda _m, marker=f"[{n}]": marker, sentence, flags=re.I)
            named.append(n)
    return sentence, named
