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
from .metrics import near_verbatim

_ASKS_FOR_PAPER = re.compile(
    r"\b(?:which|what|any|a|some|name)\s+(?:\w+\s+){0,3}?(?:papers?|works?|stud(?:y|ies)|articles?|publications?|approach(?:es)?|methods?|models?|systems?|frameworks?)\b"
    r"|\bis\s+there\b|\bare\s+there\b|\bpapers?\s+(?:on|about|that)\b",
    re.I,
)
SOURCE_WEIGHT = 0.5
_LINK = re.compile(r"https?://|\bgithub\b|\bproject page\b|\bcode (?:is|will be) (?:available|released)", re.I)


def asks_for_paper(question: str) -> bool:
    """Is a paper's name on its own an answer to this question ("Which paper ...?")?"""
    return bool(_ASKS_FOR_PAPER.search(question))


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
) -> float:
    """:func:`sentence_relevance` plus the rules the labelled sentences showed:

    * a sentence that names a source's title answers a "which paper" question;
    * a sentence that says the question back (>= 60 % of its words in order) or only
      points at code or a project page does not answer anything.
    """
    paper_question = asks_for_paper(question)
    if paper_question and any(t and t.lower() in sentence.lower() for t in titles):
        return 1.0
    if near_verbatim(sentence, question, 0.6) or _LINK.search(sentence):
        return 0.0
    return sentence_relevance(cosine, coverage, source_relevance, is_title=bare_title, paper_question=paper_question)
