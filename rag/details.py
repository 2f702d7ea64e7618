"""Questions that ask which named thing a paper used, and whether its abstract names any.

"What license is OpenELM released under?", "Which network backbones did the robust conformal
prediction paper use?", "Which optimizer won the AlgoPerf benchmark?": the user wants a name
(a license, a backbone, an optimizer, a dataset). When the abstract of the paper the question
is about never uses the word, nor a word for the same kind of thing ("benchmark" or
"experiments on" for a dataset, "ResNet" or "ViT" for a backbone), the honest answer is that
the collection does not say; quoting the paper's other sentences (what the extractive
fallback did) answers nothing. rag/figures.py does the same for numbers.

:func:`asked_detail` reads the question: a clause opening with "which"/"what", at most two
words, then the thing asked for (its head noun) and a verb ("is", "did", "won", "use" ...).
Nouns that name the paper or its idea rather than a detail ("paper", "method", "approach",
"work", "problem" ...) ask for no detail. :func:`names_detail` checks a text.

Invariants: pure functions of their text. A detail is reported missing only when no word of
the text starts with one of its stems, so a word of the same family counts ("optimizer" is
named by "optimization": the check lets through more than it stops).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .lexical import tokenize

_CLAUSE = r"(?:^|[,;:]\s*|\band\s+|\bor\s+)"
_VERB = (
    r"is|are|was|were|do|does|did|has|have|had|won|wins|beat|beats|tests?|tested|used?|uses|gets?|got|reach(?:es)?|"
    r"achieves?|shows?|runs?|ran|trains?|trained|evaluates?|evaluated|release[sd]?|released"
)
_ASK = re.compile(_CLAUSE + r"(?:which|what)\s+((?:[\w-]+\s+){0,2}?)([a-z][\w-]*)\s+(?:" + _VERB + r")\b", re.I)

# head nouns that ask about the paper, its idea or the question's own topic: no detail to look for
_NOT_A_DETAIL = frozenset(
    "paper papers work works study studies method methods approach approaches technique techniques system systems idea ideas "
    "problem problems task tasks kind kinds type types role roles difference differences component components setting settings "
    "way ways part parts reason reasons advantage advantages benefit benefits challenge challenges trick tricks insight insights "
    "contribution contributions result results finding findings limitation limitations step steps mechanism mechanisms "
    "framework frameworks strategy strategies property properties aspect aspects factor factors effect effects issue issues "
    "goal goals purpose purposes trade-off trade-offs tradeoff tradeoffs it this that they".split()
)
# words for the same kind of thing: a stem of any of them in the abstract names the detail
_SAME_KIND: dict[str, tuple[str, ...]] = {
    "dataset": ("dataset", "benchmark", "corpus", "corpora", "data", "experiments"),
    "benchmark": ("dataset", "benchmark", "corpus", "corpora", "experiments", "evaluation"),
    "corpus": ("dataset", "benchmark", "corpus", "corpora", "data"),
    "backbone": ("backbone", "resnet", "vit", "swin", "convnext", "vgg", "efficientnet", "encoder", "architecture"),
    "optimizer": ("optimizer", "optimization", "adam", "sgd", "lamb", "shampoo"),
    "license": ("license", "licence", "apache", "gpl", "cc-by"),  # "open-source" names no license
    "hardware": ("hardware", "gpu", "tpu", "cpu", "fpga", "chip", "device", "accelerator"),
    "gpu": ("gpu", "a100", "v100", "h100", "accelerator", "hardware"),
    "language": ("language", "english", "chinese", "multilingual", "lingual"),
    "baseline": ("baseline", "compared", "outperform", "prior", "state-of-the-art"),
    "metric": ("metric", "accuracy", "score", "measure"),
}


@dataclass(frozen=True)
class Detail:
    """What a question asks for by name: ``phrase`` as asked ("the license"), ``stems`` one of
    which a text must use to name it."""

    phrase: str
    stems: frozenset[str]


def _stems(words: tuple[str, ...]) -> frozenset[str]:
    return frozenset(s for w in words for s in tokenize(w))


def asked_detail(question: str) -> Detail | None:
    """The named thing ``question`` asks for, or None when it asks for none."""
    m = _ASK.search(question)
    if m is None:
        return None
    noun = m.group(2).lower()
    if noun in _NOT_A_DETAIL or noun.endswith("ly") or not tokenize(noun):  # "which framework automatically trains"
        return None
    stem = tokenize(noun)[0]
    same = next((words for key, words in _SAME_KIND.items() if tokenize(key)[0] == stem), (noun,))
    return Detail(f"the {noun}", _stems(same) | {stem})


def names_detail(text: str, detail: Detail) -> bool:
    """Does ``text`` use a word of the kind ``detail`` asks for (a word starting with one of its stems)?"""
    return any(word.startswith(stem) for word in set(tokenize(text)) for stem in detail.stems)
