#!/usr/bin/env python3
"""Validate paraphrase retrieval sets (paraphrase_*.jsonl) against the seed papers.

Run with the project's venv from the project root, e.g.:

    .venv/bin/python eval/datasets/check_paraphrase.py \
        eval/datasets/paraphrase_tune.jsonl eval/datasets/paraphrase_test.jsonl

The only project import is rag.lexical.tokenize (the retrieval tokenizer); the
seed files are parsed here with the stdlib, exactly as check_dev.py does.

Format checks (as in check_dev.py), per line:
  * valid JSON object with exactly the keys
    id, type, question, gold_titles, reference_answer, key_facts, answerable
  * field types (str / list[str] / bool), non-empty id/question/reference_answer
  * id matches "para-NNN" and is unique across all files given
  * type is "lookup" (exactly 1 gold title) or "multi" (2-5 gold titles)
  * answerable is true; no duplicate gold titles; >= 1 key fact
  * every gold title exists in the seeds (exact match after stripping)
  * every key fact occurs (case-insensitive substring) in the abstract of at
    least one of the line's gold papers, and every gold paper's abstract
    contains at least one key fact
Paraphrase checks:
  * the question has 3-10 words (whitespace-separated)
  * for EACH gold paper, the question shares at most MAX_OVERLAP content words
    with the paper's title + abstract, where content words are the set of
    rag.lexical.tokenize() tokens (lower-case, stopwords and question words
    removed, Snowball-stemmed)
  * the same question text does not appear twice (within or across files)

Prints one line per violation (file, line, id), then counts per type and the
mean overlap, and exits 1 if there was any violation.
"""
import argparse
import json
import os
import re
import sys
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT_ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
if PROJECT_ROOT not in sys.path:
    sys.path.insert(0, PROJECT_ROOT)

from rag.lexical import tokenize  # noqa: E402

EXPECTED_KEYS = {"id", "type", "question", "gold_titles", "reference_answer", "key_facts", "answerable"}
TYPES = ("lookup", "multi")
GOLD_RANGE = {"lookup": (1, 1), "multi": (2, 5)}
ID_RE = re.compile(r"^para-\d{3,}$")
MIN_WORDS, MAX_WORDS = 3, 10
MAX_OVERLAP = 2


def parse_seeds(seed_dir):
    """Return {title: [abstract, ...]}: check_dev.py's parser (one copy, imported)."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from check_dev import parse_seeds as parse

    return parse(seed_dir)


class Checker:
    def __init__(self, papers):
        self.papers = papers
        self.doc_tokens = {}
        self.errors = []
        self.seen_ids = {}
        self.seen_questions = {}
        self.counts = Counter()
        self.overlaps = []  # one value per (question, gold paper) pair
        self.max_overlaps = []  # one value per question: max over its gold papers

    def doc_toks(self, title):
        if title not in self.doc_tokens:
            text = title + " " + " ".join(self.papers[title])
            self.doc_tokens[title] = set(tokenize(text))
        return self.doc_tokens[title]

    def check_line(self, fname, lineno, raw):
        def err(msg, rid=None):
            tag = f"{fname}:{lineno}" + (f" ({rid})" if rid else "")
            self.errors.append(f"{tag}: {msg}")

        try:
            row = json.loads(raw)
        except json.JSONDecodeError as e:
            err(f"invalid JSON: {e}")
            return
        if not isinstance(row, dict):
            err("line is not a JSON object")
            return
        keys = set(row)
        if keys != EXPECTED_KEYS:
            err(f"wrong key set (missing={sorted(EXPECTED_KEYS - keys)}, extra={sorted(keys - EXPECTED_KEYS)})")
            return

        rid = row["id"]
        if not isinstance(rid, str) or not ID_RE.match(rid):
            err(f"bad id {rid!r} (expected 'para-NNN')")
            rid = str(rid)
        elif rid in self.seen_ids:
            err(f"duplicate id (first seen at {self.seen_ids[rid]})", rid)
        else:
            self.seen_ids[rid] = f"{fname}:{lineno}"

        typ = row["type"]
        if typ not in TYPES:
            err(f"invalid type {typ!r} (expected one of {', '.join(TYPES)})", rid)
        else:
            self.counts[typ] += 1
        for k in ("question", "reference_answer"):
            if not isinstance(row[k], str) or not row[k].strip():
                err(f"{k} must be a non-empty string", rid)
                return
        for k in ("gold_titles", "key_facts"):
            if not isinstance(row[k], list) or not all(isinstance(x, str) and x.strip() for x in row[k]):
                err(f"{k} must be a list of non-empty strings", rid)
                return
        if row["answerable"] is not True:
            err("answerable must be true", rid)

        question, gold, facts = row["question"], row["gold_titles"], row["key_facts"]

        # question shape and uniqueness
        n_words = len(question.split())
        if not MIN_WORDS <= n_words <= MAX_WORDS:
            err(f"question has {n_words} words (expected {MIN_WORDS}-{MAX_WORDS}): {question!r}", rid)
        qkey = " ".join(question.lower().split())
        if qkey in self.seen_questions:
            err(f"duplicate question (first seen at {self.seen_questions[qkey]})", rid)
        else:
            self.seen_questions[qkey] = f"{fname}:{lineno}"

        # gold titles
        if len(set(gold)) != len(gold):
            err("duplicate gold titles", rid)
        if typ in GOLD_RANGE:
            lo, hi = GOLD_RANGE[typ]
            if not lo <= len(gold) <= hi:
                err(f"type {typ!r} expects {lo}-{hi} gold titles, got {len(gold)}", rid)
        if not facts:
            err("needs >= 1 key fact", rid)

        known = []
        for t in gold:
            key = t.strip()
            if key not in self.papers:
                err(f"gold title not found in seeds: {t!r}", rid)
            else:
                known.append(key)

        # key facts: each fact in some gold abstract, each gold abstract covered by a fact
        low_abs = {t: [a.lower() for a in self.papers[t]] for t in known}
        for fact in facts:
            if not any(fact.lower() in a for t in known for a in low_abs[t]):
                err(f"key fact not found in any gold abstract: {fact!r}", rid)
        for t in known:
            if not any(fact.lower() in a for fact in facts for a in low_abs[t]):
                err(f"no key fact occurs in the abstract of gold paper {t!r}", rid)

        # lexical overlap with each gold paper
        qtoks = set(tokenize(question))
        per_gold = []
        for t in known:
            shared = sorted(qtoks & self.doc_toks(t))
            per_gold.append(len(shared))
            self.overlaps.append(len(shared))
            if len(shared) > MAX_OVERLAP:
                err(f"question shares {len(shared)} content words with {t!r}: {shared} (max {MAX_OVERLAP})", rid)
        if per_gold:
            self.max_overlaps.append(max(per_gold))

    def check_file(self, path):
        fname = path
        if not os.path.exists(path):
            self.errors.append(f"{fname}: file not found")
            return 0
        n = 0
        with open(path, encoding="utf-8") as f:
            for lineno, raw in enumerate(f, 1):
                if not raw.strip():
                    self.errors.append(f"{fname}:{lineno}: empty line")
                    continue
                n += 1
                self.check_line(fname, lineno, raw)
        return n


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+", help="JSONL files to check")
    ap.add_argument("--seeds", default=os.path.join(PROJECT_ROOT, "data", "seeds"))
    args = ap.parse_args()

    papers = parse_seeds(args.seeds)
    print(f"seeds: {len(papers)} unique titles from {args.seeds}")
    checker = Checker(papers)
    for path in args.files:
        before = Counter(checker.counts)
        n = checker.check_file(path)
        added = checker.counts - before
        detail = ", ".join(f"{t}={added[t]}" for t in TYPES)
        print(f"{path}: {n} questions ({detail})")

    total = sum(checker.counts.values())
    print(f"total questions: {total}")
    for t in TYPES:
        share = 100.0 * checker.counts[t] / total if total else 0.0
        print(f"  {t:<8} {checker.counts[t]:>4}  ({share:4.1f}%)")
    if checker.overlaps:
        mean_pair = sum(checker.overlaps) / len(checker.overlaps)
        mean_max = sum(checker.max_overlaps) / len(checker.max_overlaps)
        dist = Counter(checker.overlaps)
        dist_s = ", ".join(f"{k}:{dist[k]}" for k in sorted(dist))
        print(f"mean overlap per (question, gold paper) pair: {mean_pair:.2f}  (distribution {dist_s})")
        print(f"mean of per-question max overlap: {mean_max:.2f}")
    if checker.errors:
        print(f"\nFAILED with {len(checker.errors)} problem(s):")
        for e in checker.errors:
            print("  " + e)
        sys.exit(1)
    print("OK: all checks passed")


if __name__ == "__main__":
    main()
