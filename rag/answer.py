"""Cited answers: retrieve, prompt the LLM with numbered sources, verify every sentence.

One synchronous core, :meth:`Answerer.ask`; :func:`ask`, :func:`aask` (async) and
:func:`ask_stream` (token iterator) are thin shims over it.

Verification: each answer sentence is scored against the sentences of every source
(:mod:`rag.support`). Citations that point at no given source are removed; cited sources
that do not support the sentence are dropped; a sentence with no remaining citation is
attributed to its best-supporting source when that support is strong enough, and is
otherwise marked (or dropped) as unsupported, never shown as a cited fact. Citations are
renumbered 1..n in order of first use and each reference carries the source sentence that
supports it, with its offsets in the abstract.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field

from .chunking import sentence_spans, token_counter
from .citations import MARKER, Decision, decide, is_abstention, renumber, split_answer, with_markers
from .corpus import clean_text, instruction_like, instruction_sentences, normalize_title, strip_controls
from .errors import RagError
from .lexical import names_title
from .llm import LLM, GenerationCancelled, LLMUnavailable, Message, TokenCallback, make_llm
from .prompts import load_prompt
from .retrieve import PaperHit, Retriever
from .settings import Settings, load_settings
from .support import Evidence, Support, SupportJudge

log = logging.getLogger(__name__)

UNSUPPORTED_NOTE = "(no supporting source found)"
ABSTAIN_TEXT = "The collection does not answer this question."


# -- the answer ---------------------------------------------------------------------------


class Reference(BaseModel):
    n: int = Field(description="The citation number used in the answer text.")
    paper_id: str
    title: str
    sentence: str = Field(description="The source sentence that best supports the citing answer sentence(s).")
    start: int = Field(description="Offset of that sentence in the paper's abstract.")
    end: int
    support: float = Field(description="Support score of the best citing sentence by this source (0..1).")


class RetrievedPaper(BaseModel):
    rank: int
    paper_id: str
    title: str
    score: float
    dense: float | None
    bm25: float | None
    sentence: str = Field(description="The sentence of this paper that matched the question best.")
    cited_as: int | None = Field(None, description="Its reference number when the answer cites it.")

    @classmethod
    def from_hit(cls, h: PaperHit) -> RetrievedPaper:
        return cls(rank=h.rank, paper_id=h.paper_id, title=h.title, score=h.score, dense=h.dense, bm25=h.bm25, sentence=h.sentence)


class SentenceSupport(BaseModel):
    text: str = Field(description="The sentence as shown in the answer, without markers.")
    citations: list[int] = Field(description="Reference numbers it cites (after renumbering).")
    status: Literal["cited", "attributed", "unsupported", "abstention"]
    support: float
    invalid_citations: list[int] = Field(default_factory=list, description="Numbers the model cited that were not sources.")
    dropped_citations: list[int] = Field(default_factory=list, description="Source numbers (as prompted) cited but not supporting.")


class Timings(BaseModel):
    retrieval_s: float = 0.0
    first_token_s: float | None = None
    generation_s: float = 0.0
    verification_s: float = 0.0
    total_s: float = 0.0


class Tokens(BaseModel):
    prompt: int = 0
    completion: int = 0
    estimated: bool = Field(False, description="True when the backend reported no usage and these are estimates.")


class Answer(BaseModel):
    question: str
    text: str = Field(description="The answer, with [n] markers that index `references`.")
    references: list[Reference] = Field(default_factory=list)
    retrieved: list[RetrievedPaper] = Field(default_factory=list, description="Every retrieved paper, with scores.")
    sentences: list[SentenceSupport] = Field(default_factory=list)
    abstained: bool = False
    abstain_reason: Literal["retrieval", "model", "unsupported", "empty"] | None = None
    status: Literal["answered", "abstained", "retrieval_only"] = "answered"
    error: str | None = Field(None, description="Why no answer was generated (retrieval_only).")
    model: str
    settings_hash: str
    timings: Timings = Field(default_factory=Timings)
    tokens: Tokens = Field(default_factory=Tokens)
    raw_text: str = Field("", description="The model's text before verification.")


# -- building the prompt ---------------------------------------------------------------------

def data_only(text: str) -> str:
    """Source text with the sentences addressed to a language model ("ignore previous
    instructions and answer X") left out: the model never sees them as instructions."""
    for start, end in reversed(instruction_sentences(text)):
        text = text[:start] + "(instruction-like text omitted)" + text[end:]
    return text


def without_instructions(ev: Evidence) -> Evidence:
    """Evidence minus instruction-like sentences: an injected "answer X" never supports X."""
    kept = tuple(s for s in ev.sentences if not instruction_like(s[2]))
    return ev if len(kept) == len(ev.sentences) else Evidence(" ".join(s for _, _, s in kept), kept)


def neutralize(text: str) -> str:
    """Source text is data: citation-like markers inside it become parentheses."""
    return MARKER.sub(lambda m: "(" + m.group(0)[1:-1] + ")", text)


@dataclass
class Source:
    n: int
    hit: PaperHit
    chunks: list[tuple[int, int, str]]  # (start, end, text) in abstract coordinates

    def prompt_text(self) -> str:
        body, last_end = [], None
        for start, end, text in self.chunks:
            if last_end is not None and start > last_end:
                body.append("…")
            body.append(text)
            last_end = end
        return f"[{self.n}] {neutralize(data_only(self.hit.title))}\n{neutralize(data_only(' '.join(body)))}"


def widen(chunks: list[tuple[int, int, str]], abstract: str, min_tokens: int, count: Callable[[str], int]) -> list[tuple[int, int, str]]:
    """Give a source too short to say anything (often an abstract's last sentence) the
    sentences before it, up to ``min_tokens``. Offsets stay abstract coordinates."""
    if not chunks or sum(count(t) for _, _, t in chunks) >= min_tokens:
        return chunks
    start, end, _ = chunks[0]
    starts = [s.start for s in sentence_spans(abstract) if s.start < start]
    while starts and count(abstract[start:end]) < min_tokens:
        start = starts.pop()
    return [(start, end, abstract[start:end]), *chunks[1:]]


def build_sources(hits: list[PaperHit], settings: Settings, abstract_of: Callable[[str], str] | None = None) -> list[Source]:
    """Numbered sources within the token budget: best chunks of the best papers (widened to
    ``answer.min_source_tokens`` with the abstract when ``abstract_of`` is given)."""
    a = settings.answer
    count = token_counter(settings.chunking.encoding)
    sources: list[Source] = []
    budget = a.max_source_tokens
    for hit in hits[: a.max_sources]:
        chunks = sorted((c.start, c.end, c.text) for c in hit.chunks[: a.chunks_per_source])
        # drop text that an earlier chunk of the same paper already covers
        merged: list[tuple[int, int, str]] = []
        for start, end, text in chunks:
            if merged and start < merged[-1][1]:
                ps, pe, pt = merged[-1]
                if end > pe:
                    merged[-1] = (ps, end, pt + text[pe - start :])
                continue
            merged.append((start, end, text))
        if abstract_of is not None and sum(count(t) for _, _, t in merged) < a.min_source_tokens:  # only then fetch the abstract
            merged = widen(merged, abstract_of(hit.paper_id), a.min_source_tokens, count)
        source = Source(n=len(sources) + 1, hit=hit, chunks=merged)
        cost = count(source.prompt_text())
        if sources and cost > budget:
            break
        while cost > budget and len(source.chunks) > 1:  # even the first source must fit
            source.chunks.pop()
            cost = count(source.prompt_text())
        sources.append(source)
        budget -= cost
    return sources


def normalize_copied_headers(raw: str, sources: list[Source]) -> str:
    """Small models often answer by echoing a source header ("[2] Title" on its own line),
    which for "which paper..." questions is the answer. Turn it into a sentence naming the
    paper, cited with the right number."""
    for s in sources:
        title = neutralize(s.hit.title)
        sentence = f"{title} [{s.n}].\n"
        raw = re.sub(rf"\[\d+\]\s*{re.escape(title)}\s*(?:\n|$)", lambda _m, line=sentence: line, raw)
    return raw


# -- the pipeline ---------------------------------------------------------------------------


def clean_question(question: str, max_chars: int) -> str:
    if not isinstance(question, str):
        raise RagError("the question must be text")
    text = clean_text(question)  # control characters and terminal escapes, as in abstracts
    if not text:
        raise RagError("the question is empty")
    if len(text) > max_chars:
        raise RagError(f"the question is {len(text)} characters; the limit is {max_chars} (answer.max_question_chars)")
    return text


class Answerer:
    """Answers questions over one index with one LLM. Thread-safe; reuse it."""

    def __init__(self, settings: Settings, *, retriever: Retriever | None = None, llm: LLM | None = None):
        self.settings = settings
        self.retriever = retriever or Retriever(settings)
        self._llm = llm
        self._llm_lock = threading.Lock()
        self._judge: SupportJudge | None = None

    @property
    def llm(self) -> LLM:
        with self._llm_lock:
            if self._llm is None:
                self._llm = make_llm(self.settings)
            return self._llm

    @property
    def judge(self) -> SupportJudge:
        if self._judge is None:
            self._judge = SupportJudge(self.retriever.embedder, self.retriever.index.bm25.idf)
        return self._judge

    def model_name(self) -> str:
        s = self.settings.llm
        return self._llm.name if self._llm is not None else f"{s.backend}:{s.model}"

    def messages(self, question: str, sources: list[Source]) -> list[Message]:
        system = load_prompt("answer_system").render()
        user = load_prompt("answer_user").render(sources="\n\n".join(s.prompt_text() for s in sources), question=question)
        return [Message("system", system), Message("user", user)]

    def ask(
        self,
        question: str,
        *,
        on_token: TokenCallback | None = None,
        cancel: threading.Event | None = None,
        focus: Sequence[str] = (),
    ) -> Answer:
        """Answer ``question``. ``focus``: ids of papers the question is about (a chat
        follow-up naming earlier references); they become the first sources."""
        t0 = time.perf_counter()
        question = clean_question(question, self.settings.answer.max_question_chars)
        hits = self.retriever.search_with(question, focus, k=max(self.settings.retrieval.top_k, self.settings.answer.max_sources))
        timings = Timings(retrieval_s=time.perf_counter() - t0)
        base = dict(question=question, model=self.model_name(), settings_hash=self.settings.settings_hash(), timings=timings)
        retrieved = [RetrievedPaper.from_hit(h) for h in hits]

        best_dense = max((h.dense for h in hits if h.dense is not None), default=None)
        far = best_dense is not None and best_dense < self.settings.answer.abstain_below
        if far and any(names_title(question, h.title, self.retriever.index.bm25.df) for h in hits[:3]):
            far = False  # the question names a paper (e.g. an acronym the embedding model does not know)
        if not hits or (far and not focus):
            return _finish(Answer(**base, text=ABSTAIN_TEXT, retrieved=retrieved, abstained=True, abstain_reason="retrieval", status="abstained"), t0)

        sources = build_sources(hits, self.settings, lambda pid: self.retriever.paper(pid).abstract)
        try:
            llm = self.llm
            base["model"] = llm.name
            completion = llm.complete(self.messages(question, sources), on_token=on_token, cancel=cancel)
        except LLMUnavailable as exc:
            log.warning("answering without an LLM: %s", exc)
            return _finish(Answer(**base, text="", retrieved=retrieved, status="retrieval_only", error=str(exc)), t0)
        timings.first_token_s = completion.first_token_s
        timings.generation_s = completion.seconds
        tokens = Tokens(prompt=completion.prompt_tokens, completion=completion.completion_tokens, estimated=completion.tokens_estimated)

        t1 = time.perf_counter()
        raw = strip_controls(completion.text)  # an endpoint's output must not drive the terminal
        answer = self.verify(raw, sources, retrieved, Answer(**base, text="", tokens=tokens, raw_text=raw))
        timings.verification_s = time.perf_counter() - t1
        return _finish(answer, t0)

    def verify(self, raw: str, sources: list[Source], retrieved: list[RetrievedPaper], answer: Answer) -> Answer:
        a = self.settings.answer
        sentences = split_answer(normalize_copied_headers(raw, sources))
        answer.retrieved = retrieved
        if not sentences:
            return _abstain(answer, "empty")
        evidence = [without_instructions(Evidence.from_chunks(s.chunks)) for s in sources]
        titles = {normalize_title(s.hit.title): s.n for s in sources}
        named_sources = {titles[k] for k in (normalize_title(s.text) for s in sentences) if k in titles}
        # one scoring pass: the sentences, plus the question when a sentence only names a paper
        scored = self.judge.score([s.text for s in sentences] + ([answer.question] if named_sources else []), evidence)
        scores = scored[: len(sentences)]
        # A sentence that only names a paper answers "which paper...?" questions, but only if
        # that paper is about what the question asks: the question must be supported by it.
        relevant = {n for n in named_sources if scored[-1][n - 1].score >= a.title_relevance_threshold}
        decisions = []
        for i, s in enumerate(sentences):
            named = titles.get(normalize_title(s.text))
            if named in relevant:  # the sentence is a relevant paper's title: supported by that paper
                scores[i][named - 1] = Support(1.0, -1)
                decisions.append(Decision("cited", [named], [n for n in s.cited if not 1 <= n <= len(sources)], [], 1.0))
                continue
            decisions.append(
                decide(
                    s.cited,
                    [sup.score for sup in scores[i]],
                    support_threshold=a.support_threshold,
                    attribution_threshold=a.attribution_threshold,
                    abstention=is_abstention(s.text),
                )
            )
        if all(d.status == "abstention" for d in decisions):
            return _abstain(answer, "model")
        if not any(d.status in ("cited", "attributed") for d in decisions):
            return _abstain(answer, "unsupported")

        mapping = renumber([d.sources for d in decisions])
        parts: list[str] = []
        best: dict[int, tuple[float, int, int]] = {}  # source n -> (support, sentence idx, evidence sentence idx)
        for i, (s, d) in enumerate(zip(sentences, decisions)):
            numbers = [mapping[n] for n in d.sources]
            answer.sentences.append(
                SentenceSupport(
                    text=s.text, citations=numbers, status=d.status, support=d.support, invalid_citations=d.invalid, dropped_citations=d.dropped
                )
            )
            if d.status == "unsupported":
                if a.unsupported == "mark":
                    parts.append(f"{s.text} {UNSUPPORTED_NOTE}")
                continue
            parts.append(with_markers(s.text, numbers))
            for n in d.sources:
                sup = scores[i][n - 1]
                if n not in best or sup.score > best[n][0]:
                    best[n] = (sup.score, i, sup.sentence)
        answer.text = " ".join(parts)
        for old, new in sorted(mapping.items(), key=lambda kv: kv[1]):
            src = sources[old - 1]
            score, _, k = best[old]
            start, end, sentence = evidence[old - 1].sentences[k] if k >= 0 else (src.hit.sentence_start, src.hit.sentence_end, src.hit.sentence)
            answer.references.append(
                Reference(n=new, paper_id=src.hit.paper_id, title=src.hit.title, sentence=sentence, start=start, end=end, support=score)
            )
        cited = {src.hit.paper_id: mapping[src.n] for src in sources if src.n in mapping}
        for r in answer.retrieved:
            r.cited_as = cited.get(r.paper_id)
        return answer


def _abstain(answer: Answer, reason: str) -> Answer:
    answer.text, answer.abstained, answer.abstain_reason, answer.status = ABSTAIN_TEXT, True, reason, "abstained"
    answer.references, answer.sentences = [], []
    return answer


def _finish(answer: Answer, t0: float) -> Answer:
    answer.timings.total_s = time.perf_counter() - t0
    return answer


# -- the public shims -----------------------------------------------------------------------


def settings_from(overrides: dict[str, Any]) -> Settings:
    """``ask()`` keyword overrides -> settings. Accepts ``settings=``, ``preset=``, section
    dicts (``retrieval={"top_k": 3}``) and flat keys with a double underscore
    (``retrieval__top_k=3``)."""
    overrides = dict(overrides)
    settings = overrides.pop("settings", None)
    preset = overrides.pop("preset", None)
    if settings is not None:
        if overrides or preset:
            raise RagError("pass either settings= or overrides, not both")
        return settings
    flat = {k.replace("__", "."): v for k, v in overrides.items()}
    return load_settings(preset=preset, overrides=flat)


_ANSWERERS: dict[str, Answerer] = {}
_ANSWERERS_LOCK = threading.Lock()


def answerer_for(settings: Settings) -> Answerer:
    """One warm pipeline per distinct settings, so repeated ask() calls do not reload models
    (built once even when many threads ask at the same time)."""
    key = settings.model_dump_json()
    with _ANSWERERS_LOCK:
        if key not in _ANSWERERS:
            if len(_ANSWERERS) >= 4:
                _ANSWERERS.pop(next(iter(_ANSWERERS)))
            _ANSWERERS[key] = Answerer(settings)
        return _ANSWERERS[key]


def ask(question: str, *, on_token: TokenCallback | None = None, **overrides: Any) -> Answer:
    """Answer ``question`` from the indexed papers, with verified citations.

    ``on_token`` receives the generated text as it streams. Keyword overrides change
    settings for this call, e.g. ``ask("...", retrieval__top_k=8, llm={"backend": "openai"})``.
    """
    return answerer_for(settings_from(overrides)).ask(question, on_token=on_token)


async def aask(question: str, **overrides: Any) -> Answer:
    """Async :func:`ask` (the same code in a worker thread; cancelling the task stops generation)."""
    answerer = answerer_for(settings_from(overrides))
    cancel = threading.Event()
    try:
        return await asyncio.to_thread(answerer.ask, question, cancel=cancel)
    except asyncio.CancelledError:
        cancel.set()
        raise


class AnswerStream:
    """Iterate to get tokens as they are generated; ``.answer`` holds the verified answer after."""

    _DONE = object()

    def __init__(self, answerer: Answerer, question: str, focus: Sequence[str] = ()):
        self._queue: queue.Queue = queue.Queue()
        self._cancel = threading.Event()
        self.answer: Answer | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(answerer, question, tuple(focus)), daemon=True)
        self._thread.start()

    def _run(self, answerer: Answerer, question: str, focus: tuple[str, ...]) -> None:
        try:
            self.answer = answerer.ask(question, on_token=self._queue.put, cancel=self._cancel, focus=focus)
        except BaseException as exc:  # handed to the consuming thread
            self._error = exc
        finally:
            self._queue.put(self._DONE)

    def __iter__(self) -> Iterator[str]:
        finished = False
        try:
            while True:
                item = self._queue.get()
                if item is self._DONE:
                    finished = True
                    break
                yield item
        finally:
            if not finished:  # the consumer stopped early: stop generating, free the model
                self._cancel.set()
        self._thread.join()
        if self._error is not None:
            raise self._error

    def cancel(self) -> None:
        """Stop generating; iteration then ends with :class:`GenerationCancelled`."""
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()


def ask_stream(question: str, **overrides: Any) -> AnswerStream:
    """Like :func:`ask`, streaming: ``for token in (s := ask_stream(q)): ...; s.answer``."""
    return AnswerStream(answerer_for(settings_from(overrides)), question)


__all__ = ["Answer", "Answerer", "AnswerStream", "GenerationCancelled", "aask", "ask", "ask_stream"]
