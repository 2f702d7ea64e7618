"""Cited answers: the pipeline that retrieves, prompts the LLM with numbered sources and
verifies what it wrote; and the public ways to call it.

One synchronous core, :meth:`Answerer.ask`; :func:`ask`, :func:`aask` (async) and
:func:`ask_stream` (token iterator) are thin shims over it. The parts live in their own
modules: the ``Answer`` schema in :mod:`rag.schema`, the prompt's numbered sources in
:mod:`rag.sources`, the verification of every sentence in :mod:`rag.verify`. Their public
names are re-exported here, so ``from rag.answer import Answer`` keeps working.

Invariants: an answer is either abstained (with a reason), retrieval-only (no LLM), or made
of sentences that verification kept, each cited (a hedged answer starts with HEDGE_TEXT and
a sentence naming the papers that follow, :func:`hedged_text`); one ``Answerer`` per settings is cached by
:func:`answerer_for` and is thread-safe.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

from .abstention import AbstentionModel
from .abstention import features as abstention_features
from .citations import finished_sentences
from .definitions import asked_definition, checked_words, mentions
from .details import OWN_NAME_MAX_DF, asked_detail, names_detail, unmentioned_names
from .embeddings import Embedder, judge_embedder
from .errors import RagError
from .evidence import CachedEmbedder, EvidenceSelector, PaperEvidence
from .figures import Figure, asked_figure, states_figure, with_figure
from .lexical import tokenize
from .llm import LLM, GenerationCancelled, LLMUnavailable, Message, PromptSource, TokenCallback, make_llm
from .prompts import load_prompt
from .relevance import asks_for_several, is_bare_phrase
from .retrieve import PaperHit, Retriever
from .schema import (
    ABSTAIN_TEXT,
    HEDGE_TEXT,
    UNSUPPORTED_NOTE,
    Answer,
    Reference,
    RetrievedPaper,
    SentenceSupport,
    Timings,
    Tokens,
    hedge_free,
    hedge_lead,
    hedged_text,
)
from .settings import Settings, load_settings, resolve_path
from .sources import Source, build_sources, evidence_sources, widen
from .support import SupportJudge
from .text import clean_text, neutralize, strip_controls
from .vector_cache import cached
from .verify import add_supporting, cover_papers, extractive, lead_definition, verify

log = logging.getLogger(__name__)


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

    def __init__(
        self, settings: Settings, *, retriever: Retriever | None = None, llm: LLM | None = None, evidence_embedder: Embedder | None = None,
    ):
        """``evidence_embedder``: the embedder of evidence and the support judge, shared with
        another answerer (default: made from ``answer.judge_embedding``, on first use)."""
        self.settings = settings
        self.retriever = retriever or Retriever(settings)
        self._evidence_embedder = evidence_embedder
        self._llm = llm
        self._llm_lock = threading.Lock()
        self._judge: SupportJudge | None = None
        self._selector: EvidenceSelector | None = None
        self._abstention: AbstentionModel | None = None

    @property
    def llm(self) -> LLM:
        with self._llm_lock:
            if self._llm is None:
                self._llm = make_llm(self.settings)
            return self._llm

    @property
    def selector(self) -> EvidenceSelector:
        if self._selector is None:
            a = self.settings.answer
            embedder = self._evidence_embedder
            if embedder is None:
                judge = judge_embedder(a.judge_embedding, self.retriever.embedder, self.settings.embedding)
                # abstract sentences and windows are read from the disk cache after their first use on this machine
                persist = cached(judge) if self.settings.embedding.vector_cache else None
                embedder = CachedEmbedder(judge, passages=persist if persist is not judge else None)
            self._selector = EvidenceSelector(
                embedder, self.retriever.index.bm25.idf, a.evidence_sentences, first_paper=a.evidence_first,
                background_factor=a.background_factor, contribution_bonus=a.contribution_bonus,
            )
        return self._selector

    @property
    def judge(self) -> SupportJudge:
        if self._judge is None:
            self._judge = SupportJudge(self.selector.embedder, self.retriever.index.bm25.idf)
        return self._judge

    @property
    def abstention(self) -> AbstentionModel | None:
        path = self.settings.answer.abstention_model
        if self._abstention is None and path:
            self._abstention = AbstentionModel.load(resolve_path(path))
        return self._abstention

    def model_name(self) -> str:
        s = self.settings.llm
        return self._llm.name if self._llm is not None else f"{s.backend}:{s.model}"

    def messages(self, question: str, sources: list[Source]) -> list[Message]:
        evidence = self.settings.answer.context == "evidence"
        system = load_prompt("answer_system" if evidence else "answer_system_chunks").render()
        user = load_prompt("answer_user").render(sources="\n\n".join(s.prompt_text() for s in sources), question=question)
        given = tuple(PromptSource(s.n, s.title_text(), s.body_text()) for s in sources)
        return [Message("system", system), Message("user", user, sources=given)]

    def evidence(self, question: str, hits: list[PaperHit], figure: Figure | None = None) -> list[PaperEvidence]:
        """Scored evidence sentences of the first ``answer.max_sources`` papers; when the
        question asks for ``figure``, each paper's best sentence that states it is included."""
        papers = [(h.paper_id, h.title, self.retriever.paper(h.paper_id).abstract) for h in hits[: self.settings.answer.max_sources]]
        selected = self.selector.select(self.retriever.query_core(question), papers)
        return selected if figure is None else [with_figure(ev, figure) for ev in selected]

    def answerability(self, question: str, hits: list[PaperHit], evidence: list[PaperEvidence]) -> tuple[float | None, dict[str, float]]:
        """The abstention model's probability that the collection answers, and its features."""
        index = self.retriever.index
        values = abstention_features(self.retriever.query_core(question), [h.dense for h in hits], evidence, index.bm25.idf, index.paper_df)
        model = self.abstention
        return (None if model is None else model.probability(values)), values

    def unmentioned(self, question: str, hits: list[PaperHit]) -> list[str]:
        """When the question names the first paper by its own name, the other names it uses
        that the paper's abstract never mentions (:func:`rag.details.unmentioned_names`)."""
        index, core = self.retriever.index, self.retriever.query_core(question)
        if not index.names_paper(core, hits[0].paper_id, OWN_NAME_MAX_DF):
            return []
        top = self.retriever.paper(hits[0].paper_id)
        others = [(h.title, self.retriever.paper(h.paper_id).abstract) for h in hits[1:5]]
        return unmentioned_names(
            core, f"{top.title} {top.abstract}", other_papers=others, paper_df=index.paper_df, is_title_name=index.is_title_name
        )

    def unmentioned_term(self, question: str, hits: list[PaperHit]) -> str | None:
        """The term a "what is X" question asks about when no retrieved paper's title and
        abstract hold its words (rag/definitions.py ``mentions``; a typo forgiven unless the word as
        asked is one the collection uses), else None. Words that look like acronyms ("RAG", "rlhf",
        "LLM"; rag/definitions.py ``looks_like_acronym``) are not looked for: the abstract may spell them out."""
        term = asked_definition(question)
        if term is None:
            return None
        checked = checked_words(term)  # "what is rlhf", "what are LLM agents": an acronym may be spelled out
        if not tokenize(checked):
            return None
        if any(mentions(f"{h.title}\n{self.retriever.paper(h.paper_id).abstract}", checked, typos=True, known=self.known_word) for h in hits):
            return None
        return term

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
        a = self.settings.answer
        t0 = time.perf_counter()
        question = clean_question(question, a.max_question_chars)
        hits = self.retriever.search_with(question, focus, k=max(self.settings.retrieval.top_k, a.max_sources))
        base = dict(question=question, model=self.model_name(), settings_hash=self.settings.settings_hash(), timings=Timings())
        retrieved = [RetrievedPaper.from_hit(h) for h in hits]
        if not hits:
            return _finish(Answer(**base, text=ABSTAIN_TEXT, retrieved=retrieved, abstained=True, abstain_reason="retrieval", status="abstained"), t0)
        core = self.retriever.query_core(question)  # "tell me how fast X runs" asks "how fast X runs"
        figure = asked_figure(core) if a.figure_papers else None
        evidence = self.evidence(question, hits, figure)
        if figure is not None and not any(states_figure(ev, figure) for ev in evidence[: a.figure_papers]):
            base["timings"].retrieval_s = time.perf_counter() - t0
            text = f'{ABSTAIN_TEXT} The abstract of the closest paper, "{hits[0].title}", does not state {figure.phrase}.'
            return _finish(Answer(**base, text=text, retrieved=retrieved, abstained=True, abstain_reason="figure", status="abstained"), t0)
        detail = asked_detail(core) if a.detail_papers and figure is None else None
        if detail is not None and not any(names_detail(f"{ev.title} {ev.abstract}", detail) for ev in evidence[: a.detail_papers]):
            base["timings"].retrieval_s = time.perf_counter() - t0
            text = f'{ABSTAIN_TEXT} The abstract of the closest paper, "{hits[0].title}", does not name {detail.phrase}.'
            return _finish(Answer(**base, text=text, retrieved=retrieved, abstained=True, abstain_reason="detail", status="abstained"), t0)
        missing = self.unmentioned(question, hits) if a.unmentioned_names else []
        if missing:
            base["timings"].retrieval_s = time.perf_counter() - t0
            text = f'{ABSTAIN_TEXT} The abstract of "{hits[0].title}" does not mention {_join(missing)}.'
            return _finish(Answer(**base, text=text, retrieved=retrieved, abstained=True, abstain_reason="name", status="abstained"), t0)
        term = self.unmentioned_term(question, hits) if a.unmentioned_terms else None
        if term is not None:
            base["timings"].retrieval_s = time.perf_counter() - t0
            text = f"{ABSTAIN_TEXT} None of the abstracts found mentions {term}."
            return _finish(Answer(**base, text=text, retrieved=retrieved, abstained=True, abstain_reason="term", status="abstained"), t0)
        p, _ = self.answerability(question, hits, evidence)
        base["answerable"] = None if p is None else round(p, 4)
        base["timings"].retrieval_s = time.perf_counter() - t0
        threshold = self.abstention.threshold if self.abstention is not None else 0.0
        index = self.retriever.index
        named = index.title_matches(question, self.settings.retrieval.title_max_df)
        names_top = index.paper_chunks(hits[0].paper_id)[0].id in named
        if p is not None and p < threshold and not focus and not names_top:  # a question naming the top paper is about it
            return _finish(Answer(**base, text=ABSTAIN_TEXT, retrieved=retrieved, abstained=True, abstain_reason="retrieval", status="abstained"), t0)

        if a.context == "evidence":
            sources = evidence_sources(hits, evidence, self.settings)
        else:
            sources = build_sources(hits, self.settings, lambda pid: self.retriever.paper(pid).abstract)
        hedge = p is not None and p < a.hedge_below and not focus and not names_top
        if hedge and a.hedged_answer == "quotes":
            # "the closest paper, ..., says:" is followed by what it says, not by the model's claims about them
            quoted = self.extractive(sources, retrieved, Answer(**base, text=""), several=True if a.hedged_quotes == "papers" else None)
            if quoted.mode == "extractive":
                quoted.hedged, quoted.text = True, hedged_text(quoted.text, quoted.references)
                return _finish(quoted, t0)
        try:
            llm = self.llm
            base["model"] = llm.name
            completion = llm.complete(self.messages(question, sources), on_token=on_token, cancel=cancel)
        except LLMUnavailable as exc:
            log.warning("answering without an LLM: %s", exc)
            return _finish(Answer(**base, text="", retrieved=retrieved, status="retrieval_only", error=str(exc)), t0)
        timings = base["timings"]
        timings.first_token_s = completion.first_token_s
        timings.generation_s = completion.seconds
        tokens = Tokens(prompt=completion.prompt_tokens, completion=completion.completion_tokens, estimated=completion.tokens_estimated)

        t1 = time.perf_counter()
        raw = strip_controls(completion.text)  # an endpoint's output must not drive the terminal
        # cut at llm.max_tokens, the last sentence is unfinished: it is not verified or shown
        complete = finished_sentences(raw) if completion.finish_reason == "length" else raw
        # a hedged answer does not also show claims no source supports ("Yes, there is ...")
        focused = frozenset(src.n for src in sources if src.hit.paper_id in focus)
        answer = self.verify(complete, sources, retrieved, Answer(**base, text="", tokens=tokens, raw_text=raw), drop_unsupported=hedge, focus=focused)
        confident = p is None or p >= max(threshold, a.extractive_above) or bool(focus) or names_top
        if answer.abstained and answer.abstain_reason in ("unsupported", "empty", "model") and confident:
            answer = self.extractive([s for s in sources if s.n in focused] or sources, retrieved, answer)
        elif a.require_top_source and answer.mode == "generated" and confident and not focus and not hedge and not asks_for_several(question):
            if hits[0].paper_id not in {r.paper_id for r in answer.references}:
                # a question about one paper, answered from another: the model copied the wrong source
                answer = self.extractive(sources, retrieved, answer, several=False)
        elif answer.mode == "generated" and not hedge and not focus and not names_top:
            # a follow-up about a cited paper, or a question naming one, is about that paper
            answer = cover_papers(answer, sources, self.settings)
        if not hedge:
            answer = lead_definition(answer, sources, self.settings, known=self.known_word)
            answer = add_supporting(answer, sources, self.settings, focused)
        if a.cover_phrases and not hedge and not focus and not names_top and is_bare_phrase(question) and not asks_for_several(question):
            # a bare phrase may ask for a topic: after the first paper's answer, the papers nearly as relevant
            answer = cover_papers(answer, sources, self.settings, several=True, min_dense_share=a.cover_phrases_dense_share)
        if hedge and not answer.abstained:
            answer.hedged, answer.text = True, hedged_text(answer.text, answer.references)
        timings.verification_s = time.perf_counter() - t1
        return _finish(answer, t0)

    def extractive(self, sources: list[Source], retrieved: list[RetrievedPaper], answer: Answer, *, several: bool | None = None) -> Answer:
        """See :func:`rag.verify.extractive`."""
        return extractive(sources, retrieved, answer, self.settings, several=several)

    def verify(
        self, raw: str, sources: list[Source], retrieved: list[RetrievedPaper], answer: Answer, *, drop_unsupported: bool = False,
        focus: frozenset[int] = frozenset(),
    ) -> Answer:
        """See :func:`rag.verify.verify`; ``drop_unsupported``: as with ``answer.unsupported = "drop"``."""
        settings = self.settings
        if drop_unsupported:
            settings = settings.model_copy(update={"answer": settings.answer.model_copy(update={"unsupported": "drop"})})
        return verify(raw, sources, retrieved, answer, judge=self.judge, settings=settings, focus=focus, known=self.known_word)

    def known_word(self, stem: str) -> bool:
        """Does some paper of the collection use this stemmed word? Then it is a word of its own,
        not a typo of another (rag/definitions.py)."""
        return self.retriever.index.paper_df(stem) > 0


def _join(names: Sequence[str]) -> str:
    """"A", "A or B", "A, B or C"."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


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


__all__ = [
    "ABSTAIN_TEXT", "HEDGE_TEXT", "hedge_free", "hedge_lead", "hedged_text", "UNSUPPORTED_NOTE", "Answer", "Answerer", "AnswerStream", "GenerationCancelled", "Reference", "RetrievedPaper",
    "SentenceSupport", "Source", "Timings", "Tokens", "aask", "ask", "ask_stream", "build_sources", "evidence_sources", "neutralize", "widen",
]
