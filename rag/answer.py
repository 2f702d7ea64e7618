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

from .abstention import AbstentionModel
from .abstention import features as abstention_features
from .chunking import sentence_spans, token_counter
from .citations import (
    MARKER,
    Decision,
    decide,
    finished_sentences,
    is_abstention,
    renumber,
    split_answer,
    strip_markers,
    with_markers,
)
from .corpus import clean_text, instruction_like, instruction_sentences, normalize_title, strip_controls
from .errors import RagError
from .evidence import EvidenceSelector, PaperEvidence, leans_on_previous
from .llm import LLM, GenerationCancelled, LLMUnavailable, Message, TokenCallback, make_llm
from .prompts import load_prompt
from .relevance import asks_for_paper, asks_for_several, judged_relevance, question_echo, sentence_relevance, titles_as_markers
from .retrieve import PaperHit, Retriever
from .settings import Settings, load_settings, resolve_path
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
    status: Literal["cited", "attributed", "unsupported", "abstention", "off_topic"] = Field(
        description="cited/attributed: shown with its citations; unsupported: no source backs it; abstention: the "
        "model said the sources do not answer; off_topic: supported but does not address the question (left out of the text)."
    )
    support: float
    relevance: float = Field(0.0, description="How much the sentence addresses the question (0..1, rag/relevance.py).")
    detail: bool = Field(
        False, description="Kept as a supporting detail: below the relevance threshold, but it follows an answering "
        "sentence from the same source(s) (answer.detail_relevance_threshold)."
    )
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
    draft: list[SentenceSupport] = Field(
        default_factory=list, description="mode extractive: the model's draft sentences as verified (none was shown)."
    )
    abstained: bool = False
    abstain_reason: Literal["retrieval", "model", "unsupported", "empty"] | None = None
    status: Literal["answered", "abstained", "retrieval_only"] = "answered"
    mode: Literal["generated", "extractive"] = Field(
        "generated",
        description="generated: the model's verified sentences. extractive: the model's draft failed verification "
        "while retrieval was confident, so the answer quotes the best evidence sentences, each cited.",
    )
    answerable: float | None = Field(None, description="The abstention model's probability that the collection answers the question.")
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
    evidence: PaperEvidence | None = None  # evidence-first prompts: the selected sentences and every scored one

    def prompt_text(self) -> str:
        body, last_end = [], None
        for start, end, text in self.chunks:
            if last_end is not None and start > last_end + 2:  # more than the space between two sentences
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


def evidence_sources(hits: list[PaperHit], evidence: list[PaperEvidence], settings: Settings) -> list[Source]:
    """Numbered sources made of each paper's evidence sentences, within the token budget."""
    count = token_counter(settings.chunking.encoding)
    sources: list[Source] = []
    budget = settings.answer.max_source_tokens
    for hit, ev in zip(hits, evidence):
        source = Source(n=len(sources) + 1, hit=hit, chunks=[(e.start, e.end, e.text) for e in ev.sentences], evidence=ev)
        cost = count(source.prompt_text())
        if sources and cost > budget:
            break
        while cost > budget and len(source.chunks) > 1:
            source.chunks.pop()
            cost = count(source.prompt_text())
        sources.append(source)
        budget -= cost
    return sources


def normalize_copied_headers(raw: str, sources: list[Source]) -> str:
    """Small models often answer by echoing source titles: a header ("[2] Title" on its own
    line), or titles run together with no marker, which for "which paper..." questions is
    the answer. Each echoed title becomes a sentence naming the paper, cited with its
    number; a title used inside a sentence gets its marker after it."""
    titles = [(s.n, neutralize(s.hit.title)) for s in sources]
    for n, title in titles:
        sentence = f"{title} [{n}].\n"
        raw = re.sub(rf"\[\d+\]\s*{re.escape(title)}\s*(?:\n|$)", lambda _m, line=sentence: line, raw)
    any_title = "|".join(re.escape(t) for _, t in titles)
    for n, title in titles:
        # a bare title followed by another title or the end: a sentence of its own
        raw = re.sub(rf"{re.escape(title)}(?!\s*\[)\s*(?=(?:{any_title})|$)", f"{title} [{n}].\n", raw)
        # a title inside a sentence without its marker: cite it there
        raw = re.sub(rf"{re.escape(title)}(?!\s*\[)(?!\s*\.?\n)", f"{title} [{n}]", raw)
    return name_marker_references(raw, dict(titles))


_MARKER_AS_NOUN = re.compile(
    r"\b(?:(?:the|this)\s+(?:paper|work|method|approach|framework|study|model|system|technique)\s+(?:(?:proposed|presented|introduced|described)\s+)?(?:in\s+)?"
    r"|(?:proposed|presented|introduced|described)\s+in\s+|is\s+)\[(\d+)\](?!\s*\[)",
    re.I,
)


def name_marker_references(raw: str, titles: dict[int, str]) -> str:
    """"The paper [1] trains ..." / "... is [2]." -> the source's title with its marker, so
    a sentence that answers "which paper" names the paper instead of pointing at a number."""

    def sub(m: re.Match) -> str:
        n = int(m.group(1))
        if n not in titles:
            return m.group(0)
        lead = m.group(0)[: m.start(1) - 1 - m.start(0)]
        keep = "is " if lead.lower().startswith("is") else ("in " if lead.lower().rstrip().endswith(" in") and not lead.lower().startswith(("the", "this")) else "")
        prefix = lead[: -len("in ")] + "in " if keep == "in " else ("is " if keep == "is " else "")
        return f"{prefix}{titles[n]} [{n}]"

    return _MARKER_AS_NOUN.sub(sub, raw)


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
            self._selector = EvidenceSelector(
                self.retriever.embedder, self.retriever.index.bm25.idf, a.evidence_sentences, first_paper=a.evidence_first,
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
        return [Message("system", system), Message("user", user)]

    def evidence(self, question: str, hits: list[PaperHit]) -> list[PaperEvidence]:
        """Scored evidence sentences of the first ``answer.max_sources`` papers."""
        papers = [(h.paper_id, h.title, self.retriever.paper(h.paper_id).abstract) for h in hits[: self.settings.answer.max_sources]]
        return self.selector.select(question, papers)

    def answerability(self, question: str, hits: list[PaperHit], evidence: list[PaperEvidence]) -> tuple[float | None, dict[str, float]]:
        """The abstention model's probability that the collection answers, and its features."""
        index = self.retriever.index
        values = abstention_features(question, [h.dense for h in hits], evidence, index.bm25.idf, index.paper_df)
        model = self.abstention
        return (None if model is None else model.probability(values)), values

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
        evidence = self.evidence(question, hits)
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
        answer = self.verify(complete, sources, retrieved, Answer(**base, text="", tokens=tokens, raw_text=raw))
        confident = p is None or p >= max(threshold, a.extractive_above) or bool(focus) or names_top
        if answer.abstained and answer.abstain_reason in ("unsupported", "empty", "model") and confident:
            answer = self.extractive(sources, retrieved, answer)
        timings.verification_s = time.perf_counter() - t1
        return _finish(answer, t0)

    def extractive(self, sources: list[Source], retrieved: list[RetrievedPaper], answer: Answer) -> Answer:
        """Answer from the evidence, each sentence quoted and cited. A question about several
        papers ("Which papers ...", comparisons) gets the best evidence sentence of the best
        source and of the next ones that are nearly as relevant; any other question is about
        one paper, the one retrieval ranks first, and gets its best evidence sentences."""
        a = self.settings.answer
        ranked = [(s, s.evidence.best) for s in sources if s.evidence is not None and s.evidence.best is not None]
        if not ranked:
            return answer
        if asks_for_several(answer.question):
            top = max(ev.score for _, ev in ranked)
            chosen = [(s, ev) for s, ev in ranked if ev.score >= top * a.extractive_margin][: a.extractive_sentences]
        else:
            first = ranked[0][0]
            best = sorted(first.evidence.sentences, key=lambda ev: -ev.score)[: a.extractive_sentences]
            chosen = [(first, ev) for ev in sorted(best, key=lambda ev: ev.start)]  # in abstract order
        answer.abstained, answer.abstain_reason, answer.status, answer.mode = False, None, "answered", "extractive"
        answer.sentences, answer.references = [], []
        parts = []
        numbers: dict[str, int] = {}
        for src, ev in chosen:
            n = numbers.setdefault(src.hit.paper_id, len(numbers) + 1)
            parts.append(with_markers(ev.text, [n]))
            answer.sentences.append(SentenceSupport(text=ev.text, citations=[n], status="cited", support=1.0, relevance=ev.score))
            if n > len(answer.references):
                answer.references.append(Reference(n=n, paper_id=src.hit.paper_id, title=src.hit.title, sentence=ev.text, start=ev.start, end=ev.end, support=1.0))
        answer.text = " ".join(parts)
        cited = {r.paper_id: r.n for r in answer.references}
        for r in retrieved:
            r.cited_as = cited.get(r.paper_id)
        answer.retrieved = retrieved
        return answer

    def verify(self, raw: str, sources: list[Source], retrieved: list[RetrievedPaper], answer: Answer) -> Answer:
        a = self.settings.answer
        sentences = split_answer(normalize_copied_headers(raw, sources))
        answer.retrieved = retrieved
        if not sentences:
            return _abstain(answer, "empty")
        evidence = [without_instructions(_verification_evidence(s)) for s in sources]
        titles = {normalize_title(s.hit.title): s.n for s in sources}
        named_sources = {titles[k] for k in (normalize_title(s.text) for s in sentences) if k in titles}
        # what each sentence claims beyond saying the question back ("" = it only points at sources)
        claims, pointed = [], []
        for s in sentences:
            marked, named_in = titles_as_markers(s.text, [(src.n, src.hit.title) for src in sources])
            rest = question_echo(marked, answer.question)
            claims.append(strip_markers(rest)[0] if rest else s.text)
            pointed.append([] if rest else named_in)  # named in the text, not only cited after it
        echoed = [i for i, s in enumerate(sentences) if claims[i] != s.text]
        rows = claims + [sentences[i].text for i in echoed] + [answer.question]
        question_row = len(rows) - 1  # the question is scored last, in the same pass
        scored = self.judge.score(rows, evidence)
        scores = scored[: len(claims)]
        for k, i in enumerate(echoed):
            # the echoed question is the sentence's premise only where the source is about the
            # question; against any other source the whole sentence is judged, premise included
            whole = scored[len(claims) + k]
            scores[i] = [rest if scored[question_row][j].score >= a.title_relevance_threshold else whole[j] for j, rest in enumerate(scores[i])]
        # A sentence that only names a paper answers "which paper...?" questions, but only if
        # that paper is about what the question asks: the question must be supported by it.
        relevant = {n for n in named_sources if scored[question_row][n - 1].score >= a.title_relevance_threshold}
        paper_question = asks_for_paper(answer.question)
        source_titles = [src.hit.title for src in sources]
        rel_inputs = self.judge.relevance_inputs([s.text for s in sentences], answer.question)
        decisions, rels = [], []
        for i, s in enumerate(sentences):
            named = titles.get(normalize_title(s.text))
            if named in relevant:  # the sentence is a relevant paper's title: supported by that paper
                scores[i][named - 1] = Support(1.0, TITLE_SENTENCE)
                decisions.append(Decision("cited", [named], [n for n in s.cited if not 1 <= n <= len(sources)], [], 1.0))
                rels.append(sentence_relevance(0.0, 0.0, 0.0, is_title=True, paper_question=paper_question))
                continue
            # "The detector that ... is presented in <title>": the question, answered by naming
            # a source; accepted like a title when that source supports the question itself
            about = [n for n in pointed[i] if 1 <= n <= len(sources) and scored[question_row][n - 1].score >= a.title_relevance_threshold]
            if about:
                for n in about:
                    scores[i][n - 1] = scored[question_row][n - 1]  # the reference quotes what matches the question
                decisions.append(Decision("cited", about, [n for n in s.cited if not 1 <= n <= len(sources)], [], max(scores[i][n - 1].score for n in about)))
                rels.append(1.0)
                continue
            d = decide(
                s.cited,
                [sup.score for sup in scores[i]],
                support_threshold=a.support_threshold,
                attribution_threshold=a.attribution_threshold,
                abstention=is_abstention(s.text),
            )
            decisions.append(d)
            src_rel = max((_source_relevance(sources[n - 1], evidence[n - 1], scores[i][n - 1].sentence) for n in d.sources), default=0.0)
            cos_q, cov = rel_inputs[i]
            rels.append(
                judged_relevance(
                    s.text, answer.question, cosine=cos_q, coverage=cov, source_relevance=src_rel, titles=source_titles, bare_title=False,
                    restates=claims[i] != s.text,
                )
            )
        supported = [i for i, d in enumerate(decisions) if d.status in ("cited", "attributed")]
        answering_rows = {i for i in supported if rels[i] >= a.relevance_threshold}
        if not answering_rows and sources:
            # nothing addresses the question outright: the most relevant supported sentence
            # from the paper retrieval ranks first answers it, if it is relevant enough for a detail
            top = [i for i in supported if decisions[i].sources == [1] and rels[i] >= a.detail_relevance_threshold]
            answering_rows = {max(top, key=lambda i: rels[i])} if top else set()
        answering = {n for i in answering_rows for n in decisions[i].sources}  # sources that address the question
        details: set[int] = set()
        kept: set[int] = set(answering_rows)
        for i in supported:
            d = decisions[i]
            if i in answering_rows:
                continue
            # "It uses ...", "This method ...": goes on about the source of the sentence kept before it
            continues = i - 1 in kept and decisions[i - 1].sources == d.sources and leans_on_previous(sentences[i].text)
            if d.sources and set(d.sources) <= answering and (rels[i] >= a.detail_relevance_threshold or continues):
                details.add(i)  # a supporting detail of an answer given from these sources
                kept.add(i)
            else:
                decisions[i] = Decision("off_topic", [], d.invalid, d.sources + d.dropped, d.support)
        checked = [
            SentenceSupport(text=s.text, citations=d.sources, status=d.status, support=d.support, relevance=rels[i],
                            detail=i in details, invalid_citations=d.invalid, dropped_citations=d.dropped)
            for i, (s, d) in enumerate(zip(sentences, decisions))
        ]  # numbers as prompted (sources); renumbered below when the answer is shown
        if all(d.status == "abstention" for d in decisions):
            return _abstain(answer, "model", checked)
        if not any(d.status in ("cited", "attributed") for d in decisions):
            return _abstain(answer, "unsupported", checked)

        mapping = renumber([d.sources for d in decisions])
        parts: list[str] = []
        best: dict[int, tuple[tuple[bool, float], int, int]] = {}  # source n -> ((answering, support), sentence idx, evidence idx)
        for i, (s, d) in enumerate(zip(sentences, decisions)):
            numbers = [mapping[n] for n in d.sources]
            answer.sentences.append(checked[i].model_copy(update={"citations": numbers}))
            if d.status == "off_topic":
                continue
            if d.status == "unsupported":
                if a.unsupported == "mark":
                    parts.append(f"{s.text} {UNSUPPORTED_NOTE}")
                continue
            parts.append(with_markers(s.text, numbers))
            for n in d.sources:  # the reference quotes what backs its best answering (not detail) sentence
                sup = scores[i][n - 1]
                rank = (i not in details, sup.score)
                if n not in best or rank > best[n][0]:
                    best[n] = (rank, i, sup.sentence)
        answer.text = " ".join(parts)
        for old, new in sorted(mapping.items(), key=lambda kv: kv[1]):
            src = sources[old - 1]
            (_, score), _, k = best[old]
            if k == TITLE_SENTENCE:  # cited for its title: show the sentence retrieval matched
                start, end, sentence = src.hit.sentence_start, src.hit.sentence_end, src.hit.sentence
            else:
                start, end, sentence = evidence[old - 1].sentences[k]
            answer.references.append(
                Reference(n=new, paper_id=src.hit.paper_id, title=src.hit.title, sentence=sentence, start=start, end=end, support=score)
            )
        cited = {src.hit.paper_id: mapping[src.n] for src in sources if src.n in mapping}
        for r in answer.retrieved:
            r.cited_as = cited.get(r.paper_id)
        return answer


TITLE_SENTENCE = -1  # Support.sentence of a sentence accepted because it is a source's title


def _verification_evidence(source: Source) -> Evidence:
    """What a source's citations are checked against: the whole abstract when it is known
    (evidence-first prompts), else the chunks the prompt showed."""
    if source.evidence is not None:
        return Evidence.from_chunks([(0, len(source.evidence.abstract), source.evidence.abstract)])
    return Evidence.from_chunks(source.chunks)


def _source_relevance(source: Source, evidence: Evidence, k: int) -> float:
    """Relevance to the question of evidence sentence ``k`` of a source (0 when unknown)."""
    if source.evidence is None or not 0 <= k < len(evidence.sentences):
        return 0.0
    start = evidence.sentences[k][0]
    return next((s.score for s in source.evidence.all_sentences if s.start == start), 0.0)


def _abstain(answer: Answer, reason: str, checked: list[SentenceSupport] | None = None) -> Answer:
    """Mark ``answer`` abstained; ``checked``: the verified draft sentences, kept in ``draft``."""
    answer.mode = "generated"
    answer.text, answer.abstained, answer.abstain_reason, answer.status = ABSTAIN_TEXT, True, reason, "abstained"
    answer.references, answer.sentences, answer.draft = [], [], checked or []
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
