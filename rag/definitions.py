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
from collections.abc import Callable, Iterable
from difflib import SequenceMatcher

from .evidence import INTRODUCING
from .figures import asked_figure
from .lexical import tokenize
from .query import request_core

_DEFINES = re.compile(r"^\W*(?:(?:the|an?)\s+)?(?P<name>[\w.+-]+(?:\s+[\w.+-]+){0,2}?)\s+(?:is|are|was|refers\s+to|stands\s+for)\b", re.I)
_ASKS_WHAT = re.compile(
    r"^\W*(?:what\s+(?:is|are)|what's|whats|define|explain)\s+(?:(?:the|an?)\s+)?(?P<term>[\w.+-]+(?:\s+[\w.+-]+){0,3}?)[\s?.!]*$", re.I
)


def _spelled(name: str) -> str:
    """A pattern for ``name`` whose words may be joined by spaces or hyphens ("mixture of
    experts" is "Mixture-of-experts")."""
    return r"[\s-]+".join(re.escape(w) for w in re.split(r"[\s-]+", name.strip()))


def _word(name: str) -> str:
    """``name`` as a word of its own: not inside another name ("Trans-LoRA", "LongLoRA")."""
    return rf"(?<![\w-]){_spelled(name)}(?![\w-])"


def defined_name(sentence: str, question: str) -> str | None:
    """The name an answer sentence defines ("LoRA is ..." -> "LoRA") when the question uses
    it, else None. Pure."""
    term = asked_definition(question)
    said = re.match(rf"^\W*(?:(?:the|an?)\s+)?({_word(term)})\s+(?:is|are|was|refers\s+to|stands\s+for)\b", sentence, re.I) if term else None
    if said is not None:
        return said.group(1)  # the asked term as written, however long: "mixture of experts routing is a technique ..."
    m = _DEFINES.match(sentence)
    if m is None:
        return None
    name = m.group("name")
    return name if re.search(_word(name), question, re.I) else None


def asked_term(question: str) -> str | None:
    """The term a question asks to define ("what is lora" -> "lora", "What are mixtures of
    experts?" -> "mixtures of experts"), else None. Pure."""
    m = _ASKS_WHAT.match(question)
    return m.group("term").rstrip(".!?") or None if m else None


# "what's federated learning exactly?": words after the term that are not part of it
_FILLER = re.compile(
    r"(?:\s*,?\s+(?:exactly|actually|again|really|anyway|please|precisely|briefly|in\s+simple\s+terms|in\s+plain\s+english))+(?=\W*$)", re.I
)
_NOT_IN_A_TERM = frozenset("for in on at by with to from and or vs versus between used use uses like".split())
_WH = frozenset("how why what which when where who whom whose".split())


def asked_definition(question: str) -> str | None:
    """The term ``question`` asks to have defined, when that is all it asks: "what is CLIP",
    "ok so what is DETR" (the request core, rag/query.py), "What are mixtures of experts?".
    Not "what is the speedup of GPTQ?" or "what are the limitations of GPTQ?" (a property of
    a name), "what is GPTQ used for?", "explain how GPTQ works", "what is YOLOv10 latency?"
    (a figure, rag/figures.py), nor a possessive ("what is GPTQ's speedup"). Pure."""
    core = _FILLER.sub("", request_core(question))
    term = asked_term(core)
    if term is None or asked_figure(core) is not None:
        return None
    words = term.split()
    if words[0].lower() in _WH or any(w.lower() in _NOT_IN_A_TERM or "'" in w or "\u2019" in w for w in words):
        return None
    if "of" in (w.lower() for w in words):
        after = words[[w.lower() for w in words].index("of") + 1 :]
        if any(any(c.isupper() or c.isdigit() for c in w) for w in after):
            return None  # "speedup of GPTQ", "the main idea of Group DETR": a property of a name
    return term


def none_known(stem: str) -> bool:
    """The default ``known`` of :func:`mentions` and :func:`respelled`: no word is known to be
    a word of its own, so any near spelling may be a typo."""
    return False


def looks_like_acronym(word: str) -> bool:
    """"RAG", "rlhf", "LLM", "GPT-4", "kd": written with a capital after its first letter or a
    digit, or without a vowel. An abstract may spell it out instead ("reinforcement learning
    from human feedback"). "lora", "moe", "gan" have vowels and are looked for. Pure."""
    return any(c.isupper() or c.isdigit() for c in word[1:]) or not re.search(r"[aeiouy]", word, re.I)


def checked_words(term: str) -> str:
    """The words of ``term`` that an abstract must use for it to mention the term: those
    that do not look like acronyms (:func:`looks_like_acronym`). Pure."""
    return " ".join(w for w in term.split() if not looks_like_acronym(w))


def mentions(text: str, term: str, *, typos: bool = False, known: Callable[[str], bool] = none_known) -> bool:
    """Does ``text`` hold every word of ``term``, stemmed (rag/lexical.py ``tokenize``; stop
    words aside)? "Once-for-All (OFA) network" mentions "once-for-all networks"; an abstract
    without "speculative" does not mention "speculative decoding". ``typos``: a word of
    ``term`` also counts as found when a word of ``text`` is spelled nearly like it (see
    :func:`_nearest`; "compositonal" for "compositional"), unless ``known(stem)`` says the
    word as asked is a word of its own (the collection uses it: "patching" is not a typo of
    "matching"). A term of stop words only is mentioned nowhere. Pure."""
    words = set(tokenize(term))
    found = set(tokenize(text))
    missing = words - found
    if not words or not missing or not typos:
        return bool(words) and not missing
    asked = [w for w in _WORD.findall(term) if set(tokenize(w)) & missing]
    covered = {st for w in asked for st in tokenize(w)}
    if not missing <= covered or any(known(st) for st in covered & missing):
        return False  # "3d": a missing word that is no word to respell
    spelled = {w.lower() for w in _WORD.findall(text)}
    return all(_nearest(w.lower(), spelled) is not None for w in asked)


_WORD = re.compile(r"[A-Za-z0-9]+")  # the words rag/lexical.py tokenize reads
# singular words that end like a plural
_SINGULAR_S = frozenset("bayes series species lens news means physics mathematics robotics analysis basis thesis axis".split())


def is_plural(term: str) -> bool:
    """Is ``term`` a plural ("once-for-all networks", "monarch matrices"; not "mixture of
    experts", "mixture-of-experts", "gaussian splatting", "LoRA")? Its head noun, the word
    before "of" or else the last word, ends in "s" but not "ss", "us", "is", "as" or "ics"
    and is not one of ``_SINGULAR_S`` ("bias", "naive bayes", "series"), or it ends in "ices". Pure."""
    words = term.lower().split()
    if not words:
        return False
    head = words[words.index("of") - 1] if "of" in words[1:] else words[-1]
    head = head.split("-of-")[0] if "-of-" in head else head.rsplit("-", 1)[-1]  # "mixture-of-experts", "once-for-all networks"
    if not head.isalpha() or len(head) <= 3 or head in _SINGULAR_S:
        return False
    return head.endswith("ices") or (head.endswith("s") and not head.endswith(("ss", "us", "is", "as", "ics")))


def respelled(term: str, texts: Iterable[str], known: Callable[[str], bool] = none_known) -> str:
    """``term`` with each word whose stem ``texts`` do not use, and that ``known`` does not
    know, replaced by the word of ``texts`` spelled most nearly like it ("compositonal zero
    shot learning" -> "compositional zero shot learning"; "hypernetworks" stays, its stem is
    used). Pure."""
    texts = list(texts)
    stems = {st for text in texts for st in tokenize(text)}
    spelled = {w.lower() for text in texts for w in _WORD.findall(text)}
    out = []
    for word in term.split():
        own = tokenize(word)
        if not word.isalpha() or not own or set(own) <= stems or any(known(st) for st in own):
            out.append(word)
            continue
        near = _nearest(word.lower(), spelled)
        out.append(word if near is None else near.upper() if word.isupper() else near.capitalize() if word[:1].isupper() else near)
    return " ".join(out)


def _nearest(word: str, spelled: Iterable[str]) -> str | None:
    """The word of ``spelled`` that ``word`` (5 letters or more) misspells, or None: the same
    first letter, and one edit apart (a letter added, dropped, changed, or two swapped; two
    edits from 8 letters on); the fewest edits first, then the most similar (difflib's ratio:
    "lerning" is "learning" rather than "leaning"), then alphabetical. A word that adds or
    drops a prefix or suffix is no misspelling: "unlearning" is not "learning", "retraining"
    is not "pretraining", "networks" is not "network"."""
    if len(word) < 5 or not word.isalpha():
        return None
    limit = 1 if len(word) < 8 else 2
    best: tuple[int, float, str] | None = None
    for w in spelled:
        if w[:1] != word[:1] or abs(len(w) - len(word)) > limit or w == word or w.startswith(word) or word.startswith(w):
            continue
        d = _edits(word, w, limit + 1)
        if d <= limit:
            key = (d, -SequenceMatcher(None, word, w).ratio(), w)
            best = key if best is None or key < best else best
    return best[2] if best else None


def _edits(a: str, b: str, cap: int) -> int:
    """Optimal string alignment distance between ``a`` and ``b`` (insertions, deletions,
    substitutions, swaps of two neighbours), or ``cap`` when it is ``cap`` or more."""
    if abs(len(a) - len(b)) >= cap:
        return cap
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) >= cap:
            return cap
        prev2, prev = prev, cur
    return min(prev[-1], cap)


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
    "for to of on by from as at while when where although because since so and or but recently nowadays today "
    "currently furthermore additionally hence therefore traditionally typically generally notably importantly overall "
    "first second existing modern standard original such each both many most".split()
)


def _abbreviates_longer(name: str, after: str) -> bool:
    """Does ``after`` (the text right after the name) open with an abbreviation of a longer
    name that contains it ("CLIP (LaCLIP)" in "Language augmented CLIP (LaCLIP), a ...")?"""
    m = re.match(r"\s*\(([^()]{1,30})\)", after)
    return m is not None and m.group(1).strip().lower() != name.lower() and name.lower() in m.group(1).lower()


def _inside_longer_name(sentence: str, start: int) -> bool:
    """Is the name at ``start`` the end of a longer name ("Group DETR", "Vision Transformers"):
    is the word right before it capitalised, and not a sentence's opening word like "In" or "We"?"""
    m = re.search(r"(?<![\w-])([A-Za-z][\w-]*)\s+$", sentence[:start])
    if m is None:
        return False
    word = m.group(1)
    return word[0].isupper() and word.lower() not in _NOT_NAME_PARTS


# "X is becoming popular", "X is widely used", "X is costly": what is said of X, not what X is
_ABOUT_IT = (
    r"(?:(?:becoming|gaining|increasingly|widely|being|crucial|important|essential|critical|challenging|difficult|hard|"
    r"expensive|costly|prohibitive|popular|popularly|promising|effective|used|limited|hindered|constrained|bottlenecked|"
    r"slow|fast|vulnerable|prone|able|unable)\b"
    r"|(?:also|now|still|often|commonly|usually|typically|known|not)\b(?!\s+(?:only\s+)?(?:a|an|the|one|as)\b))"
)


def source_defines(name: str, sentence: str, title: str, *, strict: bool = False) -> bool:
    """Does a source define ``name``: its title opens with the name, or ``sentence`` names it
    as a word of its own where a definition starts ("LoRA, a", "LoRA (", "LoRA is", "LoRA:",
    "LoRA --"; not "MoE is becoming popular", "X is widely used": ``_ABOUT_IT``), after "we propose/present/introduce/call ...", or in parentheses after what
    it stands for ("Detection transformer (DETR) relies on ...")? A name that ends a longer
    one ("Group DETR, a simple ... approach" does not say what DETR is) or opens the
    abbreviation of one ("Language augmented CLIP (LaCLIP), a ...") is not defined.
    Unless ``strict``, a sentence that opens with the name as its subject ("FlashAttention
    exploits ...") counts too. Pure."""
    word = _word(name)
    if re.match(rf"^\W*{word}", title, re.I):
        return True
    for m in re.finditer(rf"{word}(?:\)|\s*\([^()]{{1,30}}\))?\s*(?:,\s*(?:a|an|the|which|i\.e\.)\s|:|--|\u2013|\u2014|(?:is|are)\s+(?!\s|{_ABOUT_IT})|(?:refers|stands)\s)", sentence, re.I):
        if not _inside_longer_name(sentence, m.start()) and not _abbreviates_longer(name, sentence[m.start() + len(name):]):
            return True
    for m in re.finditer(rf"{word}(?=\s*\(\s*(?-i:[A-Z][A-Za-z0-9-]{{0,11}})\s*\)\s*(?:(?:seeks|aims)\s+to|denotes)\s)", sentence, re.I):
        # with its abbreviation: "Extreme Classification (XC) seeks to tag data points ..."; not
        # "Compositional Zero-shot Learning (CZSL) aims to" for "zero-shot learning", nor "LoRA (r) denotes"
        if not _inside_longer_name(sentence, m.start()) and not _abbreviates_longer(name, sentence[m.end():]):
            return True
    if re.search(rf"[A-Za-z][\w-]*\s+\(\s*{_spelled(name)}s?\s*\)", sentence, re.I):
        return True  # spelled out: "Detection transformer (DETR) relies on ...", "large language models (LLMs)"
    if not strict and re.match(rf"^\W*(?:the\s+)?{word}\s+[a-z]", sentence, re.I):
        return True  # the sentence's subject: "FlashAttention exploits the asymmetric GPU memory hierarchy ..."
    # "we propose X", "a method called X"; not the noun ("on the design of efficient vision transformers")
    # between the verb and the name, words like "a new" but not "to finetune" or "a variant of"
    between = r"(?:(?!(?:to|of|for|on|in|with|from|by|and|or)\b)[\w-]+\s+){0,3}?"
    for m in re.finditer(rf"(?:\b(?:we|authors|paper|work|study)\s+(?:[a-z]+\s+)?{INTRODUCING}|\b(?:called|named|dubbed|termed|coined))\s+{between}({word})", sentence, re.I):
        if not _inside_longer_name(sentence, m.start(m.lastindex)) and not _abbreviates_longer(name, sentence[m.end(m.lastindex):]):
            return True
    return False
