#!/usr/bin/env python3
"""Validate eval/datasets/users4.jsonl against the seed papers (stdlib only).

The checks of check_users3.py (keys/types, unique ids, gold titles exist exactly, key facts
are substrings of a gold abstract, each multi gold paper has a key fact, 3-14 words,
unanswerable items have no gold/key facts), with users4's ids and counts; content words are
lightly stemmed (crude suffix stripping, both sides) before the overlap is counted, and
lookups sharing more than two stemmed content words with their gold paper are listed as a
warning (not a failure).

Usage: python3 eval/datasets/check_users4.py [path/to/users4.jsonl]
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_users3 as base  # noqa: E402

base.DEFAULT = os.path.join(base.HERE, "users4.jsonl")
base.COUNTS = {"lookup": 30, "detail": 10, "multi": 10, "unanswerable": 20}
base.PREFIX = "u4"
base.MAX_LOOKUP_OVERLAP = 2
base.SUFFIXES = ("ations", "ation", "ings", "ing", "ers", "er", "ies", "ied", "es", "ed", "ly", "s")

if __name__ == "__main__":
    base.main()
