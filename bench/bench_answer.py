"""Answer latency with the default local model, and the pipeline's overhead vs. raw llama.cpp.

For each of N dev-set questions (answerable ones first): the full pipeline
(`Answerer.ask`: retrieval, prompt, generation, verification) and then the raw
llama.cpp call (`create_chat_completion`, streamed, same messages, same parameters) in the
same process, alternating, each starting from an empty llama.cpp KV cache (otherwise the
second call reuses the first one's prompt and skips prompt processing). Overhead = (pipeline total - raw total) / raw total, over all
questions. Abstentions decided before the LLM are skipped (no generation to compare).
"""

from __future__ import annotations

import statistics
import sys
import time

from common import dev_questions, percentile

from rag.answer import Answerer, build_sources
from rag.settings import load_settings


def raw_call(llm, messages, settings) -> float:
    llm.model.reset()  # no KV-cache reuse from the pipeline's identical prompt
    t = time.perf_counter()
    for _ in llm.model.create_chat_completion(
        [{"role": m.role, "content": m.content} for m in messages],
        max_tokens=settings.llm.max_tokens,
        temperature=settings.llm.temperature,
        seed=settings.llm.seed,
        stream=True,
    ):
        pass
    return time.perf_counter() - t


def main(n: int = 10) -> None:
    settings = load_settings()
    answerer = Answerer(settings)
    answerer.retriever.warm()
    llm = answerer.llm
    _ = llm.model
    rows = []
    for q in dev_questions(40):
        if len(rows) >= n:
            break
        llm.model.reset()  # both calls start from an empty KV cache
        a = answerer.ask(q)
        if a.abstain_reason == "retrieval":
            continue
        hits = answerer.retriever.search(q, k=max(settings.retrieval.top_k, settings.answer.max_sources))
        raw = raw_call(llm, answerer.messages(a.question, build_sources(hits, settings)), settings)
        t = a.timings
        rows.append((t.retrieval_s, t.first_token_s or 0.0, t.verification_s, t.total_s, raw, a.tokens.completion))
        print(
            f"retrieval {t.retrieval_s * 1000:6.0f} ms  first token {t.first_token_s or 0:5.1f} s  verify {t.verification_s * 1000:5.0f} ms  "
            f"total {t.total_s:5.1f} s | raw llama.cpp {raw:5.1f} s | {a.tokens.completion:3d} tokens | {a.status}"
        )
    cols = list(zip(*rows))
    total, raw = sum(cols[3]), sum(cols[4])
    print(
        f"\n{len(rows)} questions: retrieval p50 {percentile(cols[0], 50) * 1000:.0f} ms; "
        f"time to first token p50 {percentile(cols[1], 50):.1f} s (p95 {percentile(cols[1], 95):.1f}); "
        f"verification p50 {percentile(cols[2], 50) * 1000:.0f} ms; total p50 {percentile(cols[3], 50):.1f} s "
        f"(p95 {percentile(cols[3], 95):.1f}); mean completion {statistics.mean(cols[5]):.0f} tokens"
    )
    print(f"pipeline overhead vs raw llama.cpp: {(total - raw) / raw * 100:+.1f} %  (sum {total:.1f} s vs {raw:.1f} s; target < 10 %)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
