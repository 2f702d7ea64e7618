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

:func:`unmentioned_names` covers the other way a question asks a paper for what it does
not say: it names the paper and also something else by name ("does GPTQ beat AWQ?",
"YOLOv10 on Pascal VOC?", "Sophia on ImageNet?") that the abstract never mentions. The 0.5B
model then writes the paper's own claims as if they answered ("YOLOv10 results on Pascal
VOC, which is 1.8x faster ..."); the honest answer names what the abstract lacks.

Invariants: pure functions of their text. A detail is reported missing only when no word of
the text starts with one of its stems, so a word of the same family counts ("optimizer" is
named by "optimization": the check lets through more than it stops).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .lexical import name_words, tokenize, without_possessive, words

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


def _squash(text: str) -> str:
    """``text`` lower-cased with everything but letters and digits removed: "LLaMA-2" -> "llama2"."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _looks_named(word: str) -> bool:
    """A name by its letters: a capital or digit after the first letter ("AWQ", "ImageNet",
    "A100", "GPT2"), not a word that is only capitalised ("Need", "English", "Twitter")."""
    return any(c.isupper() or c.isdigit() for c in without_possessive(word)[1:])


# a paper's own name ("GPTQ", "YOLOv10") is used by the paper and at most one other; "AutoML"
# or "ConvNets" in a title is a field's word (3 papers or more), not the paper's name
OWN_NAME_MAX_DF = 2


def unmentioned_names(
    question: str,
    paper_text: str,
    *,
    other_papers: Sequence[tuple[str, str]] = (),
    paper_df: Callable[[str], int],
    is_title_name: Callable[[str], bool],
) -> list[str]:
    """The names ``question`` writes (:func:`rag.lexical.name_words` with a capital or digit
    inside: "AWQ", "ImageNet", "A100"; not "Need" or "English") that ``paper_text`` (the
    title and abstract of the paper the question names) never uses: not as a stemmed term,
    not as a lower-cased substring ("Llama2-7b"), not with hyphens and spaces removed
    ("CIFAR10" for "CIFAR-10", "LLaMA-2" for "LLaMA2") nor without a plural s ("GNNs").

    A name that may be another paper's own is left out, since a question naming two papers
    compares them rather than asks the first for something it lacks: a word some title in
    the collection writes as a name (``is_title_name``: "MatFormer"), a word of the title of
    one of ``other_papers`` ((title, abstract) of the other retrieved papers), or a rare
    word (``paper_df`` at most OWN_NAME_MAX_DF for a stem) that one of them uses ("RegionSpot", named only
    in its own abstract). Tokens of one character ("70B" -> "b") are not names. Pure."""
    text = paper_text.lower()
    squashed = _squash(paper_text)
    terms = set(tokenize(paper_text))
    other_titles = {w.lower() for title, _ in other_papers for w in words(title)}
    other_text = " ".join(f"{title} {abstract}" for title, abstract in other_papers).lower()
    out: list[str] = []
    for name in name_words(question):
        if not _looks_named(name):
            continue  # "Need", "Plain English", "Twitter": a capital alone does not make a name here
        name = without_possessive(name)
        stems = [s for s in tokenize(name) if len(s) > 1]
        low = name.lower()
        bare = _squash(low)
        if not stems or terms & set(stems) or low in text or name in out:
            continue
        if bare in squashed or (bare.endswith("s") and len(bare) > 3 and bare[:-1] in squashed):
            continue  # "CIFAR10" is "CIFAR-10", "LLaMA-2" is "LLaMA2", "GNNs" is "GNN"
        if is_title_name(low) or low in other_titles:
            continue
        if any(0 < paper_df(s) <= OWN_NAME_MAX_DF for s in stems) and low in other_text:
            continue
        out.append(name)
    return out
