"""Helpers shared by the benchmark scripts (figures printed, never asserted)."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


def dev_questions(n: int) -> list[str]:
    rows = [json.loads(line) for line in (ROOT / "eval" / "datasets" / "dev.jsonl").read_text().splitlines() if line.strip()]
    return [r["question"] for r in rows][:n]


def summary(values: list[float]) -> str:
    return f"p50 {percentile(values, 50) * 1000:.1f} ms, p95 {percentile(values, 95) * 1000:.1f} ms, mean {statistics.mean(values) * 1000:.1f} ms"


def warm_search_times(retriever, queries: list[str], warmup: int = 5) -> list[float]:
    """Seconds per ``retriever.search`` over ``queries``, after ``warmup`` untimed searches."""
    import time

    for q in queries[:warmup]:
        retriever.search(q)
    times = []
    for q in queries:
        t = time.perf_counter()
        retriever.search(q)
        times.append(time.perf_counter() - t)
    return times
