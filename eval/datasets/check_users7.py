#!/usr/bin/env python3
"""Validate eval/datasets/users7.jsonl against the seed papers (stdlib only).

Modelled on check_users6.py, but users7 has a new question type ("definition":
"what is X" / "explain X" / "how does X work") and "multi" questions are now
"ways to / how to" questions, so this checker has its own main() and only borrows
the seed parser, the stemming and the content-word helpers of check_users3.py.

Checks (each one a FAILURE when violated):
  * keys, key order and types; ids u7-001..u7-080, unique; counts per type
    (definition 16, multi 14, lookup 18, detail 10, unanswerable 22);
  * questions of 3-14 words;
  * gold titles exist exactly in the seeds; number of gold papers per type
    (definition 1-3, multi 2-4, lookup 1, detail 1, unanswerable 0);
  * key facts occur VERBATIM (case-sensitive substring) in a gold abstract and
    are short (at most MAX_FACT_WORDS words); definition/lookup/detail items have
    1-3 key facts; every gold paper of a definition or multi item has a key fact of
    its own, and a multi item has exactly one key fact per gold paper;
  * a lookup shares at most 2 stemmed content words with its gold title+abstract
    (check_users4 stemming, check_users3 stop words);
  * unanswerable items have answerable=false, no gold and no key facts, and are
    either off-topic or near misses (OFF_TOPIC / NEAR_MISS below, 12 + 10):
      - off-topic: none of the item's key-term regexes matches any seed title or
        abstract;
      - near miss: the named paper is in the seeds (title substring) and the
        thing asked for (regex) does not occur in its abstract.

It prints the counts table (per type: n, conversational framing, "?", lower-case
start, mean words, distinct gold papers) and, for information, how many lookup gold
papers are also gold in users5/users6.

Usage: python3 eval/datasets/check_users7.py [path/to/users7.jsonl]
"""
import json
import os
import re
import sys
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_users3 as base  # noqa: E402

base.SUFFIXES = ("ations", "ation", "ings", "ing", "ers", "er", "ies", "ied", "es", "ed", "ly", "s")

DEFAULT = os.path.join(base.HERE, "users7.jsonl")
KEYS = ["id", "type", "question", "gold_titles", "reference_answer", "key_facts", "answerable"]
COUNTS = {"definition": 16, "multi": 14, "lookup": 18, "detail": 10, "unanswerable": 22}
PREFIX = "u7"
MIN_WORDS, MAX_WORDS = 3, 14
GOLD_RANGE = {"definition": (1, 3), "multi": (2, 4), "lookup": (1, 1), "detail": (1, 1),
              "unanswerable": (0, 0)}
MAX_LOOKUP_OVERLAP = 2
MAX_FACT_WORDS = 20
EARLIER = ["users5.jsonl", "users6.jsonl"]  # for the (informational) gold-reuse report

# Conversational lead-ins counted as "framing" (matched at the start of the question).
FRAMING = re.compile(
    r"^(hi\b|hey\b|hello\b|quick q|any idea|any |anything |is there |are there |how do i |"
    r"how can i |how do people |can i |tell me |i want |i need |need |does anyone |has anyone |"
    r"got any |looking for |i'?m looking |where can i |can you )",
    re.I)

# Off-topic items: regexes for the topic's key terms; none may match a seed title/abstract.
OFF_TOPIC = {
    "u7-059": [r"banknote", r"counterfeit", r"currency"],
    "u7-060": [r"\bloans?\b", r"default predict", r"credit (score|risk|card)", r"mortgage"],
    "u7-061": [r"\bnba\b", r"basketball", r"\bsports?\b"],
    "u7-062": [r"glaucoma", r"\bretina(l)?\b", r"fundus", r"ophthalm"],
    "u7-063": [r"stutter", r"dysfluen", r"speech (disorder|therapy)"],
    "u7-064": [r"solar", r"photovolt", r"renewable"],
    "u7-065": [r"exoplanet", r"kepler", r"light curves?"],
    "u7-066": [r"superconduct", r"critical temperature", r"materials? (science|discovery)"],
    "u7-067": [r"pandas", r"dataframe", r"groupby", r"spreadsheet"],
    "u7-068": [r"cuneiform", r"ancient", r"archaeolog"],
    "u7-069": [r"crossword", r"\bclues?\b", r"puzzles?"],
    "u7-070": [r"turbine", r"vibration", r"\bwind\b"],
}
# Near misses: (substring of the named paper's title, regex for what is asked) -- the regex
# must not match that paper's abstract.
NEAR_MISS = {
    "u7-071": ("Unleashing Large-Scale Video Generative Pre-training", r"\d+(\.\d+)?\s*[MB]\b|million param|billion param|parameters"),
    "u7-072": ("MossFormer2", r"SI-SNR|SDR|\bdB\b"),
    "u7-073": ("Adaptive Training Sample Selection", r"\bfps\b|frames per second|\d\s*ms\b|latency|speed"),
    "u7-074": ("KVCrush", r"llama|mistral|gpt|qwen|falcon|opt-|phi-"),
    "u7-075": ("DeepSpeed-MoE", r"\bint\d|\d-bit|bit width|bitwidth|quantiz"),
    "u7-076": ("TicketTalk", r"\bT5\b|BERT|GPT|Meena|LaMDA"),
    "u7-077": ("Adding NVMe SSDs", r"\bhours?\b|\bdays?\b|minutes|wall-clock|time to"),
    "u7-078": ("EMMA: End-to-End Multimodal Model", r"argoverse"),
    "u7-079": ("Training Language Models to Self-Correct", r"GSM8K|GSM-8K"),
    "u7-080": ("VILA^2", r"\d+(\.\d+)?\s*%|\bscore of\b|\d{2}\.\d"),
}


def earlier_gold():
    gold = set()
    for name in EARLIER:
        path = os.path.join(base.HERE, name)
        if os.path.exists(path):
            with open(path, encoding="utf-8") as fh:
                for line in fh:
                    if line.strip():
                        gold.update(json.loads(line).get("gold_titles", []))
    return gold


def check_unanswerable(iid, papers, errors):
    if iid in OFF_TOPIC:
        for pat in OFF_TOPIC[iid]:
            rx = re.compile(pat, re.I)
            hits = [t for t, abs_ in papers.items() if rx.search(t + " " + " ".join(abs_))]
            if hits:
                errors.append(f"{iid}: off-topic term /{pat}/ occurs in seeds: {hits[:3]}")
    elif iid in NEAR_MISS:
        sub, pat = NEAR_MISS[iid]
        named = [t for t in papers if sub.lower() in t.lower()]
        if len(named) != 1:
            errors.append(f"{iid}: near-miss paper {sub!r} matches {len(named)} seed titles")
        elif re.search(pat, " ".join(papers[named[0]]), re.I):
            errors.append(f"{iid}: near-miss regex /{pat}/ occurs in the abstract of {named[0]!r}")
    else:
        errors.append(f"{iid}: unanswerable item is neither in OFF_TOPIC nor in NEAR_MISS")


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else DEFAULT
    papers = base.load_seeds()
    errors = []
    items = base.load_items(path, errors)
    base.check_ids(items, PREFIX, COUNTS, errors)
    if len(OFF_TOPIC) + len(NEAR_MISS) != COUNTS["unanswerable"] or set(OFF_TOPIC) & set(NEAR_MISS):
        errors.append("OFF_TOPIC and NEAR_MISS must partition the unanswerable ids")

    stats = {t: Counter() for t in COUNTS}
    gold_by_type = {t: set() for t in COUNTS}
    overlaps = {}
    for it in items:
        iid = it.get("id", "?")
        if list(it.keys()) != KEYS:
            errors.append(f"{iid}: keys {list(it.keys())} != {KEYS}")
            continue
        t, q, gold, facts = it["type"], it["question"], it["gold_titles"], it["key_facts"]
        if t not in COUNTS:
            errors.append(f"{iid}: unknown type {t!r}")
            continue
        if not isinstance(q, str) or not q.strip():
            errors.append(f"{iid}: empty question")
            continue
        if not isinstance(it["reference_answer"], str) or not it["reference_answer"].strip():
            errors.append(f"{iid}: empty reference_answer")
        if not isinstance(gold, list) or not isinstance(facts, list):
            errors.append(f"{iid}: gold_titles/key_facts must be lists")
            continue
        if not isinstance(it["answerable"], bool):
            errors.append(f"{iid}: answerable must be bool")
        nw = len(q.split())
        if not MIN_WORDS <= nw <= MAX_WORDS:
            errors.append(f"{iid}: question has {nw} words (want {MIN_WORDS}-{MAX_WORDS})")

        s = stats[t]
        s["n"] += 1
        s["framed"] += bool(FRAMING.match(q.strip()))
        s["qmark"] += q.strip().endswith("?")
        s["lower"] += q.strip()[:1].islower()
        s["words"] += nw

        lo, hi = GOLD_RANGE[t]
        if not lo <= len(gold) <= hi:
            errors.append(f"{iid}: {len(gold)} gold titles for type {t} (want {lo}-{hi})")
        if t == "unanswerable":
            if it["answerable"] is not False or gold or facts:
                errors.append(f"{iid}: unanswerable needs answerable=false, no gold, no facts")
            check_unanswerable(iid, papers, errors)
            continue
        if it["answerable"] is not True:
            errors.append(f"{iid}: answerable item must have answerable=true")
        if not base.gold_in_seeds(iid, gold, papers, errors):
            continue
        gold_by_type[t].update(gold)

        if t == "multi":
            if len(facts) != len(gold):
                errors.append(f"{iid}: multi has {len(facts)} key facts for {len(gold)} gold papers (want one each)")
        elif not 1 <= len(facts) <= 3:
            errors.append(f"{iid}: {len(facts)} key facts (want 1-3)")
        abstracts = {g: " ".join(papers[g]) for g in gold}
        for kf in facts:
            if not isinstance(kf, str) or not kf.strip():
                errors.append(f"{iid}: empty key fact")
                continue
            if len(kf.split()) > MAX_FACT_WORDS:
                errors.append(f"{iid}: key fact longer than {MAX_FACT_WORDS} words: {kf[:40]!r}...")
            if not any(kf in a for a in abstracts.values()):
                errors.append(f"{iid}: key fact not verbatim in any gold abstract: {kf!r}")
        if t in ("multi", "definition"):
            for g, a in abstracts.items():
                if not any(kf in a for kf in facts):
                    errors.append(f"{iid}: gold paper without a key fact of its own: {g!r}")

        gold_text = " ".join(g + " " + abstracts[g] for g in gold)
        shared = base.content_words(q) & base.content_words(gold_text)
        overlaps[iid] = (t, sorted(shared))
        if t == "lookup" and len(shared) > MAX_LOOKUP_OVERLAP:
            errors.append(f"{iid}: lookup shares {len(shared)} > {MAX_LOOKUP_OVERLAP} content words "
                          f"with its gold paper: {sorted(shared)}")

    for t, c in COUNTS.items():
        if stats[t]["n"] != c:
            errors.append(f"type {t}: {stats[t]['n']} items (want {c})")

    print(f"{path}: {len(items)} items\n")
    print("Shared stemmed content words (question vs gold title+abstract):")
    for iid, (t, sh) in sorted(overlaps.items()):
        print(f"  {iid} {t:10s} {len(sh):2d}  {' '.join(sh)}")
    for t in ("definition", "multi", "lookup", "detail"):
        vals = [len(sh) for (tt, sh) in overlaps.values() if tt == t]
        if vals:
            print(f"mean shared words [{t}]: {sum(vals) / len(vals):.2f} (max {max(vals)}, n={len(vals)})")

    print("\nCounts:")
    print(f"  | {'type':12s} | {'n':>3s} | {'framed':>6s} | {'ends ?':>6s} | {'lower':>5s} | {'words':>5s} | {'gold papers':>11s} |")
    print(f"  |{'-' * 14}|{'-' * 5}|{'-' * 8}|{'-' * 8}|{'-' * 7}|{'-' * 7}|{'-' * 13}|")
    tot = Counter()
    for t in COUNTS:
        s = stats[t]
        n = s["n"] or 1
        print(f"  | {t:12s} | {s['n']:3d} | {s['framed']:6d} | {s['qmark']:6d} | {s['lower']:5d} | "
              f"{s['words'] / n:5.1f} | {len(gold_by_type[t]):11d} |")
        tot.update(s)
    all_gold = set().union(*gold_by_type.values())
    print(f"  | {'all':12s} | {tot['n']:3d} | {tot['framed']:6d} | {tot['qmark']:6d} | {tot['lower']:5d} | "
          f"{tot['words'] / max(tot['n'], 1):5.1f} | {len(all_gold):11d} |")
    print(f"  (unanswerable = {len(OFF_TOPIC)} off-topic + {len(NEAR_MISS)} near misses; "
          f"'gold papers' = distinct gold titles)")
    reused = sorted(gold_by_type["lookup"] & earlier_gold())
    print(f"\nlookup gold papers also gold in {'/'.join(EARLIER)} (informational): {len(reused)}")
    for g in reused:
        print("   ", g)

    base.finish(errors)


if __name__ == "__main__":
    main()
