"""Questions from a BEIR folder: ``queries.jsonl`` + ``qrels/<split>.tsv`` (+ ``corpus.jsonl``).

BEIR (Thakur et al., 2021) ships a retrieval benchmark as a folder: ``corpus.jsonl``
(``_id``, ``title``, ``text``), ``queries.jsonl`` (``_id``, ``text``) and
``qrels/{train,dev,test}.tsv`` (``query-id``, ``corpus-id``, ``score``, with a header line).
Ingest the corpus with ``rag ingest DIR/corpus.jsonl``; this module turns the queries of one
split into evaluation questions whose gold papers are the judged-relevant corpus documents
(score > 0), matched to the index by title, like every other dataset: by the title ingest gave
each document (rag/corpus.py: an untitled document is named by its first words, a title
shared by different texts gets the document's id in brackets).

Invariants: only queries that have a relevant document in the split become questions (BEIR
lists every split's queries in one file); every question is answerable and has no key
facts, so a BEIR run scores retrieval (and the answer metrics that need no key facts). Any
line that cannot be read is an error naming the file and the line.
"""

from __future__ import annotations

import json
from pathlib import Path

from .corpus import normalize_title, read_jsonl_file
from .errors import RagError
from .evaluate import Question
from .text import detex


def _jsonl(path: Path, fields: tuple[str, ...]) -> dict[str, tuple[dict, int]]:
    """``_id`` -> (row, line number); every row must have ``fields``."""
    if not path.is_file():
        raise RagError(f"{path}: no such file (a BEIR folder has corpus.jsonl, queries.jsonl and qrels/<split>.tsv)")
    out: dict[str, tuple[dict, int]] = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise RagError(f"{path}:{n}: bad JSON ({exc.msg})") from None
            missing = [k for k in fields if not isinstance(row, dict) or not isinstance(row.get(k), str)]
            if missing:
                raise RagError(f"{path}:{n}: missing text field(s) {', '.join(missing)}")
            out[row["_id"]] = (row, n)
    return out


def read_qrels(path: Path) -> dict[str, list[str]]:
    """query id -> relevant corpus ids (score > 0), in file order. Pure file parsing."""
    if not path.is_file():
        raise RagError(f"{path}: no such file (choose the split with --split)")
    rel: dict[str, list[str]] = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            parts = line.rstrip("\n").split("\t")
            if n == 1 and parts[:2] == ["query-id", "corpus-id"] or not line.strip():
                continue
            if len(parts) != 3:
                raise RagError(f"{path}:{n}: expected 3 tab-separated fields (query-id, corpus-id, score), got {len(parts)}")
            try:
                score = float(parts[2])
            except ValueError:
                raise RagError(f"{path}:{n}: score '{parts[2]}' is not a number") from None
            if score > 0 and parts[1] not in rel.setdefault(parts[0], []):
                rel[parts[0]].append(parts[1])
    return {q: docs for q, docs in rel.items() if docs}


def load_beir(folder: Path, titles: dict[str, str], split: str = "test") -> list[Question]:
    """The judged queries of ``split`` as answerable questions; ``titles``: normalized title -> paper id."""
    qrels_path = folder / "qrels" / f"{split}.tsv"
    qrels = read_qrels(qrels_path)
    queries = _jsonl(folder / "queries.jsonl", ("_id", "text"))
    corpus_path = folder / "corpus.jsonl"
    if not corpus_path.is_file():
        raise RagError(f"{corpus_path}: no such file (a BEIR folder has corpus.jsonl, queries.jsonl and qrels/<split>.tsv)")
    # the titles as ingest gives them (an untitled document, a title shared by two texts)
    corpus = {r.extra["_id"]: (r.title, r.line) for r in read_jsonl_file(corpus_path, max_abstract_chars=10**9) if "_id" in r.extra}
    out = []
    for qid, docs in qrels.items():
        if qid not in queries:
            raise RagError(f"{qrels_path}: query-id '{qid}' is not in {folder / 'queries.jsonl'}")
        row, line = queries[qid]
        gold, gold_titles = [], []
        for doc in docs:
            if doc not in corpus:
                raise RagError(f"{qrels_path}: corpus-id '{doc}' is not in {corpus_path}")
            title, doc_line = corpus[doc]
            # the index holds titles cleaned of LaTeX (corpus.clean_latex) or as written
            pid = titles.get(normalize_title(detex(title))) or titles.get(normalize_title(title))
            if pid is None:
                raise RagError(
                    f"{corpus_path}:{doc_line}: document '{doc}' ('{title[:60]}') is not in the index: "
                    f"run `rag ingest {folder / 'corpus.jsonl'}` with the same settings"
                )
            gold.append(pid)
            gold_titles.append(title)
        out.append(Question(qid, "lookup" if len(gold) == 1 else "multi", row["text"], tuple(gold), tuple(gold_titles), "", (), True, line))
    if not out:
        raise RagError(f"{qrels_path}: no query has a relevant document")
    return out
