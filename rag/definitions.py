"""Does a source define the name an answer sentence defines? Small pure functions.

Asked "what is lora", the 0.5B model writes "LoRA is <what a sentence of the source says>"
for every source it quotes, whatever that sentence is about: "Lora is a lossless, nearly
data-free transfer of LoRAs [2]" from "we propose Trans-LoRA -- a novel method for lossless,
nearly data-free transfer of LoRAs". The support judge sees the source's words and accepts
it. An answer sentence of the form "<name> is/are ..." for a name the question asks about is
only supported by a source that defines that name: the title opens with it ("Monolith: ..."),
or the supporting sentence names it where a definition starts ("adapting LoRA, a technique
that ...", "we present Monolith, a system ...", "LoRA is ...", "Stitchable Neural Networks
(SN-Net), a ...", or opens the sentence as its subject: "FlashAttention exploits ...") - as a word of its own, not inside another name ("Trans-LoRA", "LongLoRA").
A name followed by its abbreviation only ("3D Gaussian Splatting (3DGS).") defines nothing.

Only terms are checked: two words or more ("speculative decoding"), or a word the sources
write as a name, with an inner capital or a digit ("LoRA", "FlexRound", "BERT"); "Transformers
are ..." is left alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .evidence import INTRODUCING

_DEFINES = re.compile(r"^\W*(?:(?:the|an?)\s+)?(?P<name>[\w.+-]+(?:\s+[\w.+-]+){0,2}?)\s+(?:is|are|was|refers\s+to|stands\s+for)\b", re.I)
_ASKS_WHAT = re.compile(
    r"^\W*(?:what\s+(?:is|are)|what's|whats|define|explain)\s+(?:(?:the|an?)\s+)?(?P<term>[\w.+-]+(?:\s+[\w.+-]+){0,3})\s*\??\s*$", re.I
)


def _word(name: str) -> str:
    """``name`` as a word of its own: not inside another name ("Trans-LoRA", "LongLoRA"). Its
    words may be joined by spaces or hyphens ("mixture of experts" is "Mixture-of-experts")."""
    pattern = r"[\s-]+".join(re.escape(w) for w in re.split(r"[\s-]+", name.strip()))
    return rf"(?<![\w-]){pattern}(?![\w-])"


def defined_name(sentence: str, question: str) -> str | None:
    """The name an answer sentence defines ("LoRA is ..." -> "LoRA") when the question uses
    it, else None. Pure."""
    m = _DEFINES.match(sentence)
    if m is None:
        return None
    name = m.group("name")
    return name if re.search(_word(name), question, re.I) else None


def asked_term(question: str) -> str | None:
    """The term a question asks to define ("what is lora" -> "lora", "What are mixtures of
    experts?" -> "mixtures of experts"), else None. Pure."""
    m = _ASKS_WHAT.match(question)
    return m.group("term") if m else None


def is_term(name: str, texts: Iterable[str]) -> bool:
    """Is ``name`` a term to check: two words or more ("speculative decoding"), or written in
    ``texts`` as a name, with a capital after its first letter or a digit ("LoRA", "GPT-4")?
    Pure."""
    if len(name.split()) > 1:
        return True
    for text in texts:
        for m in re.finditer(_word(name), text, re.I):
            written = m.group(0)
            if any(c.isupper() or c.isdigit() for c in written[1:]):
                return True
    return False


# capitalised words that open a sentence or clause without being part of a name
_NOT_NAME_PARTS = frozenset(
    "in the a an we our this these that here however moreover thus then finally specifically unlike like with "
    "for to of on by from as at while when where although because since so and or but".split()
)


def _inside_longer_name(sentence: str, start: int) -> bool:
    """Is the name at ``start`` the end of a longer name ("Group DETR", "Vision Transformers"):
    is the word right before it capitalised, and not a sentence's opening word like "In" or "We"?"""
    m = re.search(r"(?<![\w-])([A-Za-z][\w-]*)\s+$", sentence[:start])
    if m is None:
        return False
    word = m.group(1)
    return word[0].isupper() and word.lower() not in _NOT_NAME_PARTS


def source_defines(name: str, sentence: str, title: str, *, strict: bool = False) -> bool:
    """Does a source define ``name``: its title opens with the name, or ``sentence`` names it
    as a word of its own where a definition starts ("LoRA, a", "LoRA (", "LoRA is", "LoRA:",
    "LoRA --") or after "we propose/present/introduce/call ..."? A name that ends a longer
    one ("Group DETR, a simple ... approach" does not say what DETR is) is not defined.
    Unless ``strict``, a sentence that opens with the name as its subject ("FlashAttention
    exploits ...") counts too. Pure."""
    word = _word(name)
    if re.match(rf"^\W*{word}", title, re.I):
        return True
    for m in re.finditer(rf"{word}(?:\)|\s*\([^()]{{1,30}}\))?\s*(?:,\s*(?:a|an|the|which|i\.e\.)\s|:|--|\u2013|\u2014|(?:is|are|refers|stands)\s)", sentence, re.I):
        if not _inside_longer_name(sentence, m.start()):
            return True
    if not strict and re.match(rf"^\W*(?:the\s+)?{word}\s+[a-z]", sentence, re.I):
        return True  # the sentence's subject: "FlashAttention exploits the asymmetric GPU memory hierarchy ..."
    # "we propose X", "a method called X"; not the noun ("on the design of efficient vision transformers")
    for m in re.finditer(rf"(?:\b(?:we|authors|paper|work|study)\s+(?:[a-z]+\s+)?{INTRODUCING}|\b(?:called|named|dubbed|termed|coined))\s+(?:[\w-]+\s+){{0,3}}?({word})", sentence, re.I):
        if not _inside_longer_name(sentence, m.start(m.lastindex)):
            return True
    return False
