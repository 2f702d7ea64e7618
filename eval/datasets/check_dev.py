#!/usr/bin/env python3
"""Validate an evaluation question set (dev.jsonl, users.jsonl, ...) against the seed paper files.

Standalone, python3 stdlib only.

Usage:
    python3 check_dev.py [--dev PATH] [--seeds DIR]

Defaults: dev.jsonl next to this script, seeds in the project's data/seeds.
Other sets with the same format (e.g. users.jsonl) are checked with --dev PATH.

Checks, per line:
  * valid JSON object with exactly the keys
    id, type, question, gold_titles, reference_answer, key_facts, answerable
  * field types (str / list[str] / bool), non-empty id/question/reference_answer
  * id matches "<prefix>-NNN" (lowercase prefix, e.g. dev-001, usr-001) and is unique
  * type is one of lookup, detail, multi, comparison, unanswerable
  * answerable == (type != "unanswerable")
  * unanswerable: gold_titles == [] and key_facts == []
  * answerable: >= 1 gold title and >= 1 key fact; no duplicate gold titles
  * every gold title exists in the seeds (exact match after stripping)
  * every key fact occurs (case-insensitive substring) in the abstract of at
    least one of the line's gold papers
  * soft type-shape checks: lookup/detail have 1 gold title, comparison has 2,
    multi has 2-6

Prints counts per type. On any failure prints one message per problem, each
naming the line number and id, and exits with code 1.
"""
import argparse
import glob
import json
import os
import re
import sys
from collections import Counter

EXPECTED_KEYS = {"id", "type", "question", "gold_titles", "reference_answer", "key_facts", "answerable"}
TYPES = ("lookup", "detail", "multi", "comparison", "unanswerable")
ID_RE = re.compile(r"^[a-z]+-\d{3,}$")


def parse_seeds(seed_dir):
    """Return {title: [abstract, ...]} from all *.txt seed files.

    Parser: non-empty stripped lines; a line shorter than 250 chars that is
    immediately followed by a line of >= 250 chars is a title, the long line
    its abstract. Page noise ("new", "Subscribe", dates, ...) is never followed
    by a long line, so it is skipped automatically.
    """
    papers = {}
    files = sorted(glob.glob(os.path.join(seed_dir, "*.txt")))
    if not files:
        raise SystemExit(f"ERROR: no seed files found in {seed_dir}")
    for path in files:
        with open(path, encoding="utf-8") as f:
            lines = [ln.strip() for ln in f]
        lines = [ln for ln in lines if ln]
        for i in range(len(lines) - 1):
            if len(lines[i]) < 250 and len(lines[i + 1]) >= 250:
                papers.setdefault(lines[i], [])
                if lines[i + 1] not in papers[lines[i]]:
                    papers[lines[i]].append(lines[i + 1])
    return papers


def check_line(lineno, raw, papers, seen_ids, errors):
    def err(msg, rid=None):
        tag = f"line {lineno}" + (f" ({rid})" if rid else "")
        errors.append(f"{tag}: {msg}")

    try:
        row = json.loads(raw)
    except json.JSONDecodeError as e:
        err(f"invalid JSON: {e}")
        return None
    if not isinstance(row, dict):
        err("line is not a JSON object")
        return None
    keys = set(row)
    if keys != EXPECTED_KEYS:
        missing = sorted(EXPECTED_KEYS - keys)
        extra = sorted(keys - EXPECTED_KEYS)
        err(f"wrong key set (missing={missing}, extra={extra})")
        return None

    rid = row["id"]
    if not isinstance(rid, str) or not ID_RE.match(rid):
        err(f"bad id {rid!r} (expected '<prefix>-NNN', e.g. 'dev-001')")
        rid = str(rid)
    elif rid in seen_ids:
        err(f"duplicate id (first seen on line {seen_ids[rid]})", rid)
    else:
        seen_ids[rid] = lineno

    typ = row["type"]
    if typ not in TYPES:
        err(f"invalid type {typ!r}", rid)
    for k in ("question", "reference_answer"):
        if not isinstance(row[k], str) or not row[k].strip():
            err(f"{k} must be a non-empty string", rid)
    for k in ("gold_titles", "key_facts"):
        if not isinstance(row[k], list) or not all(isinstance(x, str) and x.strip() for x in row[k]):
            err(f"{k} must be a list of non-empty strings", rid)
            return typ
    if not isinstance(row["answerable"], bool):
        err("answerable must be a boolean", rid)
        return typ

    gold, facts, answerable = row["gold_titles"], row["key_facts"], row["answerable"]
    if answerable != (typ != "unanswerable"):
        err(f"answerable={answerable} inconsistent with type {typ!r}", rid)

    if typ == "unanswerable":
        if gold:
            err("unanswerable question must have empty gold_titles", rid)
        if facts:
            err("unanswerable question must have empty key_facts", rid)
        return typ

    if not gold:
        err("answerable question needs >= 1 gold title", rid)
    if not facts:
        err("answerable question needs >= 1 key fact", rid)
    if len(set(gold)) != len(gold):
        err("duplicate gold titles", rid)
    expected_n = {"lookup": (1, 1), "detail": (1, 1), "comparison": (2, 2), "multi": (2, 6)}.get(typ)
    if expected_n and not (expected_n[0] <= len(gold) <= expected_n[1]):
        err(f"type {typ!r} expects {expected_n[0]}-{expected_n[1]} gold titles, got {len(gold)}", rid)

    abstracts = []
    for t in gold:
        key = t.strip()
        if key not in papers:
            err(f"gold title not found in seeds: {t!r}", rid)
        else:
            abstracts.extend(papers[key])
    low_abs = [a.lower() for a in abstracts]
    for fact in facts:
        if not any(fact.lower() in a for a in low_abs):
            err(f"key fact not found in any gold abstract: {fact!r}", rid)
    return typ


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dev", default=os.path.join(here, "dev.jsonl"))
    ap.add_argument("--seeds", default=os.path.join(here, "..", "..", "data", "seeds"))
    args = ap.parse_args()

    papers = parse_seeds(args.seeds)
    print(f"seeds: {len(papers)} unique titles from {args.seeds}")
    if not os.path.exists(args.dev):
        print(f"ERROR: dev file not found: {args.dev}")
        sys.exit(1)

    errors, seen_ids, counts = [], {}, Counter()
    n = 0
    with open(args.dev, encoding="utf-8") as f:
        for lineno, raw in enumerate(f, 1):
            if not raw.strip():
                errors.append(f"line {lineno}: empty line")
                continue
            n += 1
            typ = check_line(lineno, raw, papers, seen_ids, errors)
            if typ is not None:
                counts[typ] += 1

    print(f"questions: {n}")
    for t in TYPES:
        share = 100.0 * counts[t] / n if n else 0.0
        print(f"  {t:<13} {counts[t]:>4}  ({share:4.1f}%)")
    if errors:
        print(f"\nFAILED with {len(errors)} problem(s):")
        for e in errors:
            print("  " + e)
        sys.exit(1)
    print("OK: all checks passed")


if __name__ == "__main__":
    main()
