"""Answer latency with the default local model, and the pipeline's overhead vs. raw llama.cpp.

For each of N dev-set questions (answerable ones first): the full pipeline
(`Answerer.ask`: retrieval, prompt, generation, verification) and then the raw
llama.cpp call (`create_chat_completion`, streamed, same messages, same parameters) in the
same process, alternating, each starting from an empty llama.cpp KV cache (otherwise the
second call reuses the first one's prompt and skips prompt processing). Overhead = (pipeline total - raw total) / raw total, over all
questions. Answers made without the LLM (abstentions, hedged quotes) are skipped: there is no
generation to compare.
Then the same questions again one after another without a reset, as a service or `rag chat`
asks them: llama.cpp reuses the KV cache of the prefix shared with the previous prompt (the
system prompt), and the time to first token is compared with the empty-cache runs. Also
prints prompt-processing and generation speed in tokens per second, and the model as the
pipeline runs it (converted to Q4_0, flash attention) against the model as shipped (Q4_K_M),
raw calls on the same prompts, alternating.
"""

from __future__ import annotations

import statistics
import sys
import time

from common import dev_questions, percentile

from rag.answer import Answerer, evidence_sources
from rag.settings import load_settings


def raw_call(llm, messages, settings) -> float:
    return raw_timed(llm, messages, settings)[1]


def raw_timed(llm, messages, settings) -> tuple[float, float]:
    """(time to first token, total) of one raw streamed llama.cpp call from an empty KV cache."""
    llm.model.reset()  # no KV-cache reuse from the pipeline's identical prompt
    t = time.perf_counter()
    first = None
    for chunk in llm.model.create_chat_completion(
        [{"role": m.role, "content": m.content} for m in messages],
        max_tokens=settings.llm.max_tokens,
        temperature=settings.llm.temperature,
        seed=settings.llm.seed,
        stream=True,
    ):
        if first is None and chunk["choices"][0].get("delta", {}).get("content"):
            first = time.perf_counter() - t
    total = time.perf_counter() - t
    return (first if first is not None else total), total


def compare_shipped(answerer, settings, questions) -> None:
    """The model as the pipeline runs it (llm.requantize, llm.flash_attention) vs. as shipped
    (Q4_K_M, no flash attention): raw llama.cpp calls on the same prompts, alternating."""
    from rag.llm import LlamaCppLLM

    shipped_settings = settings.model_copy(update={"llm": settings.llm.model_copy(update={"requantize": "none", "flash_attention": False})})
    ours, shipped = answerer.llm, LlamaCppLLM(shipped_settings)
    if getattr(ours, "path", None) == shipped.path and settings.llm.flash_attention is False:
        print("\nthe pipeline runs the model as shipped: nothing to compare")
        return
    a, b = [], []
    for q in questions:
        hits = answerer.retriever.search_with(q, (), k=max(settings.retrieval.top_k, settings.answer.max_sources))
        messages = answerer.messages(q, evidence_sources(hits, answerer.evidence(q, hits), settings))
        b.append(raw_timed(shipped, messages, shipped_settings))
        a.append(raw_timed(ours, messages, settings))
    fa, ta = zip(*a)
    fb, tb = zip(*b)
    print(
        f"\n{ours.name} (flash attention {settings.llm.flash_attention}) vs as shipped {shipped.name}, raw llama.cpp, "
        f"{len(a)} prompts alternating: first token p50 {statistics.median(fa):.2f} s vs {statistics.median(fb):.2f} s "
        f"(ratio {statistics.median(fa) / statistics.median(fb):.2f}); total p50 {statistics.median(ta):.2f} s vs "
        f"{statistics.median(tb):.2f} s (ratio {statistics.median(ta) / statistics.median(tb):.2f})"
    )


def main(n: int = 10) -> None:
    settings = load_settings()
    answerer = Answerer(settings)
    answerer.retriever.warm()
    llm = answerer.llm
    _ = llm.model
    rows, asked = [], []
    for q in dev_questions(40):
        if len(rows) >= n:
            break
        llm.model.reset()  # both calls start from an empty KV cache
        a = answerer.ask(q)
        if a.tokens.prompt == 0:  # declined before the LLM, or a hedged quote: the LLM did not run
            continue
        asked.append(q)
        hits = answerer.retriever.search_with(a.question, (), k=max(settings.retrieval.top_k, settings.answer.max_sources))
        sources = evidence_sources(hits, answerer.evidence(a.question, hits), settings)  # the prompt ask() sent
        raw = raw_call(llm, answerer.messages(a.question, sources), settings)
        t = a.timings
        gen = max(1e-9, (t.generation_s or 0.0) - (t.first_token_s or 0.0))
        rows.append((t.retrieval_s, t.first_token_s or 0.0, t.verification_s, t.total_s, raw, a.tokens.completion, a.tokens.prompt, gen))
        print(
            f"retrieval {t.retrieval_s * 1000:6.0f} ms  first token {t.first_token_s or 0:5.1f} s  verify {t.verification_s * 1000:5.0f} ms  "
            f"total {t.total_s:5.1f} s | raw llama.cpp {raw:5.1f} s | prompt {a.tokens.prompt:4d} / answer {a.tokens.completion:3d} tokens | {a.status}"
        )
    cols = list(zip(*rows))
    total, raw = sum(cols[3]), sum(cols[4])
    print(
        f"\n{len(rows)} questions, empty KV cache: retrieval p50 {percentile(cols[0], 50) * 1000:.0f} ms; "
        f"time to first token p50 {percentile(cols[1], 50):.1f} s (p95 {percentile(cols[1], 95):.1f}); "
        f"verification p50 {percentile(cols[2], 50) * 1000:.0f} ms; total p50 {percentile(cols[3], 50):.1f} s "
        f"(p95 {percentile(cols[3], 95):.1f}); prompt p50 {percentile(cols[6], 50):.0f} tokens; mean completion {statistics.mean(cols[5]):.0f} tokens"
    )
    print(
        f"prompt processing {sum(cols[6]) / sum(cols[1]):.0f} tokens/s (prompt tokens / time to first token); "
        f"generation {sum(cols[5]) / sum(cols[7]):.1f} tokens/s"
    )
    print(f"pipeline overhead vs raw llama.cpp: {(total - raw) / raw * 100:+.1f} %  (sum {total:.1f} s vs {raw:.1f} s; target < 10 %)")

    # As in a service or `rag chat`: questions one after another without a reset, so llama.cpp
    # reuses the KV cache of the prefix this prompt shares with the previous one (the system prompt).
    warm = []
    llm.model.reset()
    answerer.ask(asked[-1])
    for q in asked:
        a = answerer.ask(q)
        warm.append((a.timings.first_token_s or 0.0, a.timings.total_s))
    w = list(zip(*warm))
    print(
        f"one after another (shared system-prompt prefix reused): first token p50 {percentile(w[0], 50):.1f} s "
        f"(p95 {percentile(w[0], 95):.1f}), total p50 {percentile(w[1], 50):.1f} s (p95 {percentile(w[1], 95):.1f}); "
        f"first token ratio to empty cache {statistics.median(w[0]) / statistics.median(cols[1]):.2f}"
    )
    compare_shipped(answerer, settings, asked)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
