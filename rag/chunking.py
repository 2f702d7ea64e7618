"""Token-aware, sentence-respecting chunking with character offsets into the abstract.

A chunk's ``text`` is always exactly ``abstract[start:end]``, and the chunks of a paper
cover its whole abstract, so an answer can point at the exact sentence it relies on and
the abstract can be rebuilt from its chunks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from .corpus import Paper
from .environment import offline_tiktoken
from .settings import ChunkingSettings
from .text import Span, split_sentences


@dataclass(frozen=True)
class Chunk:
    paper_id: str
    index: int
    start: int
    end: int
    text: str
    n_tokens: int

    def id(self, content_hash: str) -> str:
        """Chunk ids carry the paper's content hash, so a changed paper never reuses an id."""
        return f"{self.paper_id}:{content_hash}:{self.index}"


# -- tokens ---------------------------------------------------------------------------


@lru_cache(maxsize=4)
def token_counter(encoding: str) -> Callable[[str], int]:
    offline_tiktoken()
    import tiktoken

    enc = tiktoken.get_encoding(encoding)
    return lambda s: len(enc.encode(s, disallowed_special=()))


# -- chunks ---------------------------------------------------------------------------


def chunk_text(text: str, chunk_tokens: int, overlap_tokens: int, count: Callable[[str], int]) -> list[Span]:
    """Greedy packing of whole sentences into chunks of at most ``chunk_tokens``.

    The next chunk starts with the last whole sentences of the previous one that fit in
    ``overlap_tokens``. A sentence longer than a chunk is cut at word boundaries.
    """
    units = _units(text, chunk_tokens, count)
    sizes = [count(text[u.start : u.end]) for u in units]
    spans: list[Span] = []
    i = 0
    while i < len(units):
        j, total = i, 0
        while j < len(units) and (j == i or total + sizes[j] <= chunk_tokens):
            total += sizes[j]
            j += 1
        spans.append(Span(units[i].start, units[j - 1].end))
        if j >= len(units):
            break
        # step back over whole units that fit in the overlap, but always advance
        k, back = j, 0
        while k - 1 > i and back + sizes[k - 1] <= overlap_tokens:
            back += sizes[k - 1]
            k -= 1
        i = k
    return spans


def _units(text: str, chunk_tokens: int, count: Callable[[str], int]) -> list[Span]:
    out: list[Span] = []
    for s in split_sentences(text):
        if count(text[s.start : s.end]) <= chunk_tokens:
            out.append(s)
            continue
        # an over-long sentence: cut into word windows that fit (characters when a "word"
        # is itself too long, e.g. text without spaces)
        words = []
        for m in re.finditer(r"\S+\s*", text[s.start : s.end]):
            a, b = m.span()
            if count(text[s.start + a : s.start + b]) <= chunk_tokens:
                words.append((a, b))
            else:
                step = max(1, chunk_tokens // 2)
                words += [(i, min(i + step, b)) for i in range(a, b, step)]
        w0 = 0
        while w0 < len(words):
            w1 = w0 + 1
            while w1 < len(words) and count(text[s.start + words[w0][0] : s.start + words[w1][1]]) <= chunk_tokens:
                w1 += 1
            out.append(Span(s.start + words[w0][0], s.start + words[w1 - 1][1]))
            w0 = w1
    return out


def chunk_paper(paper: Paper, settings: ChunkingSettings) -> list[Chunk]:
    count = token_counter(settings.encoding)
    chunks = []
    for i, span in enumerate(chunk_text(paper.abstract, settings.chunk_tokens, settings.overlap_tokens, count)):
        end = span.end
        while end > span.start and paper.abstract[end - 1].isspace():
            end -= 1
        body = paper.abstract[span.start : end]
        chunks.append(Chunk(paper.id, i, span.start, end, body, count(body)))
    return chunks


def embedding_text(title: str, chunk_text: str, settings: ChunkingSettings) -> str:
    """What the embedder and BM25 see for a chunk."""
    return f"{title}\n{chunk_text}" if settings.title_in_embedding else chunk_text


def rebuild_abstract(chunks: Sequence[tuple[int, int, str]]) -> str:
    """The abstract from its chunks ``(start, end, text)``: overlapping spans merged by offset.

    Whitespace between two chunks that do not overlap is restored as a single space.
    """
    out: list[str] = []
    pos = 0
    for start, end, text in sorted(chunks):
        if end <= pos:
            continue
        if start > pos:
            out.append(" " * (start - pos))
            pos = start
        out.append(text[pos - start :])
        pos = end
    return "".join(out)
