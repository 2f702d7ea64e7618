#!/usr/bin/env python3
"""Validate eval/datasets/users5.jsonl against the seed papers (stdlib only).

The checks of check_users3.py / check_users4.py (keys/types, unique ids, gold titles exist
exactly, key facts are substrings of a gold abstract, each multi gold paper has a key fact,
unanswerable items have no gold/key facts), with users5's ids and counts (35/10/10/25) and the
users4 stemming of content words; lookups sharing more than two stemmed content words with
their gold paper are listed as a warning (not a failure).

check_users3.main() hard-codes the 3-14 word limit, so this script keeps check_users3's
settings, seed parser and word helpers (imported) and carries its own copy of the main loop
with the limit raised to 3-16 words. It also reports (informational, never a failure) how many
questions open with a conversational lead-in (FRAMING below) and how many end with "?".

Usage: python3 eval/datasets/check_users5.py [path/to/users5.jsonl]
"""
import json
import os
import re
import sys
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_users3 as base  # noqa: E402

base.DEFAULT = os.path.join(base.HERE, "users5.jsonl")
base.COUNTS = {"lookup": 35, "detail": 10, "multi": 10, "unanswerable": 25}
base.PREFIX = "u5"
base.MAX_LOOKUP_OVERLAP = 2
base.SUFFIXES = ("ations", "ation", "ings", "ing", "ers", "er", "ies", "ied", "es", "ed", "ly", "s")
MIN_WORDS, MAX_WORDS = 3, 16

# Conversational lead-ins counted as "framing" (matched at the start of the question).
FRAMING = re.compile(
    r"^(any |anything |is there |are there |how do i |how can i |can i |tell me |"
    r"what'?s a good way |what'?s out there |what'?s the trick |whats the trick |"
    r"i'?m looking |looking for |i need |need |does anyone |has anyone |got any |quick q)",
    re.I)


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else base.DEFAULT
    papers = base.load_seeds()
    counts, prefix, keys = base.COUNTS, base.PREFIX, base.KEYS
    errors = []
    items = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                errors.append(f"line {n}: blank line")
                continue
            try:
                items.append(json.loads(line))
            except json.JSONDecodeError as e:
                errors.append(f"line {n}: bad JSON ({e})")

    ids = Counter(it.get("id") for it in items)
    for i, c in ids.items():
        if c > 1:
            errors.append(f"duplicate id {i}")
    n_items = sum(counts.values())
    expected_ids = {f"{prefix}-{k:03d}" for k in range(1, n_items + 1)}
    if set(ids) != expected_ids:
        errors.append(f"ids differ from {prefix}-001..{prefix}-{n_items:03d}: "
                      f"missing={sorted(expected_ids - set(ids))[:5]} "
                      f"extra={sorted(set(ids) - expected_ids)[:5]}")

    types = Counter()
    overlaps = {}
    framed, qmark = Counter(), Counter()
    for it in items:
        iid = it.get("id", "?")
        if list(it.keys()) != keys:
            errors.append(f"{iid}: keys {list(it.keys())} != {keys}")
            continue
        t = it["type"]
        types[t] += 1
        if t not in counts:
            errors.append(f"{iid}: unknown type {t!r}")
        if not isinstance(it["question"], str) or not it["question"].strip():
            errors.append(f"{iid}: empty question")
            continue
        q = it["question"].strip()
        framed[t] += bool(FRAMING.match(q))
        qmark[t] += q.endswith("?")
        if not isinstance(it["reference_answer"], str) or not it["reference_answer"].strip():
            errors.append(f"{iid}: empty reference_answer")
        if not isinstance(it["gold_titles"], list) or not isinstance(it["key_facts"], list):
            errors.append(f"{iid}: gold_titles/key_facts must be lists")
            continue
        if not isinstance(it["answerable"], bool):
            errors.append(f"{iid}: answerable must be bool")
        nw = len(q.split())
        if not MIN_WORDS <= nw <= MAX_WORDS:
            errors.append(f"{iid}: question has {nw} words (want {MIN_WORDS}-{MAX_WORDS})")

        gold, facts = it["gold_titles"], it["key_facts"]
        if t == "unanswerable":
            if it["answerable"] is not False or gold or facts:
                errors.append(f"{iid}: unanswerable needs answerable=false, no gold, no facts")
            continue
        if it["answerable"] is not True:
            errors.append(f"{iid}: answerable item must have answerable=true")
        want = (2, 4) if t == "multi" else (1, 1)
        if not want[0] <= len(gold) <= want[1]:
            errors.append(f"{iid}: {len(gold)} gold titles for type {t}")
        if len(set(gold)) != len(gold):
            errors.append(f"{iid}: repeated gold title")
        missing = [g for g in gold if g not in papers]
        for g in missing:
            errors.append(f"{iid}: gold title not in seeds: {g!r}")
        if missing:
            continue
        if not 1 <= len(facts) <= 3 and t != "multi":
            errors.append(f"{iid}: {len(facts)} key facts (want 1-3)")
        if t == "multi" and not 1 <= len(facts) <= 3 * len(gold):
            errors.append(f"{iid}: {len(facts)} key facts for multi")
        abstracts = {g: " ".join(papers[g]).lower() for g in gold}
        for kf in facts:
            if not any(kf.lower() in a for a in abstracts.values()):
                errors.append(f"{iid}: key fact not in any gold abstract: {kf!r}")
        if t == "multi":
            for g, a in abstracts.items():
                if not any(kf.lower() in a for kf in facts):
                    errors.append(f"{iid}: multi gold paper without key fact: {g!r}")
        gold_text = " ".join(g + " " + " ".join(papers[g]) for g in gold)
        shared = base.content_words(q) & base.content_words(gold_text)
        overlaps[iid] = (t, sorted(shared))

    for t, c in counts.items():
        if types[t] != c:
            errors.append(f"type {t}: {types[t]} items (want {c})")
    if len(items) != n_items:
        errors.append(f"{len(items)} items (want {n_items})")

    print(f"{path}: {len(items)} items; types: {dict(types)}")
    print("\nShared content words (question vs gold title+abstract):")
    for iid, (t, shared) in sorted(overlaps.items()):
        print(f"  {iid} {t:7s} {len(shared):2d}  {' '.join(shared)}")
    for t in ("lookup", "detail", "multi"):
        vals = [len(s) for (tt, s) in overlaps.values() if tt == t]
        if vals:
            print(f"mean shared words [{t}]: {sum(vals) / len(vals):.2f} (max {max(vals)}, n={len(vals)})")
    allv = [len(s) for (_, s) in overlaps.values()]
    if allv:
        print(f"mean shared words [all answerable]: {sum(allv) / len(allv):.2f} (n={len(allv)})")

    print("\nConversational framing / question mark (informational):")
    for t in counts:
        print(f"  {t:12s} n={types[t]:2d}  framed={framed[t]:2d}  ends with '?'={qmark[t]:2d}")
    print(f"  {'all':12s} n={len(items):2d}  framed={sum(framed.values()):2d}  "
          f"ends with '?'={sum(qmark.values()):2d}")

    high = [iid for iid, (t, sh) in sorted(overlaps.items()) if t == "lookup" and len(sh) > base.MAX_LOOKUP_OVERLAP]
    if high:
        print(f"WARNING: lookups sharing > {base.MAX_LOOKUP_OVERLAP} content words: {' '.join(high)}")

    if errors:
        print(f"\nFAIL: {len(errors)} problem(s)")
        for e in errors:
            print("  -", e)
        sys.exit(1)
    print("\nPASS")


if __name__ == "__main__":
    main()
