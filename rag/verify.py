"""Verification: every answer sentence checked against the sources before it is shown.

Each sentence is scored against the sentences (and windows of adjacent sentences) of every
source (rag/support.py). Citations that point at no given source are removed; cited
sources that do not support the sentence are dropped; a sentence with no remaining citation
is attributed to its best-supporting source when that support is strong enough, and is
otherwise marked (or dropped) as unsupported, never shown as a cited fact. A supported
sentence must also address the question (rag/relevance.py) or be a supporting detail of a
sentence that does; a sentence that says the question back is judged on what it adds.
Citations are renumbered 1..n in order of first use and each reference carries the source
sentence that supports it, with its offsets in the abstract. ``extractive`` is the
fallback that quotes the evidence when the model's text fails verification.

Index arithmetic: the judge scores all rows in one pass; the question is the last row
(``question_row``), and ``TITLE_SENTENCE`` marks a support that is a source's title rather
than one of its sentences.
"""

from __future__ import annotations

from .citations import Decision, decide, is_abstention, renumber, split_answer, strip_markers, with_markers
from .corpus import normalize_title
from .evidence import EvidenceSentence, leans_on_previous, roles
from .figures import asked_figure, gives_figure
from .relevance import asks_for_paper, asks_for_several, judged_relevance, question_echo, sentence_relevance, titles_as_markers
from .schema import ABSTAIN_TEXT, UNSUPPORTED_NOTE, Answer, Reference, RetrievedPaper, SentenceSupport
from .settings import Settings
from .sources import Source, normalize_copied_headers, without_instructions
from .support import Evidence, Support, SupportJudge
from .text import third_person


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
    ranked = [(s, s.evidence.best) for s in sources if s.evidence is not None and s.evidence.best is not None]
    if not ranked:
        return answer
    if asks_for_several(answer.question) if several is None else several:
        top = max(ev.score for _, ev in ranked)
        chosen = [(s, ev) for s, ev in ranked if ev.score >= top * a.extractive_margin][: a.extractive_sentences]
    else:
        first = ranked[0][0]
        best = sorted(first.evidence.sentences, key=lambda ev: -ev.score)[: a.extractive_sentences]
        lead = _first_contribution(first.evidence.all_sentences) if a.extractive_lead == "contribution" else None
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
        text = third_person(ev.text) if a.third_person else ev.text
        parts.append(with_markers(text, [n]))
        answer.sentences.append(SentenceSupport(text=text, citations=[n], status="cited", support=1.0, relevance=ev.score))
        if n > len(answer.references):
            answer.references.append(Reference(n=n, paper_id=src.hit.paper_id, title=src.hit.title, sentence=ev.text, start=ev.start, end=ev.end, support=1.0))
    answer.text = " ".join(parts)
    cited = {r.paper_id: r.n for r in answer.references}
    for r in retrieved:
        r.cited_as = cited.get(r.paper_id)
    answer.retrieved = retrieved
    return answer

def verify(raw: str, sources: list[Source], retrieved: list[RetrievedPaper], answer: Answer, *, judge: SupportJudge, settings: Settings) -> Answer:
    """Check every sentence of the model's text ``raw`` against ``sources`` and fill ``answer``
    (see the module docstring); an answer with nothing left to show is abstained."""
    a = settings.answer
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
    scored = judge.score(rows, evidence)
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
    rel_inputs = judge.relevance_inputs([s.text for s in sentences], answer.question)
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
    source_roles = {n: roles([t for _, _, t in evidence[n - 1].sentences]) for n in answering} if a.body_details else {}
    details: set[int] = set()
    kept: set[int] = set(answering_rows)
    for i in supported:
        d = decisions[i]
        if i in answering_rows:
            continue
        # "It uses ...", "This method ...": goes on about the source of the sentence kept before it
        continues = i - 1 in kept and decisions[i - 1].sources == d.sources and leans_on_previous(sentences[i].text)
        if d.sources and set(d.sources) <= answering and (
            rels[i] >= a.detail_relevance_threshold or continues or _states_the_work(d.sources, scores[i], source_roles, rels[i])
        ):
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
        text = third_person(s.text, advice=True) if a.third_person else s.text
        answer.sentences.append(checked[i].model_copy(update={"citations": numbers, "text": text}))
        if d.status == "off_topic":
            continue
        if d.status == "unsupported":
            if a.unsupported == "mark":
                parts.append(f"{text} {UNSUPPORTED_NOTE}")
            continue
        parts.append(with_markers(text, numbers))
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


def _states_the_work(cited: list[int], supports: list[Support], source_roles: dict[int, list[str]], relevance: float) -> bool:
    """Is a sentence (its ``supports`` by each source, its ``relevance``) backed, in every source
    it cites, by what the paper itself does (its
    contribution or a later sentence: method, mechanism, result), not by its background?
    Such a sentence of a source that answers the question is a detail of that answer ("Bottleneck
    Sampling performs high-resolution denoising in the first and last steps ...") even when it
    shares few words with the question. A link or a sentence that says the question back
    (relevance 0) is not."""
    if relevance <= 0 or not source_roles:
        return False
    for n in cited:
        k, sentence_roles = supports[n - 1].sentence, source_roles.get(n)
        if sentence_roles is None or not 0 <= k < len(sentence_roles) or sentence_roles[k] in ("background", "release"):
            return False
        if "contribution" not in sentence_roles:  # where the background ends is unknown
            return False
    return True


def _first_contribution(sentences: tuple[EvidenceSentence, ...]) -> EvidenceSentence | None:
    """The first sentence of an abstract that states the paper's own work, if one does."""
    found = [ev for ev, role in zip(sentences, roles([ev.text for ev in sentences])) if role == "contribution"]
    return found[0] if found else None


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
