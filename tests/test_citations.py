"""Citation parsing, checking, attribution and renumbering: exact expected values."""

import pytest

from rag.citations import decide, is_abstention, parse_numbers, renumber, split_answer, strip_markers, with_markers


def test_parse_numbers():
    assert parse_numbers("1") == [1]
    assert parse_numbers("1, 3") == [1, 3]
    assert parse_numbers("2-4") == [2, 3, 4]
    assert parse_numbers("1; 5 and 6") == [1, 5, 6]
    assert parse_numbers("1-99") == [1, 99]


def test_strip_markers():
    assert strip_markers("It cuts memory [1][3] by half [2, 3].") == ("It cuts memory by half.", [1, 3, 2])
    assert strip_markers("See [Source 2] and [sources 4-5].") == ("See and.", [2, 4, 5])
    assert strip_markers("No markers here.") == ("No markers here.", [])
    assert strip_markers("A list [a] is not a citation.") == ("A list [a] is not a citation.", [])


def test_split_answer_attaches_markers_to_the_right_sentence():
    out = split_answer("COAT uses FP8 [1]. It cuts memory by 1.54x. [2] Finally, it is fast [1, 3].")
    assert [(s.text, s.cited) for s in out] == [
        ("COAT uses FP8.", [1]),
        ("It cuts memory by 1.54x.", [2]),
        ("Finally, it is fast.", [1, 3]),
    ]


def test_split_answer_lone_marker_and_empty():
    assert [(s.text, s.cited) for s in split_answer("It works. [1]")] == [("It works.", [1])]
    assert split_answer("   ") == []


def test_decide_keeps_supported_citations():
    d = decide([1, 2], [0.9, 0.2, 0.7], support_threshold=0.5, attribution_threshold=0.6)
    assert (d.status, d.sources, d.dropped, d.invalid, d.support) == ("cited", [1], [2], [], 0.9)


def test_decide_removes_invalid_and_attributes():
    d = decide([7], [0.3, 0.65, 0.1], support_threshold=0.5, attribution_threshold=0.6)
    assert (d.status, d.sources, d.invalid, d.support) == ("attributed", [2], [7], 0.65)


def test_decide_uncited_sentence_attributed_to_best_source():
    d = decide([], [0.61, 0.64, 0.64], support_threshold=0.5, attribution_threshold=0.6)
    assert (d.status, d.sources) == ("attributed", [2])  # ties go to the earlier source


def test_decide_unsupported():
    d = decide([1], [0.4, 0.55], support_threshold=0.5, attribution_threshold=0.6)
    assert (d.status, d.sources, d.dropped, d.support) == ("unsupported", [], [1], 0.55)
    assert decide([], [], support_threshold=0.5, attribution_threshold=0.6).status == "unsupported"


def test_decide_abstention_sentence():
    d = decide([1], [0.2], support_threshold=0.5, attribution_threshold=0.6, abstention=True)
    assert (d.status, d.sources, d.dropped) == ("abstention", [], [1])
    # a sentence that reads like an abstention but is supported by its citation is a claim
    d = decide([1], [0.9], support_threshold=0.5, attribution_threshold=0.6, abstention=True)
    assert (d.status, d.sources) == ("cited", [1])


def test_more_marker_forms_and_no_leftovers():
    assert strip_markers("Cut to 2 bits [Source: 4].") == ("Cut to 2 bits.", [4])
    assert strip_markers("Works [4, 1, and 2] well [3,5,].") == ("Works well.", [4, 1, 2, 3, 5])
    assert strip_markers("Fast 【2】.") == ("Fast.", [2])
    assert strip_markers("Odd [^1] and [ref 3] forms.") == ("Odd and forms.", [])
    assert strip_markers("We use [CLS] tokens.") == ("We use [CLS] tokens.", [])


def test_markers_written_first_stay_with_their_sentence():
    out = split_answer("[1] X works well. [2] Y fails badly.")
    assert [(s.text, s.cited) for s in out] == [("X works well.", [1]), ("Y fails badly.", [2])]
    out = split_answer("We use BERT. [CLS] tokens are pooled [1].")
    assert [(s.text, s.cited) for s in out] == [("We use BERT.", []), ("[CLS] tokens are pooled.", [1])]


def test_renumber_in_order_of_first_use():
    assert renumber([[3], [1, 3], [], [4]]) == {3: 1, 1: 2, 4: 3}
    assert renumber([]) == {}


def test_with_markers():
    assert with_markers("It works.", [1, 2]) == "It works [1][2]."
    assert with_markers("Is it new?", [3]) == "Is it new [3]?"
    assert with_markers("No period", [1]) == "No period [1]"
    assert with_markers("Uncited.", []) == "Uncited."


@pytest.mark.parametrize(
    "sentence, expected",
    [
        ("The sources do not answer this question.", True),
        ("The provided papers do not mention the learning rate.", True),
        ("This is not covered in the collection.", True),
        ("There is no information about GPT-5 in the sources.", True),
        ("COAT does not use FP16.", False),
        ("The attack requires no information about the model weights.", False),
        ("The paper does not include a decoder ablation.", False),
        ("The method cannot scale beyond 8 GPUs.", False),
    ],
)
def test_is_abstention(sentence, expected):
    assert is_abstention(sentence) is expected


def test_finished_sentences_cuts_an_unfinished_tail():
    from rag.citations import finished_sentences

    assert finished_sentences("A b [1]. C d [2]. Notably our model 14\\t [1]") == "A b [1]. C d [2]."
    assert finished_sentences('A b. C "d." [1][2] and') == 'A b. C "d." [1][2]'
    assert finished_sentences("It is 12.7 FID [1]. And then 3.5") == "It is 12.7 FID [1]."
    assert finished_sentences("Accuracy is 12.7 FID on COCO") == "Accuracy is 12.7 FID on COCO"  # nothing finished: kept
    assert finished_sentences("Done [1].") == "Done [1]."


def test_echoed_titles_with_a_backslash_are_cited_not_read_as_regex_escapes():
    """'$\\ell_\\infty$' in a title was read as the escape '\\e' in a replacement: every question
    whose sources included that paper failed with 're.error: bad escape'."""
    from rag.retrieve import PaperHit
    from rag.sources import Source, normalize_copied_headers

    titles = ["A Nearly-Optimal Bound for Fast Regression with $\\ell_\\infty$ Guarantee", "HyperZ$\\cdot$Z$\\cdot$W Operator"]
    sources = [Source(n, PaperHit(n, f"p{n}", t, 1.0, None, None, "", 0, 0, (), ()), []) for n, t in enumerate(titles, start=1)]
    raw = f"{titles[0]}\n{titles[1]}"
    assert normalize_copied_headers(raw, sources) == f"{titles[0]} [1].\n{titles[1]} [2].\n"
    inside = normalize_copied_headers(f"The bound in {titles[0]} is tight.", sources)
    assert inside == f"The bound in {titles[0]} [1] is tight."


def test_a_detail_must_be_backed_by_the_papers_own_work():
    from rag.support import Support
    from rag.verify import _states_the_work

    roles = {1: ["background", "contribution", "body"]}
    backed_by = lambda k, rel=0.1: _states_the_work([1], {1: Support(0.9, k)}, roles, rel)  # noqa: E731
    assert backed_by(2) and backed_by(1)  # the method / the contribution itself
    assert not backed_by(0)  # the background before the contribution
    assert not backed_by(2, rel=0.0)  # a link or a restated question
    assert not backed_by(-1)  # accepted as a title, not a sentence
    assert not _states_the_work([1], {1: Support(0.9, 2)}, {1: ["body", "body", "body"]}, 0.1)  # no contribution found


def test_a_marker_used_as_a_noun_becomes_the_papers_title():
    """Moved to the sentence's end, the marker of "The authors of [1] show ..." left "The authors
    of show ..." on screen, and "[1] states that ..." left "states that ..." (real 0.5B drafts)."""
    from rag.sources import name_marker_references

    titles = {1: "Small-scale proxies", 2: "TopoMortar"}
    assert name_marker_references("The authors of [1] show that X.", titles) == "The authors of Small-scale proxies [1] show that X."
    assert name_marker_references("Yes. [2] states that it is new.", titles) == "Yes. TopoMortar [2] states that it is new."
    assert name_marker_references("[2] introduces a dataset.", titles) == "TopoMortar [2] introduces a dataset."
    assert name_marker_references("As described in [1], it works.", titles) == "As described in Small-scale proxies [1], it works."
    assert name_marker_references("It works [1]. It is fast [1][2].", titles) == "It works [1]. It is fast [1][2]."  # ordinary citations
    assert name_marker_references("The authors of [7] show X.", titles) == "The authors of [7] show X."  # not a source


def test_a_reference_backed_by_no_sentence_or_by_its_title_quotes_the_matched_sentence():
    """The two sentinels of Support.sentence are distinct and neither indexes the abstract
    (with both at -1, a title-backed quote and 'no sentence' were one value, and -1 read as
    'the last sentence')."""
    from rag.retrieve import PaperHit
    from rag.sources import Source
    from rag.support import NO_SENTENCE, Evidence
    from rag.verify import TITLE_SENTENCE, _is_sentence, _span

    assert TITLE_SENTENCE != NO_SENTENCE
    abstract = "First sentence. Second sentence. Last sentence."
    evidence = Evidence.from_chunks([(0, len(abstract), abstract)])
    hit = PaperHit(1, "p1", "T", 1.0, None, None, "Second sentence.", 16, 32, (), ())
    src = Source(1, hit, [])
    assert [_is_sentence(k, 3) for k in (TITLE_SENTENCE, NO_SENTENCE, 0, 2, 3)] == [False, False, True, True, False]
    assert _span(src, evidence, NO_SENTENCE) == _span(src, evidence, TITLE_SENTENCE) == (16, 32, "Second sentence.")
    assert _span(src, evidence, 2) == (33, 47, "Last sentence.")


def test_repeats_marks_a_sentence_that_says_an_earlier_one_again():
    from rag.verify import repeats

    texts = [
        "Group DETR significantly speeds up the training convergence of DETR-based models.",
        "The experiments show that Group DETR significantly speeds up the training convergence of DETR-based models.",
        "It uses group-wise one-to-many assignment.",
        "",
        "Group DETR speeds up training.",  # 4 of its content words, all in the first: 4/8 < 0.7
    ]
    assert repeats(texts) == [False, True, False, False, False]
    assert repeats(texts, overlap=0.5) == [False, True, False, False, True]


def test_marker_groups_used_as_words_become_the_papers_titles():
    """Real 0.5B drafts (users4, users5 runs): "... capability. [1][2] also mentions that ..."
    showed as "... capability. also mentions that ..."; "The sources state that [1] presents
    Vlogger" as "... state that presents Vlogger"; "... is [1][2]." as "... is."."""
    from rag.citations import split_answer
    from rag.sources import name_marker_references

    titles = {1: "CSKV", 2: "Keyformer", 3: "KVCrush"}
    assert name_marker_references("It works [1]. [1][2] also mention that X is fast.", titles) == "It works [1]. X is fast [1][2]."
    assert name_marker_references("[2] states that it is new. It is fast [1].", titles) == "Keyformer [2] states that it is new. It is fast [1]."
    assert name_marker_references("It works. [1][2] show that X vs. Y differs. Z.", titles) == "It works. X vs. Y differs [1][2]. Z."
    assert name_marker_references("It works. [1][2] note that vLLM is fast", titles) == "It works. vLLM is fast [1][2]"
    assert name_marker_references("It is fast. [1][2] and it scales.", titles) == "It is fast. [1][2] and it scales."
    assert name_marker_references("It works [1]. [1][2] also propose X.", titles) == "It works [1]. The authors also propose X [1][2]."
    assert name_marker_references("It works. [1][2][3] further propose Y.", titles) == "It works. The authors further propose Y [1][2][3]."
    assert name_marker_references("The sources state that [1] presents Vlogger.", titles) == "The sources state that CSKV [1] presents Vlogger."
    assert name_marker_references("The study is [1][2].", titles) == "The study is CSKV [1] and Keyformer [2]."
    # ordinary citations stay: after the sentence, before an upper-case sentence, mid-sentence
    for text in ("It is fast [1][2]. It scales.", "It is fast. [1][2] It scales.", "X is fast [1][2], and Y is slow [3].", "It works [1] and scales."):
        assert name_marker_references(text, titles) == text
    # a number that is no source moves with the others; verification reports it as invalid
    assert name_marker_references("It works. [1][7] also show X.", titles) == "It works. The authors also show X [1][7]."
    sentences = split_answer(name_marker_references("It cuts memory by 80% [1]. [1][2] also mention that it combines with quantization.", titles))
    assert [s.text for s in sentences] == ["It cuts memory by 80%.", "It combines with quantization."]
    assert [s.cited for s in sentences] == [[1], [1, 2]]


def test_a_title_with_a_question_mark_stays_in_one_sentence():
    """A users4 answer showed "further propose a method ... [1]." after "What Matters in
    Transformers? Not All Attention is Needed [1] and ..." was split at the title's "?"."""
    from rag.citations import split_answer

    title = "What Matters in Transformers? Not All Attention is Needed"
    text = f"It works [1]. {title} [1] proposes a method. Does it? Yes [2]."
    assert [s.text for s in split_answer(text, [title])] == ["It works.", f"{title} proposes a method.", "Does it?", "Yes."]
    assert [s.text for s in split_answer(text)][1] == "What Matters in Transformers?"  # without the titles: split
    assert [s.cited for s in split_answer(text, [title])] == [[1], [1], [], [2]]
    raft = "RaftMLP: How Much Can Be Done Without Attention?"
    assert [s.text for s in split_answer(f"It works. {title} and {raft} [2] further propose a method.", [title, raft])] == [
        "It works.", f"{title} and {raft} further propose a method."]
