#!/usr/bin/env python3
"""Validate eval/datasets/users3.jsonl against the seed papers (stdlib only).

Checks: keys/types, unique ids, gold titles exist exactly, key facts are
(case-insensitive) substrings of a gold abstract, each multi gold paper has a
key fact, question word count 3-14 (MIN_WORDS, MAX_WORDS), unanswerable items have no gold/key facts.
Also reports, per answerable question, how many content words it shares with
its gold title+abstract (lexical overlap; lower = more "own words").

Usage: python3 eval/datasets/check_users3.py [path/to/users3.jsonl]
"""
import glob
import json
import os
import re
import sys
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SEED_DIR = os.path.join(ROOT, "data", "seeds")
DEFAULT = os.path.join(HERE, "users3.jsonl")

KEYS = ["id", "type", "question", "gold_titles", "reference_answer",
        "key_facts", "answerable"]
COUNTS = {"lookup": 35, "detail": 15, "multi": 10, "unanswerable": 20}
PREFIX = "u3"  # ids run PREFIX-001 .. PREFIX-<sum of COUNTS>
MAX_LOOKUP_OVERLAP = None  # when set: lookups sharing more content words are listed as a warning
LOOKUP_OVERLAP_IS_ERROR = False  # when True: ... and the set fails (check_users6)
FRAMING = None  # a compiled regex of conversational lead-ins: when set, main() first reports them
SUFFIXES = ()  # suffixes stripped from content words before counting overlap (check_users4 sets them)
MIN_WORDS, MAX_WORDS = 3, 14  # question length limits (check_users5 raises the upper one)

STOP = set("""
the and for are but not you all any can had her was one our out has him his how
its may new now old see two who did get got let put say she too use from that
this with have what when where which while will would could should there their
them then than they these those into onto over under about above after again
also been being both does doing done each even ever just like many more most
much must only other same some such very your yours whom whose why been were
here off own per via yes way able make made find found show shows shown give
gives using used use based upon within without between across through during
among any anything something paper papers work works study studies approach
method methods propose proposed proposes uses can't don't isn't
""".split())


def load_seeds(seed_dir=SEED_DIR):
    """Return {title: [abstract, ...]} parsed from the seed files.

    Each file: a short site header ending with a 'by AK ...' line, optionally a
    date line ('Mar 11'), then alternating title / abstract lines separated by
    blank lines.
    """
    papers = {}
    files = sorted(glob.glob(os.path.join(seed_dir, "*.txt")))
    if not files:
        sys.exit(f"no seed files in {seed_dir}")
    for f in files:
        with open(f, encoding="utf-8") as fh:
            lines = [ln.strip() for ln in fh if ln.strip()]
        start = None
        for k, line in enumerate(lines):
            if re.match(r"^by ?AK\b", line):
                start = k + 1
                break
        if start is None:
            sys.exit(f"{f}: header line 'by AK' not found")
        if start < len(lines) and re.match(r"^[A-Z][a-z]{2} \d{1,2}$", lines[start]):
            start += 1
        body = lines[start:]
        if len(body) % 2:
            sys.exit(f"{f}: odd number of title/abstract lines")
        for j in range(0, len(body), 2):
            papers.setdefault(body[j], [])
            if body[j + 1] not in papers[body[j]]:
                papers[body[j]].append(body[j + 1])
    return papers


def words(text):
    return re.findall(r"[a-z]+", text.lower())


def stem(w):
    """Crude suffix stripping (``SUFFIXES``), so that e.g. train/training/trained match."""
    for suf in SUFFIXES:
        if w.endswith(suf) and len(w) - len(suf) >= 3:
            return w[: -len(suf)]
    return w


def content_words(text):
    return {stem(w) for w in words(text) if len(w) >= 3 and w not in STOP}


def framing_report(items):
    """Per type: questions opening with a lead-in of FRAMING, and ending with "?" (informational)."""
    types, framed, qmark = Counter(), Counter(), Counter()
    for it in items:
        try:
            t, q = it["type"], it["question"].strip()
        except (KeyError, TypeError, AttributeError):
            continue  # main() reports the item
        types[t] += 1
        framed[t] += bool(FRAMING.match(q))
        qmark[t] += q.endswith("?")
    print("Conversational framing / question mark (informational):")
    for t in types:
        print(f"  {t:12s} n={types[t]:2d}  framed={framed[t]:2d}  ends with '?'={qmark[t]:2d}")
    print(f"  {'all':12s} n={sum(types.values()):2d}  framed={sum(framed.values()):2d}  "
          f"ends with '?'={sum(qmark.values()):2d}\n")


def load_items(path, errors):
    """The JSON objects of a JSONL file; a blank or unparsable line is an error naming its number."""
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
    return items


def check_ids(items, prefix, counts, errors):
    """Ids are unique and run prefix-001 .. prefix-<sum of counts>."""
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
    return n_items


def gold_in_seeds(iid, gold, papers, errors):
    """Gold titles are distinct and each is a seed paper's exact title; False when one is not."""
    if len(set(gold)) != len(gold):
        errors.append(f"{iid}: repeated gold title")
    missing = [g for g in gold if g not in papers]
    for g in missing:
        errors.append(f"{iid}: gold title not in seeds: {g!r}")
    return not missing


def finish(errors):
    """Print the problems and exit 1, or print PASS."""
    if errors:
        print(f"\nFAIL: {len(errors)} problem(s)")
        for e in errors:
            print("  -", e)
        sys.exit(1)
    print("\nPASS")


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else DEFAULT
    papers = load_seeds()
    errors = []
    items = load_items(path, errors)
    if FRAMING is not None:
        framing_report(items)

    n_items = check_ids(items, PREFIX, COUNTS, errors)

    types = Counter()
    overlaps = {}
    for it in items:
        iid = it.get("id", "?")
        if list(it.keys()) != KEYS:
            errors.append(f"{iid}: keys {list(it.keys())} != {KEYS}")
            continue
        t = it["type"]
        types[t] += 1
        if t not in COUNTS:
            errors.append(f"{iid}: unknown type {t!r}")
        if not isinstance(it["question"], str) or not it["question"].strip():
            errors.append(f"{iid}: empty question")
            continue
        if not isinstance(it["reference_answer"], str) or not it["reference_answer"].strip():
            errors.append(f"{iid}: empty reference_answer")
        if not isinstance(it["gold_titles"], list) or not isinstance(it["key_facts"], list):
            errors.append(f"{iid}: gold_titles/key_facts must be lists")
            continue
        if not isinstance(it["answerable"], bool):
            errors.append(f"{iid}: answerable must be bool")
        nw = len(it["question"].split())
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
        if not gold_in_seeds(iid, gold, papers, errors):
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
        shared = content_words(it["question"]) & content_words(gold_text)
        overlaps[iid] = (t, sorted(shared))

    for t, c in COUNTS.items():
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

    if MAX_LOOKUP_OVERLAP is not None:
        high = [iid for iid, (t, sh) in sorted(overlaps.items()) if t == "lookup" and len(sh) > MAX_LOOKUP_OVERLAP]
        if high and LOOKUP_OVERLAP_IS_ERROR:
            errors += [f"{iid}: lookup shares > {MAX_LOOKUP_OVERLAP} content words with its gold paper" for iid in high]
        elif high:
            print(f"WARNING: lookups sharing > {MAX_LOOKUP_OVERLAP} content words: {' '.join(high)}")

    finish(errors)


if __name__ == "__main__":
    main()
