#!/usr/bin/env python3
"""Validate eval/datasets/users6.jsonl against the seed papers (stdlib only).

The checks of check_users3.py / check_users5.py (keys/types, unique ids, gold titles exist
exactly, key facts are substrings of a gold abstract, each multi gold paper has a key fact,
unanswerable items have no gold/key facts), with users6's ids and counts (30/12/10/28), the
users4 stemming of content words and questions of 4-16 words.

Stricter than check_users5: a lookup sharing more than two stemmed content words with its
gold title+abstract is a FAILURE here (check_users3 only lists it as a warning). Detail,
multi and unanswerable questions have no overlap limit (detail questions name the method).

It also reports (informational, never a failure) how many questions open with a
conversational lead-in (FRAMING below) and how many end with "?".

Usage: python3 eval/datasets/check_users6.py [path/to/users6.jsonl]
"""
import json
import os
import re
import sys
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_users3 as base  # noqa: E402

base.DEFAULT = os.path.join(base.HERE, "users6.jsonl")
base.COUNTS = {"lookup": 30, "detail": 12, "multi": 10, "unanswerable": 28}
base.PREFIX = "u6"
base.MAX_LOOKUP_OVERLAP = 2
base.SUFFIXES = ("ations", "ation", "ings", "ing", "ers", "er", "ies", "ied", "es", "ed", "ly", "s")
base.MIN_WORDS, base.MAX_WORDS = 4, 16

# Conversational lead-ins counted as "framing" (matched at the start of the question).
FRAMING = re.compile(
    r"^(hi\b|hey\b|hello\b|any |anything |is there |are there |how do i |how can i |can i |"
    r"tell me |i want |i need |need |does anyone |has anyone |got any |quick q|"
    r"what'?s a paper |whats a paper |looking for |i'?m looking |where can i |can you )",
    re.I)


def load(path):
    items = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            try:
                items.append(json.loads(line))
            except ValueError:
                continue  # base.main reports bad lines
    return items


def framing_report(items):
    """Per type: questions with a conversational lead-in, and ending with "?"."""
    types, framed, qmark = Counter(), Counter(), Counter()
    for it in items:
        try:
            t, q = it["type"], it["question"].strip()
        except (KeyError, TypeError, AttributeError):
            continue
        types[t] += 1
        framed[t] += bool(FRAMING.match(q))
        qmark[t] += q.endswith("?")
    print("Conversational framing / question mark (informational):")
    for t in types:
        print(f"  {t:12s} n={types[t]:2d}  framed={framed[t]:2d}  ends with '?'={qmark[t]:2d}")
    print(f"  {'all':12s} n={sum(types.values()):2d}  framed={sum(framed.values()):2d}  "
          f"ends with '?'={sum(qmark.values()):2d}\n")


def lookup_overlap_failures(items):
    """Lookups sharing more than MAX_LOOKUP_OVERLAP stemmed content words with gold."""
    papers = base.load_seeds()
    bad = []
    for it in items:
        if it.get("type") != "lookup":
            continue
        gold = [g for g in it.get("gold_titles", []) if g in papers]
        if not gold:
            continue  # base.main reports missing titles
        text = " ".join(g + " " + " ".join(papers[g]) for g in gold)
        shared = base.content_words(it["question"]) & base.content_words(text)
        if len(shared) > base.MAX_LOOKUP_OVERLAP:
            bad.append((it.get("id"), sorted(shared)))
    return bad


if __name__ == "__main__":
    path = sys.argv[1] if len(sys.argv) > 1 else base.DEFAULT
    items = load(path)
    framing_report(items)
    bad = lookup_overlap_failures(items)
    base.main()  # exits 1 on its own errors, else prints PASS
    if bad:
        print(f"\nFAIL: {len(bad)} lookup(s) share > {base.MAX_LOOKUP_OVERLAP} content words "
              "with their gold paper (a hard limit in users6):")
        for iid, shared in bad:
            print(f"  - {iid}: {' '.join(shared)}")
        sys.exit(1)
    print(f"lookup overlap limit (<= {base.MAX_LOOKUP_OVERLAP} shared content words): OK")
