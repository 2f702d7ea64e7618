#!/usr/bin/env python3
"""Validate eval/datasets/users5.jsonl against the seed papers (stdlib only).

The checks of check_users3.py / check_users4.py (keys/types, unique ids, gold titles exist
exactly, key facts are substrings of a gold abstract, each multi gold paper has a key fact,
unanswerable items have no gold/key facts), with users5's ids and counts (35/10/10/25), the
users4 stemming of content words and questions of 3-16 words; lookups sharing more than two
stemmed content words with their gold paper are listed as a warning (not a failure). It also
reports (informational, never a failure) how many questions open with a conversational
lead-in (FRAMING below) and how many end with "?".

Usage: python3 eval/datasets/check_users5.py [path/to/users5.jsonl]
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_users3 as base  # noqa: E402

base.DEFAULT = os.path.join(base.HERE, "users5.jsonl")
base.COUNTS = {"lookup": 35, "detail": 10, "multi": 10, "unanswerable": 25}
base.PREFIX = "u5"
base.MAX_LOOKUP_OVERLAP = 2
base.SUFFIXES = ("ations", "ation", "ings", "ing", "ers", "er", "ies", "ied", "es", "ed", "ly", "s")
base.MAX_WORDS = 16

# Conversational lead-ins counted as "framing" (matched at the start of the question).
base.FRAMING = re.compile(
    r"^(any |anything |is there |are there |how do i |how can i |can i |tell me |"
    r"what'?s a good way |what'?s out there |what'?s the trick |whats the trick |"
    r"i'?m looking |looking for |i need |need |does anyone |has anyone |got any |quick q)",
    re.I)

if __name__ == "__main__":
    base.main()
