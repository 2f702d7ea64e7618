"""Verification: every answer sentence checked against the sources before it is shown.

Each sentence is scored against the sentences (and windows of adjacent sentences) of every
source (rag/support.py). Citations that point at no given source are removed; cited
sources that do not support the sentence are dropped; a sentence with no remaining citation
is attributed to its best-supporting source when that support is strong enough, and is
otherwise marked (or dropped) as unsupported, never shown as a cited fact. A supported
sentence must also address the question (rag/relevance.py) or be a supporting detail of a
sentence that does; a sentence that says the question back is judged on what it adds; a
sentence that repeats an earlier shown one is left out (status repeated). When the question is
about given papers (``focus``: a chat follow-up on earlier references), a sentence backed
only by other sources is left out (status off_topic).
Citations are renumbered 1..n in order of first use and each reference carries the source
sentence that supports it, with its offsets in the abstract. ``extractive`` is the
fallback that quotes the evidence when the model's text fails verification.

Sources are numbered 1..n in prompt order (rag/sources.py) and are looked up by that number,
the one citations use: ``by_number``, and ``evidence`` and every row of scores are keyed by
it too (``FIRST_SOURCE`` is the source retrieval ranks first). The judge scores all rows in
one pass: the sentences' claims, then the echoing sentences whole, then the question, last
(``question_row``). ``TITLE_SENTENCE`` marks a support that is a source's title rather than
one of its sentences.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

from .citations import Decision, decide, is_abstention, renumber, split_answer, strip_markers, with_markers
from .corpus import normalize_title
from .definitions import (
    asked_definition,
    checked_words,
    defined_name,
    is_plural,
    is_term,
    mentions,
    none_known,
    respelled,
    source_defines,
)
from .evidence import EvidenceSentence, leans_on_previous, points_at_previous, points_back, roles
from .figures import Figure, asked_figure, gives_figure
from .lexical import stopwords, tokenize
from .query import request_core
from .relevance import (
    adds_nothing,
    asks_for_paper,
    asks_for_several,
    judged_relevance,
    question_echo,
    sentence_relevance,
    titles_as_markers,
)
from .schema import ABSTAIN_TEXT, UNSUPPORTED_NOTE, Answer, Quote, Reference, RetrievedPaper, SentenceSupport
from .settings import Settings
from .sources import Source, normalize_copied_headers, without_instructions
from .support import NO_SENTENCE, Evidence, Support, SupportJudge, numbers_agree
from .text import neutralize, third_person, without_lead_in


def extractive(
    sources: list[Source], retrieved: list[RetrievedPaper], answer: Answer, settings: Settings, *, several: bool | None = None
) -> Answer:
    """Answer from the evidence, each sentence quoted and cited. A question about several
    papers ("Which papers ...", comparisons; or ``several=True``) gets the best evidence
    sentence of the best source and of the next ones that are nearly as relevant; any other
    question is about one paper, the one retrieval ranks first, and gets its best evidence
    sentences (one of them the sentence that states the figure the question asks for, when
    there is one)."""
    a = settings.answer
    ranked = _best_evidence(sources)
    if not ranked:
        return answer
    if asks_for_several(answer.question) if several is None else several:
        chosen = _nearly_as_relevant(ranked, a.extractive_margin)[: a.extractive_sentences]
    else:
        first, _ = ranked[0]
        term = asked_definition(answer.question)
        defining = _defining(ranked, term) if term else None
        if defining is not None:
            # "what is lora": the source that says what LoRA is, not the first one that mentions it
            first = defining[0]
        by_score = sorted(first.evidence.sentences, key=lambda ev: -ev.score)
        # after the best sentence, only ones that answer on their own: a background sentence or
        # a dangling "To address this issue, ..." was the worse third quote in the labels
        answering = set(_answering(first.evidence.sentences))
        top = next((ev for ev in by_score if not points_back(ev.text)), by_score[0])  # ranked sources have evidence
        best = [top, *(ev for ev in by_score if ev in answering and ev is not top)][: a.extractive_sentences]
        lead = _first_contribution(first.evidence.all_sentences) if a.extractive_lead == "contribution" else None
        if defining is not None:
            lead = defining[1]
        if lead is not None and lead not in best:
            # the sentence that says what the paper does answers "how"/"what"; the best-scoring
            # sentences alone often share the question's words without saying it
            best = [lead, *best[: a.extractive_sentences - 1]]
        figure = asked_figure(answer.question) if a.figure_papers else None
        if figure is not None and not any(gives_figure(ev.text, figure) for ev in best):
            # the question asks for a number: quote the evidence sentence that states it
            stating = [ev for ev in first.evidence.sentences if gives_figure(ev.text, figure)]
            if stating:
                best = [*best[: a.extractive_sentences - 1], max(stating, key=lambda ev: ev.score)]
        chosen = [(first, ev) for ev in sorted(best, key=lambda ev: ev.start)]  # in abstract order
    answer.abstained, answer.abstain_reason, answer.status, answer.mode = False, None, "answered", "extractive"
    answer.sentences, answer.references = [], []
    parts = []
    numbers: dict[str, int] = {}
    for src, ev in chosen:
        n = numbers.setdefault(src.hit.paper_id, len(numbers) + 1)
        text = _voice(ev.text, a.third_person)
        parts.append(with_markers(text, [n]))
        _add_quoted(answer, src, ev, n, text)
    answer.text = " ".join(parts)
    answer.retrieved = retrieved
    _mark_cited(answer)
    return answer


def _defining(
    ranked: list[tuple[Source, EvidenceSentence]], term: str, *, strict: bool | None = None
) -> tuple[Source, EvidenceSentence] | None:
    """The first source, in ``ranked`` order, that defines ``term`` (rag/definitions.py), and
    its sentence that does (its first sentence when its title opens with the term). ``strict``
    None: a source that says what the term is wins over one whose sentence only opens with it."""
    if strict is None:
        return _defining(ranked, term, strict=True) or _defining(ranked, term, strict=False)
    for src, _ in ranked:
        if src.evidence is None:
            continue
        for ev in src.evidence.all_sentences:
            if source_defines(term, ev.text, "", strict=strict):
                return src, ev
        if source_defines(term, "", src.hit.title) and src.evidence.all_sentences:
            return src, _first_contribution(src.evidence.all_sentences) or src.evidence.all_sentences[0]
    return None


def lead_definition(answer: Answer, sources: list[Source], settings: Settings, known: Callable[[str], bool] = none_known) -> Answer:
    """A "what is X" answer (rag/definitions.py ``asked_definition``) whose shown sentences do not
    say what X is, while a source it cites does ("Contrastive Language-Image Pre-training
    (CLIP) stands as one of the most effective ... methods"), opens with that sentence, quoted
    and cited. Without it, "what is CLIP" was answered with what LaCLIP changes about CLIP."""
    term = asked_definition(answer.question)
    if term is None or answer.abstained or not answer.references:
        return answer
    # "compositonal zero shot learning": the term as the abstracts spell it
    fixed = respelled(term, [f"{s.hit.title} {s.evidence.abstract}" for s in sources if s.evidence is not None], known)
    question = answer.question.replace(term, fixed, 1)
    term = fixed
    shown = [s for s in answer.sentences if s.status in ("cited", "attributed")]
    if any(defined_name(s.text, question) or defined_name(s.text, answer.question) for s in shown):
        return answer  # verification let it through only when a source defines the name
    cited = {r.paper_id: r.n for r in answer.references}
    ranked = _best_evidence(sources)
    found = _defining([(s, ev) for s, ev in ranked if s.hit.paper_id in cited], term, strict=True)
    note, new_reference = "", False
    if found is None:
        # a source the answer does not cite says it: it becomes reference [1], the others move up
        found = _defining(ranked, term, strict=True)
        new_reference = found is not None
    if found is None:
        # no abstract found says what the term is: say so, then what the first cited paper does
        first = next((s for s in sources if s.hit.paper_id in cited and s.evidence is not None), None)
        contribution = _first_contribution(first.evidence.all_sentences) if first is not None and first.evidence else None
        if first is None or contribution is None:
            return answer
        plural = re.match(r"\W*what\s+are\b", request_core(answer.question), re.I) is not None or is_plural(term)
        found, note = (first, contribution), undefined_note(term, plural=plural)
    src, ev = found
    if new_reference:
        _shift_references(answer, 1)
        n = 1
    else:
        n = cited[src.hit.paper_id]
        ref = next(r for r in answer.references if r.n == n)
        if any((q.start, q.end) == (ev.start, ev.end) for q in ref.quotes):  # already said
            answer.text = " ".join(p for p in (note, answer.text) if p)
            return answer
    text = _voice(ev.text, settings.answer.third_person)
    if note:
        text = name_paper(src.hit.title, text)
    _add_quoted(answer, src, ev, n, text)
    answer.references.sort(key=lambda r: r.n)
    answer.sentences.insert(0, answer.sentences.pop())
    answer.text = " ".join(p for p in (note, with_markers(text, [n]), answer.text) if p)
    _mark_cited(answer)
    return answer


def _shift_references(answer: Answer, by: int) -> None:
    """Add ``by`` to every reference number, in the text's markers, the sentences' citations
    and the references, in place."""
    answer.text = re.sub(r"\[(\d+)\]", lambda m: f"[{int(m.group(1)) + by}]", answer.text)
    for s in answer.sentences:
        s.citations = [n + by for n in s.citations]
    for r in answer.references:
        r.n += by


def undefined_note(term: str, *, plural: bool = False) -> str:
    """What a "what is X" answer says first when no abstract found says what X is (are)."""
    return f"None of the abstracts found says what {term} {'are' if plural else 'is'}."


def _best_evidence(sources: list[Source]) -> list[tuple[Source, EvidenceSentence]]:
    """Each source with selected evidence and its best evidence sentence, in source order."""
    return [(s, s.evidence.best) for s in sources if s.evidence is not None and s.evidence.best is not None]


def _nearly_as_relevant(ranked: list[tuple[Source, EvidenceSentence]], margin: float) -> list[tuple[Source, EvidenceSentence]]:
    """The sources whose best evidence scores at least ``margin`` of the best source's."""
    top = max((ev.score for _, ev in ranked), default=0.0)
    return [(s, ev) for s, ev in ranked if ev.score >= top * margin]


def _add_quoted(answer: Answer, src: Source, ev: EvidenceSentence, n: int, text: str) -> None:
    """Add the sentence ``text`` (``ev`` as shown) citing ``src`` as reference ``n``: the
    reference quotes ``ev``, the first such sentence as its ``sentence``."""
    answer.sentences.append(SentenceSupport(text=text, citations=[n], status="cited", support=1.0, relevance=ev.score))
    quote = Quote(start=ev.start, end=ev.end, text=ev.text)
    ref = next((r for r in answer.references if r.n == n), None)
    if ref is None:
        answer.references.append(
            Reference(n=n, paper_id=src.hit.paper_id, title=src.hit.title, sentence=ev.text, start=ev.start, end=ev.end, support=1.0, quotes=[quote])
        )
    elif quote not in ref.quotes:
        ref.quotes = sorted([*ref.quotes, quote], key=lambda q: q.start)


def _append_quoted(answer: Answer, src: Source, ev: EvidenceSentence, n: int, text: str) -> None:
    """Append ``text`` (``ev`` as shown), cited as [n], to the answer's text; see :func:`_add_quoted`."""
    answer.text = f"{answer.text} {with_markers(text, [n])}".strip()
    _add_quoted(answer, src, ev, n, text)


def _voice(text: str, third: bool) -> str:
    """An abstract's sentence as an answer says it: without an opening that points back at the
    sentences before it ("To address this, we ..." -> "We ..."), in the third person
    (answer.third_person: "we" -> "the authors"), and with citation-like markers of the source
    as parentheses ("[7]" -> "(7)"), so every [n] in an answer is one of its references."""
    text = neutralize(without_lead_in(text))
    return third_person(text) if third else text


def _mark_cited(answer: Answer) -> None:
    """Each retrieved paper's ``cited_as``: its reference number, or None."""
    numbers = {r.paper_id: r.n for r in answer.references}
    for r in answer.retrieved:
        r.cited_as = numbers.get(r.paper_id)

def name_paper(title: str, sentence: str) -> str:
    """``sentence`` of the paper ``title``, opened with the paper's name so that it reads on its
    own among sentences about other papers: 'In “Title”, the authors propose …'. The sentence's
    first word is lowercased when it is a common word, or when it is capitalised only (no capitals
    inside, "GNNPipe") and not a word of the title (a name: "Monolith"). "This paper is ..."
    becomes '“Title” is ...'."""
    this = re.match(r"(?:this|the)\s+(?:paper|work|study|article)\s+(?=(?:is|was|\w+s)\b)(?!(?:of|as|has)\b)", sentence, re.I)
    if this:  # "This paper is the first study ..." -> '“Title” is the first study ...'
        return f"“{title}” {sentence[this.end():]}".rstrip()
    first, _, rest = sentence.partition(" ")
    title_words = {w.strip(":,.()").lower() for w in title.split()}
    if first[1:].islower() and (first.lower() in stopwords() or first.lower() not in title_words):
        first = first.lower()
    return f"In “{title}”, {first} {rest}".rstrip()


def cover_papers(
    answer: Answer, sources: list[Source], settings: Settings, *, several: bool | None = None, min_dense_share: float = 0.0
) -> Answer:
    """A question about several papers (``several``; None: :func:`asks_for_several`) whose
    answer cites fewer than ``answer.cover_papers`` of them: each further source whose best
    evidence is nearly as relevant as the best source's (``answer.extractive_margin``), and
    whose dense cosine to the question is at least ``min_dense_share`` of the first source's,
    adds that sentence, naming the paper, quoted and cited. The 0.5B model tends to describe
    the first source at length and stop there."""
    a = settings.answer
    if a.cover_papers <= 1 or answer.abstained or not (asks_for_several(answer.question) if several is None else several):
        return answer
    cited = {r.paper_id for r in answer.references}
    first_dense = sources[0].hit.dense if sources and sources[0].hit.dense is not None else 0.0
    for src, ev in _nearly_as_relevant(_best_evidence(sources), a.extractive_margin):
        if len(cited) >= a.cover_papers:
            break
        if src.hit.paper_id in cited or (src.hit.dense or 0.0) < min_dense_share * first_dense:
            continue
        _append_quoted(answer, src, ev, len(answer.references) + 1, name_paper(src.hit.title, _voice(ev.text, a.third_person)))
        cited.add(src.hit.paper_id)
    _mark_cited(answer)
    return answer


SUPPORTING_OVERLAP = 0.7  # share of an evidence sentence's content words found in one answer sentence: it restates it
LONG_ANSWER = 4  # shown sentences from which an answer gets no supporting sentence


def add_supporting(answer: Answer, sources: list[Source], settings: Settings, focus: frozenset[int] = frozenset()) -> Answer:
    """A generated answer to a question that does not ask for several papers also quotes the
    best evidence sentences of one paper it cites that it does not already state (at most
    ``answer.supporting_sentences``), cited and marked ``detail``: the 0.5B model tends to
    state the paper's result and skip its method, or the other way round. The paper is the
    best-ranked source the answer cites (among the ``focus`` sources, when given); a
    sentence already quoted for the answer or restating one of its sentences (:func:`restates`),
    background, a release announcement or a fragment (:func:`_answering`) is skipped; an answer of ``LONG_ANSWER`` shown sentences
    gets none (no key-fact recall was lost by this cap on users, users3, paraphrase_test).
    Questions about several papers are left to :func:`cover_papers`."""
    a = settings.answer
    if a.supporting_sentences == 0 or answer.abstained or answer.mode != "generated" or asks_for_several(answer.question):
        return answer
    cited = {r.paper_id: r for r in answer.references}
    src = next(
        (s for s in sources if s.hit.paper_id in cited and s.evidence is not None and (not focus or s.n in focus)), None
    )
    if src is None or src.evidence is None:
        return answer
    ref = cited[src.hit.paper_id]
    quoted = {(q.start, q.end) for q in ref.quotes}
    said = [s.text for s in answer.sentences]
    shown = sum(s.status in ("cited", "attributed") for s in answer.sentences)
    added = 0
    for ev in sorted(_answering(src.evidence.sentences), key=lambda ev: (-ev.score, ev.start)):
        if added >= a.supporting_sentences or shown + added >= LONG_ANSWER:
            break
        text = _voice(ev.text, a.third_person)
        if (ev.start, ev.end) in quoted or restates(text, said, SUPPORTING_OVERLAP):
            continue
        _append_quoted(answer, src, ev, ref.n, text)
        answer.sentences[-1].detail = True  # not the model's answer: key_fact_recall_core leaves it out
        said.append(text)
        added += 1
    return answer


def _answering(chosen: tuple[EvidenceSentence, ...]) -> list[EvidenceSentence]:
    """The ``chosen`` evidence sentences that can answer on their own: not background, not a
    release announcement (their ``role``, set by evidence selection over the whole abstract),
    not leaning on the sentence before it ("This reduces ...", "However, ...") or pointing back
    at a problem it stated ("..., we aim to address this bottleneck by ..."), and not a
    fragment left by sentence splitting (one that opens with a lowercase letter, a digit or
    punctuation: '38.9%) for zero-shot ...')."""
    return [
        ev for ev in chosen
        if ev.role in ("contribution", "body") and ev.text[:1].isupper() and not leans_on_previous(without_lead_in(ev.text))
        and not points_back(ev.text)
    ]


def verify(
    raw: str, sources: list[Source], retrieved: list[RetrievedPaper], answer: Answer, *, judge: SupportJudge, settings: Settings,
    focus: frozenset[int] = frozenset(), known: Callable[[str], bool] = none_known,
) -> Answer:
    """Check every sentence of the model's text ``raw`` against ``sources`` and fill ``answer``
    (see the module docstring); an answer with nothing left to show is abstained. ``focus``:
    numbers of the sources the question is about; empty = any source may answer. ``known``:
    does the collection use this stemmed word (then it is no typo; rag/definitions.py)."""
    a = settings.answer
    sentences = split_answer(normalize_copied_headers(raw, sources), [neutralize(s.hit.title) for s in sources])
    answer.retrieved = retrieved
    if not sentences:
        return _abstain(answer, "empty")
    by_number = {s.n: s for s in sources}
    evidence = {s.n: without_instructions(_verification_evidence(s)) for s in sources}
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
    # scored[row][n]: support of row by source n (the judge gives each row in source order)
    scored = [dict(zip(evidence, row)) for row in judge.score(rows, list(evidence.values()))]
    scores = scored[: len(claims)]
    question_support = scored[question_row]
    for i, whole in zip(echoed, scored[len(claims) : question_row]):
        # the echoed question is the sentence's premise only where the source is about the
        # question; against any other source the whole sentence is judged, premise included
        scores[i] = {n: rest if question_support[n].score >= a.title_relevance_threshold else whole[n] for n, rest in scores[i].items()}
    term = asked_definition(answer.question)
    for i, s in enumerate(sentences):
        _require_definition(s.text, answer.question, scores[i], by_number, evidence)
        if term is not None:
            _require_term(s.text, term, scores[i], by_number, evidence, known)
    # A sentence that only names a paper answers "which paper...?" questions, but only if
    # that paper is about what the question asks: the question must be supported by it.
    relevant = {n for n in named_sources if question_support[n].score >= a.title_relevance_threshold}
    paper_question = asks_for_paper(answer.question)
    figure = asked_figure(answer.question) if a.figure_papers else None
    source_titles = [src.hit.title for src in sources]
    rel_inputs = judge.relevance_inputs([s.text for s in sentences], answer.question)
    decisions, rels = [], []
    naming: set[int] = set()  # rows accepted because they name a relevant source, saying nothing else
    for i, s in enumerate(sentences):
        named = titles.get(normalize_title(s.text))
        invalid = [n for n in s.cited if n not in by_number]  # cited numbers that are not a given source
        if named in relevant:  # the sentence is a relevant paper's title: supported by that paper
            naming.add(i)
            scores[i][named] = Support(1.0, TITLE_SENTENCE)
            decisions.append(Decision("cited", [named], invalid, [], 1.0))
            rels.append(sentence_relevance(0.0, 0.0, 0.0, is_title=True, paper_question=paper_question))
            continue
        if named is not None:
            # the bare title of a source that is not about the question ("CorDA: Context-Oriented
            # Decomposition Adaptation ..." for a speech question): it answers nothing, however
            # well its own paper "supports" it
            decisions.append(Decision("off_topic", [], invalid, [named], 0.0))
            rels.append(0.0)
            continue
        # "The detector that ... is presented in <title>": the question, answered by naming
        # a source; accepted like a title when that source supports the question itself
        about = [n for n in pointed[i] if n in by_number and question_support[n].score >= a.title_relevance_threshold]
        if about:
            naming.add(i)
            for n in about:
                scores[i][n] = question_support[n]  # the reference quotes what matches the question
            decisions.append(Decision("cited", about, invalid, [], max(scores[i][n].score for n in about)))
            rels.append(1.0)
            continue
        d = decide(
            s.cited,
            [sup.score for sup in scores[i].values()],  # in source order: decide reads source n at n - 1
            support_threshold=a.support_threshold,
            attribution_threshold=a.attribution_threshold,
            abstention=is_abstention(s.text),
        )
        stated = _states_asked_figure(s.text, figure, evidence, question_support, a.title_relevance_threshold) if d.status == "unsupported" else None
        if stated is not None:
            # "The method ... uses 86% less memory than CoTTA.": the question said back plus the
            # figure it asks for, which a sentence of a source about the question states
            n, k = stated
            scores[i][n] = Support(max(scores[i][n].score, a.attribution_threshold), k)
            decisions.append(Decision("attributed", [n], d.invalid, [], scores[i][n].score))
            rels.append(1.0)  # the asked figure answers the question, whatever else it says back
            continue
        if not paper_question and adds_nothing(s.text, answer.question):
            # "ProxylessNAS CIFAR-10 error and parameter count are [1].": the question said back
            # with a citation; its support is the question's, and it answers nothing
            decisions.append(Decision("off_topic", [], d.invalid, d.sources + d.dropped, d.support))
            rels.append(0.0)
            continue
        other = opens_with_other_title(s.text, titles, d.sources)
        if other is not None and d.status in ("cited", "attributed"):
            # "Yi: Open Foundation Models by 01.AI proposes GSPO [3]": what [3] says, told of another paper
            decisions.append(Decision("unsupported", [], d.invalid, d.sources + d.dropped, d.support))
            rels.append(0.0)
            continue
        decisions.append(d)
        src_rel = max((_source_relevance(by_number[n], evidence[n], scores[i][n].sentence) for n in d.sources), default=0.0)
        cos_q, cov = rel_inputs[i]
        rels.append(
            judged_relevance(
                s.text, answer.question, cosine=cos_q, coverage=cov, source_relevance=src_rel, titles=source_titles, bare_title=False,
                restates=claims[i] != s.text,
            )
        )
    supported = [i for i, d in enumerate(decisions) if d.status in ("cited", "attributed")]
    if focus:
        # "what does the first one compare against?": another paper's sentence does not answer it
        for i in supported:
            d = decisions[i]
            if not set(d.sources) & focus:
                decisions[i] = Decision("off_topic", [], d.invalid, d.sources + d.dropped, d.support)
        supported = [i for i in supported if decisions[i].status != "off_topic"]
    answering_rows = {i for i in supported if rels[i] >= a.relevance_threshold}
    if not answering_rows and sources:
        # nothing addresses the question outright: the most relevant supported sentence
        # from the paper retrieval ranks first answers it, if it is relevant enough for a detail
        top = [i for i in supported if decisions[i].sources == [FIRST_SOURCE] and rels[i] >= a.detail_relevance_threshold]
        answering_rows = {max(top, key=lambda i: rels[i])} if top else set()
    answering = {n for i in answering_rows for n in decisions[i].sources}  # sources that address the question
    source_roles = {n: roles([t for _, _, t in evidence[n].sentences]) for n in answering} if a.body_details else {}
    details: set[int] = set()
    kept: set[int] = set(answering_rows)
    for i in supported:
        d = decisions[i]
        if i in answering_rows:
            continue
        # "It uses ...", "This method ...": goes on about the source of the sentence kept before it
        previous = i - 1
        continues = previous in kept and decisions[previous].sources == d.sources and leans_on_previous(sentences[i].text)
        if d.sources and set(d.sources) <= answering and (
            rels[i] >= a.detail_relevance_threshold or continues or _states_the_work(d.sources, scores[i], source_roles, rels[i])
        ):
            details.add(i)  # a supporting detail of an answer given from these sources
            kept.add(i)
        else:
            decisions[i] = Decision("off_topic", [], d.invalid, d.sources + d.dropped, d.support)
    shown_rows = [i for i, d in enumerate(decisions) if d.status in ("cited", "attributed")]
    for i, again in zip(shown_rows, repeats([sentences[i].text for i in shown_rows])):
        if again:  # the 0.5B model sometimes says a sentence twice, or loops inside one
            d = decisions[i]
            decisions[i] = Decision("repeated", [], d.invalid, d.sources + d.dropped, d.support)
    shown_rows = [i for i in shown_rows if decisions[i].status != "repeated"]
    dangling = _dangling(shown_rows, [s.text for s in sentences], decisions, answer.question)
    if len(dangling) < len(shown_rows):  # all of them: better shown than an abstention
        for i in dangling:
            # "This divergence illustrates ... [2]" after a sentence of [1]: "this" points at nothing shown
            d = decisions[i]
            decisions[i] = Decision("off_topic", [], d.invalid, d.sources + d.dropped, d.support)
        shown_rows = [i for i in shown_rows if i not in dangling]
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
    quotes: dict[int, _Quote] = {}  # source n -> what its reference quotes first
    backing: dict[int, list[int]] = {}  # source n -> the evidence sentences behind its shown sentences, in answer order
    for i, (s, d) in enumerate(zip(sentences, decisions)):
        numbers = [mapping[n] for n in d.sources]
        text = third_person(s.text, advice=True) if a.third_person else s.text
        answer.sentences.append(checked[i].model_copy(update={"citations": numbers, "text": text}))
        if d.status in ("off_topic", "repeated"):
            continue
        if d.status == "unsupported":
            if a.unsupported == "mark":
                parts.append(f"{text} {UNSUPPORTED_NOTE}")
            continue
        parts.append(with_markers(text, numbers))
        for n in d.sources:  # the reference quotes what backs its best answering (not detail) sentence
            sup = scores[i][n]
            rank = _Rank(answering=i not in details, support=sup.score)
            if n not in quotes or rank > quotes[n].rank:
                quotes[n] = _Quote(rank, sup.sentence)
            if sup.sentence not in backing.setdefault(n, []):
                backing[n].append(sup.sentence)
    answer.text = " ".join(parts)
    for old, new in sorted(mapping.items(), key=lambda kv: kv[1]):
        src, quote, ev = by_number[old], quotes[old], evidence[old]
        start, end, sentence = _span(src, ev, quote.sentence)
        # one quote per claim, the reference's own sentence first, shown in abstract order
        others = [_span(src, ev, k) for k in backing[old] if k != quote.sentence and (k == TITLE_SENTENCE or _is_sentence(k, len(ev.sentences)))]
        shown = sorted({(start, end, sentence), *others[: a.quotes_per_reference - 1]})
        answer.references.append(
            Reference(n=new, paper_id=src.hit.paper_id, title=src.hit.title, sentence=sentence, start=start, end=end, support=quote.rank.support,
                      quotes=[Quote(start=q0, end=q1, text=t) for q0, q1, t in shown])
        )
    if a.explain_named and set(shown_rows) <= naming:
        _explain_named(answer, {new: by_number[old] for old, new in mapping.items()}, a.third_person, a.unsupported == "mark")
    _mark_cited(answer)
    return answer


def _explain_named(answer: Answer, cited: dict[int, Source], third: bool, mark_unsupported: bool) -> None:
    """An answer that only names its papers also quotes what each does (answer.explain_named):
    the first sentence of the abstract that states the paper's own work, else its best
    evidence sentence, cited by the paper's reference number (keys of ``cited``). Each quote
    follows the sentence that first names its paper, so that with several papers "the
    authors" of a quote are the ones just named (the text and ``sentences`` in that order).
    A sentence that only names one paper (its title, "BLSP: Bootstrapping ... Writing [1].", or
    "The work on X is presented in <title> [1].") and its quote become one sentence, 'In
    “BLSP: ...”, the authors propose ... [1].' (the naming row is kept as ``repeated``: the
    quote says it)."""
    rows = list(answer.sentences)
    answer.sentences, parts, explained = [], [], set()
    for s in rows:  # the text as verify() wrote it, with each quote after the first sentence naming its paper
        answer.sentences.append(s)
        if s.status == "unsupported" and mark_unsupported:
            parts.append(f"{s.text} {UNSUPPORTED_NOTE}")
        if s.status not in ("cited", "attributed"):
            continue
        only = cited.get(s.citations[0]) if len(s.citations) == 1 and s.citations[0] not in explained else None
        # every shown row names its paper and says nothing else (the title, or "X is presented in <title>")
        bare = only is not None and only.evidence is not None and only.evidence.best is not None
        if not bare:
            parts.append(with_markers(s.text, s.citations))
        for n in s.citations:
            src = cited.get(n)
            if n in explained or src is None or src.evidence is None or src.evidence.best is None:
                continue
            explained.add(n)
            ev = _first_contribution(src.evidence.all_sentences) or src.evidence.best
            text = _voice(ev.text, third)
            if bare:
                text, s.status = name_paper(src.hit.title, text), "repeated"
            parts.append(with_markers(text, [n]))
            _add_quoted(answer, src, ev, n, text)
    answer.text = " ".join(parts)


REPEAT_OVERLAP = 0.7  # share of content words (Jaccard) above which a sentence repeats an earlier one


def repeats(texts: list[str], overlap: float = REPEAT_OVERLAP) -> list[bool]:
    """For each sentence, does it repeat an earlier one: do their content words (stemmed,
    stopwords out) overlap by at least ``overlap`` (Jaccard)? Pure."""
    seen: list[set[str]] = []
    out = []
    for text in texts:
        words = set(tokenize(text))
        out.append(bool(words) and any(len(words & w) >= overlap * len(words | w) for w in seen))
        seen.append(words)
    return out


def restates(sentence: str, said: list[str], share: float) -> bool:
    """Does ``sentence`` restate one of ``said``: do at least ``share`` of its content words
    (stemmed, stopwords out) occur in one of them? Containment rather than :func:`repeats`'
    Jaccard, so that a short sentence inside a longer one counts. Pure."""
    words = set(tokenize(sentence))
    return bool(words) and any(len(words & set(tokenize(t))) >= share * len(words) for t in said)


TITLE_SENTENCE = -2  # Support.sentence of a sentence accepted because it is a source's title (not NO_SENTENCE)
FIRST_SOURCE = 1  # the number of the source retrieval ranks first (sources are numbered from 1)


class _Rank(NamedTuple):
    """How well an answer sentence backs a reference; compared as a tuple, greater is better."""

    answering: bool  # an answering sentence, not a supporting detail: always ranks higher
    support: float  # its support by the reference's source


class _Quote(NamedTuple):
    """What a source's reference quotes: the best-ranked sentence citing it and its support."""

    rank: _Rank
    sentence: int  # Support.sentence: index into the source's evidence sentences, or TITLE_SENTENCE


def _span(src: Source, evidence: Evidence, k: int) -> tuple[int, int, str]:
    """(start, end, text) of evidence sentence ``k`` of ``src``; for TITLE_SENTENCE (cited for
    its title) or NO_SENTENCE the sentence retrieval matched."""
    if k in (TITLE_SENTENCE, NO_SENTENCE):
        return src.hit.sentence_start, src.hit.sentence_end, src.hit.sentence
    return evidence.sentences[k]


def opens_with_other_title(sentence: str, titles: Mapping[str, int], cited: list[int]) -> int | None:
    """The number of the source whose title ``sentence`` opens with, as its subject, when the
    sentence does not cite that source ("Multimodal Language Models for ... Summarization
    introduces ShowMaker [1]", where [1] is Vlogger's paper); else None. ``titles``: each
    source's :func:`normalize_title` -> its number. Pure."""
    text = normalize_title(sentence)
    for t, n in titles.items():
        if n not in cited and t and (text == t or text.startswith(t + " ")):
            return n
    return None


def _require_definition(
    sentence: str, question: str, scores: dict[int, Support], by_number: Mapping[int, Source], evidence: Mapping[int, Evidence]
) -> None:
    """"LoRA is ..." for a question about LoRA is supported only by a source that defines LoRA
    (rag/definitions.py): the other sources' support of the sentence becomes 0, in place.
    When some source says what the name is ("Contrastive Language-Image Pre-training (CLIP)
    stands as ..."), a sentence that only opens with the name ("CLIP models are trained
    using contrastive loss") does not: it backed "CLIP is a language model trained using
    contrastive loss"."""
    name = defined_name(sentence, question)
    if name is None and re.match(r"^\W*(?:it|they)\s+(?:is|are|was|were)\s+(?:an?|the|one|some)\s|^\W*(?:it|they)\s+(?:refers?\s+to|stands?\s+for)\b", sentence, re.I):
        name = asked_definition(question)  # "what is lora" -> "It is a widely used method ...": the pronoun is the term
    if name is None or not is_term(name, [t for src in by_number.values() for t in (src.hit.title, evidence[src.n].text)]):
        return
    strict = any(
        source_defines(name, s, src.hit.title, strict=True) for src in by_number.values() for _, _, s in evidence[src.n].sentences
    )
    for n, sup in scores.items():
        span = _span(by_number[n], evidence[n], sup.sentence)[2]
        if sup.score > 0 and not source_defines(name, span, by_number[n].hit.title, strict=strict):
            scores[n] = Support(0.0, sup.sentence)


def _dangling(rows: Sequence[int], texts: Sequence[str], decisions: Sequence[Decision], question: str) -> set[int]:
    """The ``rows`` (shown sentences, in order) that open by pointing at what the sentence
    before said (rag/evidence.py ``points_at_previous``) while the shown sentence just before
    them cites none of their sources, or none comes before: the 0.5B model copies "This
    divergence illustrates ..." out of an abstract after a sentence of another paper. Pure."""
    out: set[int] = set()
    previous: set[int] | None = None  # sources of the shown sentence before; None: none yet
    for i in rows:
        if points_at_previous(texts[i], question, first=previous is None) and not set(decisions[i].sources) & (previous or set()):
            out.add(i)
            continue
        previous = set(decisions[i].sources)
    return out


def _require_term(
    sentence: str, term: str, scores: dict[int, Support], by_number: Mapping[int, Source], evidence: Mapping[int, Evidence],
    known: Callable[[str], bool] = none_known,
) -> None:
    """For a question asking what ``term`` is: a sentence that uses a term of two words or
    more is supported only by a source whose title or abstract uses it too (rag/definitions.py
    ``mentions``); the other sources' support becomes 0, in place. "What is speculative
    decoding" drew, from a paper about encoder-decoder models that never says "speculative",
    "their investigation demonstrates that speculative decoding architectures provide a more
    practical path ...": its own sentence with "encoder-decoder" swapped for the asked term.
    A source spelling a word of the term nearly as asked ("compositional" for "compositonal")
    uses it, unless the collection uses the word as asked (``known``)."""
    checked = checked_words(term)  # as for declining the question: acronyms may be spelled out
    if len(term.split()) < 2 or not tokenize(checked) or not mentions(sentence, checked, typos=True, known=known):
        return
    for n, sup in scores.items():
        if sup.score > 0 and not mentions(f"{by_number[n].hit.title}\n{evidence[n].text}", checked, typos=True, known=known):
            scores[n] = Support(0.0, sup.sentence)


def _is_sentence(k: int, count: int) -> bool:
    """Is ``k`` (a ``Support.sentence``) one of ``count`` evidence sentences? Not when it is
    ``TITLE_SENTENCE`` or ``NO_SENTENCE`` (rag/support.py)."""
    return 0 <= k < count


def _states_asked_figure(
    text: str, figure: Figure | None, evidence: Mapping[int, Evidence], question_support: Mapping[int, Support], threshold: float
) -> tuple[int, int] | None:
    """(source number, sentence index) of the first source sentence that states the figure the
    question asks for with every number of ``text`` in it, in a source that supports the
    question itself (at least ``threshold``); None when ``text`` gives no such figure."""
    if figure is None or not gives_figure(text, figure):
        return None
    for n, ev in evidence.items():
        if question_support[n].score < threshold:
            continue
        for k, (_, _, sentence) in enumerate(ev.sentences):
            if gives_figure(sentence, figure) and numbers_agree(text, sentence):
                return n, k
    return None


def _states_the_work(cited: list[int], supports: Mapping[int, Support], source_roles: dict[int, list[str]], relevance: float) -> bool:
    """Is a sentence (its ``supports`` by each source number, its ``relevance``) backed, in every source
    it cites, by what the paper itself does (its
    contribution or a later sentence: method, mechanism, result), not by its background?
    Such a sentence of a source that answers the question is a detail of that answer ("Bottleneck
    Sampling performs high-resolution denoising in the first and last steps ...") even when it
    shares few words with the question. A link or a sentence that says the question back
    (relevance 0) is not."""
    if relevance <= 0 or not source_roles:
        return False
    for n in cited:
        k, sentence_roles = supports[n].sentence, source_roles.get(n)
        if sentence_roles is None or not _is_sentence(k, len(sentence_roles)) or sentence_roles[k] in ("background", "release"):
            return False
        if "contribution" not in sentence_roles:  # where the background ends is unknown
            return False
    return True


def _first_contribution(sentences: tuple[EvidenceSentence, ...]) -> EvidenceSentence | None:
    """The first sentence of an abstract that states the paper's own work, if one does; one
    that points back at a problem stated before it ("we aim to address this bottleneck by
    ...") only when no other does."""
    own = [ev for ev in sentences if ev.role == "contribution"]
    return next((ev for ev in own if not points_back(ev.text)), own[0] if own else None)


def _verification_evidence(source: Source) -> Evidence:
    """What a source's citations are checked against: the whole abstract when it is known
    (evidence-first prompts), else the chunks the prompt showed."""
    if source.evidence is not None:
        return Evidence.from_chunks([(0, len(source.evidence.abstract), source.evidence.abstract)])
    return Evidence.from_chunks(source.chunks)


def _source_relevance(source: Source, evidence: Evidence, k: int) -> float:
    """Relevance to the question of evidence sentence ``k`` of a source (0 when unknown)."""
    if source.evidence is None or not _is_sentence(k, len(evidence.sentences)):
        return 0.0
    start = evidence.sentences[k][0]
    return next((s.score for s in source.evidence.all_sentences if s.start == start), 0.0)


def _abstain(answer: Answer, reason: str, checked: list[SentenceSupport] | None = None) -> Answer:
    """Mark ``answer`` abstained; ``checked``: the verified draft sentences, kept in ``draft``."""
    answer.mode = "generated"
    answer.text, answer.abstained, answer.abstain_reason, answer.status = ABSTAIN_TEXT, True, reason, "abstained"
    answer.references, answer.sentences, answer.draft = [], [], checked or []
    return answer
