import json

import pytest
from conftest import SEEDS, write

from rag.corpus import load_collection, normalize_title, paper_id
from rag.errors import CorpusError

ABSTRACT = "We study a thing. It works well on two benchmarks, improving accuracy by 3 points."


def test_bundled_seeds_parse_to_460_unique_papers():
    papers = load_collection([SEEDS])
    assert len(papers) == 460
    assert len({p.id for p in papers}) == 460
    multi = [p for p in papers if len(p.sources) > 1]
    assert len(multi) == 25  # 486 listings of 460 papers
    assert sum(len(p.sources) for p in papers) == 486
    titles = {p.title for p in papers}
    assert "Mar 11" not in titles and "Subscribe" not in titles and "Daily Papers" not in titles
    assert all(len(p.abstract) > 1000 for p in papers)


def test_ids_are_stable_and_title_derived():
    assert paper_id("Attention Is All You Need") == paper_id("  attention is ALL you need!  ")
    assert paper_id("Attention Is All You Need").startswith("attention-is-all-you-need-")
    assert normalize_title("Café: the Über-Model") == "cafe the uber model"


def test_seed_format_with_noise(tmp_path):
    f = write(tmp_path / "a.txt", f"new\n\nSubscribe\n\nMar 11\n\nPaper One\n\n{ABSTRACT}\n\nApr 22\n\nPaper Two\n\n{ABSTRACT} More.\n")
    papers = load_collection([f])
    assert [p.title for p in papers] == ["Paper One", "Paper Two"]
    assert papers[0].sources == ("a.txt:7",)


def test_jsonl_and_beir(tmp_path):
    j = write(tmp_path / "p.jsonl", json.dumps({"id": "x1", "title": "Paper One", "abstract": ABSTRACT, "year": 2020}) + "\n")
    b = write(tmp_path / "corpus.jsonl", json.dumps({"_id": "d1", "title": "Paper Two", "text": ABSTRACT}) + "\n")
    papers = load_collection([j, b])
    assert [p.title for p in papers] == ["Paper One", "Paper Two"]
    assert papers[0].extra == {"id": "x1", "year": "2020"}
    assert papers[1].extra == {"_id": "d1"}


def test_same_paper_in_two_files_remembers_both(tmp_path):
    a = write(tmp_path / "a.txt", f"Paper One\n\n{ABSTRACT}\n")
    b = write(tmp_path / "b.jsonl", json.dumps({"title": "paper one", "abstract": ABSTRACT}) + "\n")
    (paper,) = load_collection([a, b])
    assert paper.sources == ("a.txt:1", "b.jsonl:1")


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("empty.txt", "", r"empty.txt: file is empty"),
        ("bin.txt", b"\x00\x01\x02binary", r"bin.txt: binary file"),
        ("latin1.txt", "Title\n\nAbstract with caf\xe9 text here.".encode("latin-1"), r"latin1.txt:3: not valid UTF-8"),
        ("bad.jsonl", '{"title": "A", "abstract": "' + ABSTRACT + '"}\n{"title": "B", "abs', r"bad.jsonl:2: bad JSON"),
        ("noabs.jsonl", '{"title": "A"}\n', r"noabs.jsonl:1: missing field 'abstract'"),
        ("emptytitle.jsonl", json.dumps({"title": " ", "abstract": ABSTRACT}), r"emptytitle.jsonl:1: empty title"),
        ("punct.jsonl", json.dumps({"title": "?!...", "abstract": ABSTRACT}), r"punct.jsonl:1: title '\?!...' has no letters or digits"),
        ("emptyabs.jsonl", json.dumps({"title": "A", "abstract": ""}), r"emptyabs.jsonl:1: empty abstract"),
        ("nolist.jsonl", "[1, 2]\n", r"nolist.jsonl:1: expected a JSON object"),
        ("notitle.txt", f"Paper One\n\nPaper Two\n\n{ABSTRACT}\n", r"notitle.txt:1: title 'Paper One' has no abstract"),
        ("trailing.txt", f"Paper One\n\n{ABSTRACT}\n\nPaper Two\n", r"trailing.txt:5: title 'Paper Two' has no abstract"),
        ("beir-notext.jsonl", json.dumps({"_id": "1", "title": "A"}), r"missing field 'abstract'"),
    ],
)
def test_malformed_input_names_file_and_line(tmp_path, name, content, expected):
    f = write(tmp_path / name, content)
    with pytest.raises(CorpusError, match=expected):
        load_collection([f])


def test_duplicate_id_with_different_text(tmp_path):
    rows = [{"id": "p1", "title": "A", "abstract": ABSTRACT}, {"id": "p1", "title": "B", "abstract": ABSTRACT + " Other."}]
    f = write(tmp_path / "d.jsonl", "\n".join(json.dumps(r) for r in rows))
    with pytest.raises(CorpusError, match=r"d.jsonl:2: duplicate id 'p1' with different text \(first at line 1\)"):
        load_collection([f])


def test_same_title_different_abstract_across_files(tmp_path):
    a = write(tmp_path / "a.txt", f"Paper One\n\n{ABSTRACT}\n")
    b = write(tmp_path / "b.txt", f"Paper One\n\n{ABSTRACT} Changed.\n")
    with pytest.raises(CorpusError, match=r"b.txt:1: paper 'Paper One' also appears at a.txt:1 with a different abstract"):
        load_collection([a, b])


def test_oversize_abstract(tmp_path):
    f = write(tmp_path / "big.jsonl", json.dumps({"title": "Big", "abstract": "word " * 2_000_000}))
    with pytest.raises(CorpusError, match=r"big.jsonl:1: abstract is 9999999 characters \(limit corpus.max_abstract_chars = 100000\)"):
        load_collection([f])


def test_missing_path(tmp_path):
    with pytest.raises(CorpusError, match="no such file or folder"):
        load_collection([tmp_path / "nope.txt"])


def test_titles_in_other_scripts(tmp_path):
    rows = [
        {"title": "Обучение моделей", "abstract": ABSTRACT},
        {"title": "GPT-4 для русского языка", "abstract": ABSTRACT},
        {"title": "GPT-4 для китайского языка", "abstract": ABSTRACT + " Other."},
    ]
    papers = load_collection([write(tmp_path / "ru.jsonl", "\n".join(json.dumps(r, ensure_ascii=False) for r in rows))])
    assert len({p.id for p in papers}) == 3


def test_jsonl_string_with_unicode_line_separator(tmp_path):
    row = {"title": "Separators", "abstract": "First part\u2028second part. It still is one abstract."}
    (paper,) = load_collection([write(tmp_path / "u.jsonl", json.dumps(row, ensure_ascii=False) + "\n")])
    assert "second part" in paper.abstract


def test_control_characters_are_removed(tmp_path):
    row = {"title": "Escapes \x1b[31mred", "abstract": "Text with \x1b]0;title\x07 escapes. And more text here."}
    (paper,) = load_collection([write(tmp_path / "e.jsonl", json.dumps(row))])
    assert "\x1b" not in paper.title + paper.abstract and "\x07" not in paper.abstract


def test_strip_controls_keeps_layout_and_drops_terminal_escapes():
    from rag.text import strip_controls

    assert strip_controls("a\x1b]0;pwned\x07b\x1b[2Jc\n- d\te\x00") == "abc\n- d\te"


def test_latex_is_undone_unless_turned_off(tmp_path):
    f = write(tmp_path / "a.txt", "Paper $Q^*$\n\nWe cut cost by 40\\% and run 2.4times faster, for \\1,890 in total. It works.\n")
    clean = load_collection([f])[0]
    assert clean.title == "Paper Q^*"
    assert clean.abstract == "We cut cost by 40% and run 2.4× faster, for $1,890 in total. It works."
    raw = load_collection([f], clean_latex=False)[0]
    assert raw.abstract.startswith("We cut cost by 40\\% and run 2.4times faster, for \\1,890")
    assert clean.id == raw.id  # the same paper either way


def test_bundled_seeds_keep_no_scraped_percent_or_times():
    import re

    papers = load_collection([SEEDS])
    assert not [p.title for p in papers if "\\%" in p.abstract or re.search(r"\dtimes\b", p.abstract)]
    assert any("$1,890" in p.abstract for p in papers)


def test_beir_untitled_documents_and_shared_titles_become_papers(tmp_path):
    """Benchmark corpora (TREC-COVID, FiQA, ...) have documents with no title, and one title
    over different texts; each document is its own paper, named so it can be told apart."""
    rows = [
        {"_id": "d1", "title": "", "text": "Interest rates rise when inflation expectations do, as this short note on monetary policy explains."},
        {"_id": "d2", "title": "COVID-19", "text": ABSTRACT},
        {"_id": "d3", "title": "covid 19", "text": ABSTRACT + " Another study."},
        {"_id": "d4", "title": "Paper Two", "text": ABSTRACT},
        {"_id": "d5", "title": "Paper Two", "text": ABSTRACT},  # the same document twice: one paper
    ]
    b = write(tmp_path / "corpus.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n")
    papers = load_collection([b])
    assert [p.title for p in papers] == [
        "Interest rates rise when inflation expectations do, as this short note on…", "COVID-19 [d2]", "covid 19 [d3]", "Paper Two",
    ]
    assert len({p.id for p in papers}) == 4
