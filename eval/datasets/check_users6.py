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
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_users3 as base  # noqa: E402

base.DEFAULT = os.path.join(base.HERE, "users6.jsonl")
base.COUNTS = {"lookup": 30, "detail": 12, "multi": 10, "unanswerable": 28}
base.PREFIX = "u6"
base.MAX_LOOKUP_OVERLAP = 2
base.SUFFIXES = ("ations", "ation", "ings", "ing", "ers", "er", "ies", "ied", "es", "ed", "ly", "s")
base.MIN_WORDS, base.MAX_WORDS = 4, 16

base.LOOKUP_OVERLAP_IS_ERROR = True

# Conversational lead-ins counted as "framing" (matched at the start of the question).
base.FRAMING = re.compile(
    r"^(hi\b|hey\b|hello\b|any |anything |is there |are there |how do i |how can i |can i |"
    r"tell me |i want |i need |need |does anyone |has anyone |got any |quick q|"
    r"what'?s a paper |whats a paper |looking for |i'?m looking |where can i |can you )",
    re.I)

if __name__ == "__main__":
    base.main()
