"""One typed settings tree for the whole product.

Settings come from, in order (later wins):

1. ``config/default.toml``
2. a named preset, ``config/presets/NAME.toml`` (``--preset NAME`` or ``RAG_PRESET``)
3. environment variables ``RAG__SECTION__FIELD`` (e.g. ``RAG__RETRIEVAL__TOP_K=8``)
4. explicit overrides: ``--set section.field=value`` on the CLI, keyword arguments in Python

Every field is described; unknown keys and wrong types are one-line errors naming the key
and the place it came from. Relative paths are resolved against :func:`home_dir` (the
source checkout, or a per-user data directory for an installed package).
Secrets are never settings: the OpenAI key is read from the environment variable whose
*name* is a setting, so a dump of the settings cannot leak it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import ConfigError

SOURCE_ROOT = Path(__file__).resolve().parent.parent


def _bundled_root() -> Path:
    """Where the bundled config/, prompts/ and data/seeds/ are: the source checkout (the
    top-level folders are the source of truth), or, for an installed wheel, the copies it
    ships as package data in ``rag/_bundled`` (pyproject.toml maps them there)."""
    if (SOURCE_ROOT / "config" / "default.toml").is_file():
        return SOURCE_ROOT
    return Path(__file__).resolve().parent / "_bundled"


PROJECT_ROOT = _bundled_root()
INSTALLED = PROJECT_ROOT != SOURCE_ROOT
ENV_PREFIX = "RAG__"


def home_dir() -> Path:
    """Where relative paths in settings (the default store ``.rag``) resolve: the source
    checkout; for an installed package, ``RAG_HOME``, else the per-user data directory
    (``$XDG_DATA_HOME/rag-papers``, default ``~/.local/share/rag-papers``)."""
    if os.environ.get("RAG_HOME"):
        return Path(os.environ["RAG_HOME"]).expanduser()
    if not INSTALLED:
        return SOURCE_ROOT
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "rag-papers"


def config_dir() -> Path:
    """Where ``default.toml`` and ``presets/`` live (``RAG_CONFIG_DIR`` overrides)."""
    return Path(os.environ.get("RAG_CONFIG_DIR") or PROJECT_ROOT / "config")


def _registered(value: str, registry: dict, what: str) -> str:
    """A backend name must be registered (rag/llm.py, rag/embeddings.py): the registries are the
    lists of names, so a new backend needs no edit here."""
    if value not in registry:
        raise ValueError(f"unknown {what} '{value}' (known: {', '.join(registry)})")
    return value


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, strict=True)


class CorpusSettings(Section):
    paths: list[str] = Field(
        default_factory=list,
        description="Files or folders `rag ingest` reads when given no path. Empty means "
        "the bundled collection in data/seeds. Relative paths are resolved against the "
        "project root.",
    )
    max_abstract_chars: int = Field(
        100_000,
        gt=0,
        description="An abstract longer than this is an input error (it is almost "
        "certainly a whole paper or a broken file, not an abstract).",
    )
    clean_latex: bool = Field(
        True,
        description="Undo LaTeX that scraping left in titles and abstracts where it has one "
        "clear reading: `40\\%` is read as 40 %, `2.4times` as 2.4×, `\\eg` as e.g.; "
        "unknown macros stay as they are.",
    )


class ChunkingSettings(Section):
    chunk_tokens: int = Field(
        160, ge=16, le=2048, description="Target chunk size in tiktoken tokens."
    )
    overlap_tokens: int = Field(
        40,
        ge=0,
        description="Up to this many tokens of whole sentences from the end of a chunk "
        "are repeated at the start of the next one.",
    )
    encoding: str = Field(
        "cl100k_base", description="tiktoken encoding used to count tokens."
    )
    title_in_embedding: bool = Field(
        True,
        description="Prefix each chunk with its paper's title when embedding and BM25 "
        "indexing it (the stored chunk text and offsets stay the abstract's).",
    )


class EmbeddingSettings(Section):
    provider: str = Field(
        "sentence-transformers",
        description="A name registered in rag/embeddings.py (EMBEDDERS). sentence-transformers: a local model "
        "(default: the bundled all-mpnet-base-v2, offline). openai: the OpenAI embeddings API. hashing: a "
        "deterministic bag-of-words embedder with no model, for fast tests.",
    )

    @field_validator("provider")
    @classmethod
    def _registered_provider(cls, value: str) -> str:
        from .embeddings import EMBEDDERS

        return _registered(value, EMBEDDERS, "embedding provider")
    model: str = Field(
        "all-mpnet-base-v2",
        description="Model name. For sentence-transformers, two are bundled (installed by `make setup`): "
        "'all-mpnet-base-v2' (default, 768 dimensions) finds the paper more often for questions in a user's own "
        "words (users3 MRR 0.803 vs 0.726, eval/reports/README.md) at about 9x the ingest time (244 s vs 28 s for "
        "the bundled collection on 2 cores); 'all-MiniLM-L6-v2' (384 dimensions, `--preset minilm`) is the fast "
        "one. Any other value is a local model folder. For openai, e.g. 'text-embedding-3-small'.",
    )
    runtime: Literal["onnx", "torch"] = Field(
        "onnx",
        description="How the bundled models (all-MiniLM-L6-v2, all-mpnet-base-v2) run. onnx: ONNX Runtime, no "
        "torch import (about half a second to load; the graph is exported once from the bundled weights "
        "and cached in ~/.cache/rag-papers/onnx). torch: sentence-transformers. Both give the "
        "same vectors (cosine >= 0.999), so the index does not change. Other local models "
        "always use torch.",
    )
    quantization: Literal["none", "int8"] = Field(
        "int8",
        description="How a bundled model runs on ONNX Runtime. int8 (default since 2026-12-05): an int8 graph made "
        "once from the float export (rag/onnx_int8.py: SmoothQuant scales, int8 weights for every MatMul but the "
        "feed-forward output projections). all-mpnet-base-v2: vectors at cosine >= 0.998 of the float ones; the "
        "bundled collection ingests in 80 s instead of 134 s (bench/bench_ingest.py, vector cache off) and a warm hybrid "
        "search takes p50 19-23 ms instead of 34-36 ms (bench/bench_search.py, 2 cores, 2026-12-06); R@5 on 7 question sets within "
        "0.008 of float (eval/reports/README.md). none: the float graph "
        "(what embedding.runtime = \"torch\" gives too; torch has no int8). An int8 index is a different collection "
        "from the float one. Models that are not bundled and other providers ignore it.",
    )
    batch_size: int = Field(32, ge=1, description="Texts per embedding batch.")
    vector_cache: bool = Field(
        True,
        description="Ingest reads the vectors of texts this machine has embedded before from a disk cache "
        "(~/.cache/rag-papers/vectors, keyed by model, runtime and text; rag/vector_cache.py) and adds the new ones: "
        "a second store of the bundled collection takes seconds instead of minutes. Answering reads there the vectors "
        "of the abstract sentences (and two-sentence windows) that evidence selection and the support judge embedded "
        "before on this machine: about 0.3 s of MiniLM per answer. Bundled sentence-transformers models only; "
        "questions and answer sentences are never cached. Does not change the vectors or the index.",
    )
    dimensions: int = Field(
        384,
        ge=8,
        description="Vector size for the hashing embedder (and for OpenAI models that "
        "accept a dimensions argument). Ignored by sentence-transformers.",
    )


class StoreSettings(Section):
    mode: Literal["embedded", "server"] = Field(
        "embedded",
        description="embedded: a persistent Chroma on disk in this process. server: a "
        "Chroma server at host:port (`chroma run`).",
    )
    path: str = Field(
        ".rag",
        description="Folder for the embedded Chroma store and local caches (BM25, "
        "locks). Relative to the project root.",
    )
    host: str = Field("127.0.0.1", description="Chroma server host (mode = server).")
    port: int = Field(8000, ge=1, le=65535, description="Chroma server port.")
    collection_prefix: str = Field(
        "papers",
        pattern=r"^[a-zA-Z0-9][a-zA-Z0-9._-]{0,40}$",
        description="Start of the Chroma collection name; the rest is a hash of the "
        "embedding and chunking settings, so a re-chunked index never mixes with an old "
        "one.",
    )


class RetrievalSettings(Section):
    mode: Literal["hybrid", "dense", "bm25"] = Field(
        "hybrid",
        description="hybrid: dense and BM25 fused by reciprocal rank fusion; or one of "
        "them alone.",
    )
    top_k: int = Field(5, ge=1, le=100, description="Papers returned by a search.")
    request_core: bool = Field(
        True,
        description="Search for what the query asks about, without its conversational framing ('any papers on', "
        "'I'm looking for work on', 'tell me about', 'can you find'; rag/query.py); the "
        "evidence selection and the abstention features read the same core, the LLM the question as typed. "
        "False: the query as typed.",
    )
    dense_search: Literal["exact", "chroma"] = Field(
        "exact",
        description="exact: cosine against every chunk vector, kept in the local search cache (deterministic in "
        "every process; the bundled collection's 1281 chunks take well under a millisecond). chroma: Chroma's approximate HNSW query.",
    )
    candidates: int = Field(
        60,
        ge=1,
        description="Chunks each retriever (dense, BM25) contributes before fusion.",
    )
    fusion: Literal["rrf", "score"] = Field(
        "rrf",
        description="hybrid mode: rrf (reciprocal rank fusion of the two rankings, weighted by dense_weight and "
        "bm25_weight) or score (alpha * cosine + (1 - alpha) * BM25 / best BM25 of the query).",
    )
    alpha: float = Field(0.5, ge=0, le=1, description="Weight of the dense cosine in score fusion (fusion = score).")
    rrf_k: int = Field(
        60, ge=1, description="The k constant of reciprocal rank fusion: 1/(k + rank)."
    )
    dense_weight: float = Field(1.0, ge=0, description="Weight of the dense ranking in RRF.")
    bm25_weight: float = Field(1.0, ge=0, description="Weight of the BM25 ranking in RRF.")
    bm25_adaptive: bool = Field(
        True,
        description="Scale the BM25 weight by the share of the query's terms (idf-weighted) that the best BM25 chunk "
        "contains, so a question in the user's own words leans on dense retrieval and one in the paper's words on both.",
    )
    title_weight: float = Field(
        2.0,
        ge=0,
        description="hybrid mode: weight of a third ranking in the fusion, the papers whose title holds a rare word "
        "of the query (a paper's name or acronym). 0: off.",
    )
    title_max_df: int = Field(3, ge=1, description="A name in the query counts as rare when at most this many papers use it (stemmed).")
    chunks_per_paper: int = Field(
        2, ge=1, description="Best matching chunks kept for each returned paper."
    )


class LLMSettings(Section):
    backend: str = Field(
        "llama-cpp",
        description="A name registered in rag/llm.py (LLMS). llama-cpp: a local GGUF model in this process (offline). openai: the "
        "OpenAI API, or any OpenAI-compatible endpoint when base_url is set (llama.cpp "
        "server, vLLM, Ollama). extractive: no LLM; answers with the best-matching source "
        "sentences (a baseline, and a fallback with no model at all).",
    )
    @field_validator("backend")
    @classmethod
    def _registered_backend(cls, value: str) -> str:
        from .llm import LLMS

        return _registered(value, LLMS, "LLM backend")

    model: str = Field(
        "qwen2.5-coder-0.5b-instruct-q4_k_m",
        description="llama-cpp: a bundled model name (qwen2.5-coder-0.5b-instruct-q4_k_m, "
        "smollm2-135m-instruct-q4_1) or a path to any .gguf file. openai: the model name, "
        "e.g. gpt-4o-mini.",
    )
    base_url: str | None = Field(
        None, description="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1. None: api.openai.com."
    )
    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        """An endpoint is an http(s) URL with a host (and a numeric port, if any); the message
        never repeats the value, which may hold credentials."""
        if value is None:
            return None
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(value)
            ok = parts.scheme in ("http", "https") and bool(parts.hostname)
            _ = parts.port  # ValueError for a port that is not a number in 0-65535
        except ValueError:
            ok = False
        if not ok:
            raise ValueError("must be an http(s) URL with a host, e.g. http://127.0.0.1:8080/v1")
        return value

    api_key_env: str = Field(
        "OPENAI_API_KEY",
        description="Name of the environment variable that holds the API key (the key itself "
        "is never a setting). Optional when base_url is set.",
    )
    temperature: float = Field(0.0, ge=0, le=2, description="Sampling temperature (0: greedy, reproducible).")
    max_tokens: int = Field(
        160, ge=1, le=8192, description="Most tokens generated for one answer (a two-or-three-sentence answer is 40-120)."
    )
    context_tokens: int = Field(4096, ge=512, description="llama-cpp context window (prompt + answer).")
    threads: int = Field(0, ge=0, description="llama-cpp CPU threads; 0 = all cores.")
    seed: int = Field(0, description="llama-cpp sampling seed.")
    requantize: Literal["none", "q4_0"] = Field(
        "q4_0",
        description="llama-cpp with a bundled Qwen model: convert it once from the shipped Q4_K_M to this type "
        "(rag/requantize.py; 2 s, the file beside the assembled one), which llama.cpp runs faster on x86 CPUs. "
        "Prompt processing of the 0.5B model on 2 cores: 146 -> 195 tokens/s. none: the model as shipped. "
        "A path to your own .gguf file is always used as it is.",
    )
    flash_attention: bool = Field(
        False,
        description="llama-cpp: fused attention kernels. Prompt processing of the 0.5B model on 2 cores (530 "
        "tokens, 3 runs, 2026-12-05): 195 -> 222 tokens/s as Q4_0 (146 -> 163 as Q4_K_M). Off by default: with it, "
        "an answer depends on the question asked before it in the same process (llama.cpp reuses the cached "
        "prompt prefix, and the fused kernels round the rest differently), so `rag chat`, `rag eval` and `rag ask` "
        "could answer one question differently.",
    )
    timeout_s: float = Field(
        120.0, gt=0, description="Endpoint backends: seconds before a request is abandoned."
    )
    retries: int = Field(2, ge=0, le=10, description="Endpoint backends: retries of transient errors, with backoff.")


class AnswerSettings(Section):
    max_sources: int = Field(3, ge=1, le=20, description="Papers given to the LLM as numbered sources.")
    chunks_per_source: int = Field(1, ge=1, le=5, description="Best chunks of each paper put in the prompt.")
    max_source_tokens: int = Field(
        900, ge=100, description="Token budget of the whole source list in the prompt (tiktoken count)."
    )
    min_source_tokens: int = Field(
        100,
        ge=0,
        description="A source whose chosen chunks are shorter than this (often an abstract's last "
        "sentence) gets the sentences before it, so the model sees what the paper is about. 0: off.",
    )
    max_question_chars: int = Field(2000, ge=10, description="Longer questions are refused with an error.")
    judge_embedding: str = Field(
        "all-MiniLM-L6-v2",
        description="The bundled sentence-transformers model that embeds the question and the abstract sentences "
        "for evidence selection, the support judge and the relevance score (run locally, on embedding.runtime, "
        "whatever embedding.provider is). Their thresholds (support_threshold, attribution_threshold, "
        "relevance_threshold, the abstention model's evidence feature) were calibrated on its cosines, so it stays "
        "all-MiniLM-L6-v2 when retrieval uses another model. Empty: the retrieval embedder itself.",
    )
    support_threshold: float = Field(
        0.6,
        ge=0,
        le=1,
        description="A sentence counts as supported by a source when their support score "
        "(rag/support.py) is at least this. Chosen on labelled real answer sentences "
        "(eval/datasets/answer_labels.jsonl, eval/judge_fit.py): on the held-out half, precision "
        "0.89 and recall 0.85 of 'supported' at 0.6.",
    )
    attribution_threshold: float = Field(
        0.6,
        ge=0,
        le=1,
        description="A sentence with no valid citation is attributed to its best-supporting "
        "source only when the support is at least this.",
    )
    title_relevance_threshold: float = Field(
        0.3,
        ge=0,
        le=1,
        description="An answer sentence that only names a source's title is accepted when the "
        "question itself is supported by that source at least this much (on the dev set, "
        "0.3 keeps 94% of correct paper look-ups and rejects 32% of near-miss papers).",
    )
    unsupported: Literal["mark", "drop"] = Field(
        "drop",
        description="What happens to an answer sentence no source supports: drop (removed from the text; "
        "`Answer.sentences` still lists it as unsupported) or mark (kept, without citations, followed by "
        "'(no supporting source found)'). drop since 2026-12-04: 4 of 79 answers to short questions "
        "(paraphrase_test, offtopic_test) showed a marked sentence, each a claim the model made up "
        "('Quantum computers ... have the potential to revolutionize neural network training').",
    )
    context: Literal["evidence", "chunks"] = Field(
        "evidence",
        description="What the prompt shows of each source. evidence: the title and the abstract sentences that "
        "best answer the question (rag/evidence.py); chunks: the best retrieved chunks (the earlier prompt).",
    )
    evidence_sentences: int = Field(
        1,
        ge=1,
        le=20,
        description="Evidence sentences picked for each source after the first (each with the sentence before it when it "
        "is not self-contained). One keeps the small model on the best paper: with 2, the README question was answered "
        "from the second source.",
    )
    evidence_first: int = Field(
        5, ge=1, le=20, description="Evidence sentences picked for the first (best-ranked) source."
    )
    background_factor: float = Field(
        0.5, ge=0, le=1, description="Evidence score factor for background sentences (before the first sentence stating the paper's own work)."
    )
    contribution_bonus: float = Field(
        0.15, ge=0, le=1, description="Evidence score bonus for sentences stating the paper's own work ('we propose ...')."
    )
    relevance_threshold: float = Field(
        0.5,
        ge=0,
        le=1,
        description="A supported answer sentence whose relevance to the question (rag/relevance.py) is below this is "
        "left out of the answer text (status off_topic). Tuned on half of the labelled answer sentences; a weak "
        "score (held-out AUROC 0.63 on the 534 labelled sentences, eval/judge_fit.py, 2026-12-05), so it only removes "
        "clear cases.",
    )
    detail_relevance_threshold: float = Field(
        0.3,
        ge=0,
        le=1,
        description="A supported sentence below relevance_threshold is still kept, as a supporting detail, when an "
        "earlier sentence of the answer addresses the question from the same source(s) and its own relevance is at "
        "least this (e.g. the budget and data size after the sentence that names the method). 1: no details.",
    )
    body_details: bool = Field(
        True,
        description="Also keep, as a supporting detail, a supported sentence below detail_relevance_threshold from a "
        "source that answers the question when the abstract sentence backing it states the paper's own work (its "
        "contribution, method or results: not the background before it); how a method works rarely shares words "
        "with the question. False: only detail_relevance_threshold and continuing sentences decide.",
    )
    third_person: bool = Field(
        True,
        description="Say the papers' first person in the answer as the third: 'we propose' is shown as 'the authors "
        "propose', 'our method' as 'their method', in generated and quoted answer sentences alike, and the model's "
        "own 'we can use X' as 'you can use X' (the reference "
        "below the answer still quotes the abstract word for word). An answer that says 'we' reads as if the "
        "system wrote the paper.",
    )
    abstention_model: str = Field(
        "config/abstention.json",
        description="The fitted abstention model (eval/fit_abstention.py): the question is declined before the LLM "
        "runs when its probability of being answerable is below the model's threshold. Empty: never decline at retrieval.",
    )
    detail_papers: int = Field(
        1,
        ge=0,
        le=20,
        description="A question that asks which named thing a paper used ('What license ...?', 'Which backbones did ... "
        "use?'; rag/details.py) is declined before the LLM runs (abstain_reason detail) when the abstract of none of this "
        "many papers, best first, uses a word of that kind. Across the 8 evaluation sets (2026-12-05) it declines 5 "
        "unanswerable questions (4 of them were answered or hedged before) and none of the 10 answerable ones it reads; the patterns were "
        "chosen looking at dev and users3, and no held-out set has such questions. 0: off.",
    )
    unmentioned_names: bool = Field(
        True,
        description="A question that names a paper ('GPTQ', 'YOLOv10') and also something else by name that the paper's "
        "abstract never mentions ('does GPTQ beat AWQ?', 'YOLOv10 results on Pascal VOC?', 'Sophia on ImageNet?') is "
        "declined before the LLM runs (abstain_reason name), saying which names the abstract lacks: the 0.5B model "
        "otherwise states the asked-for thing as if the paper reported it ('YOLOv10 results on Pascal VOC, which is 1.8x "
        "faster ...'). Names of other papers are not counted (a comparison names two papers; rag/details.py). Across the "
        "11 evaluation sets (2026-12-05) it fires on 12 of 175 unanswerable questions and 0 of 559 answerable ones; it "
        "was designed looking at dev and users5; on held-out users6 it declined 5 of 14 such questions, each answered "
        "before with a claim the abstract does not make. False: off.",
    )
    unmentioned_terms: bool = Field(
        True,
        description="A question that asks what a term is ('what is speculative decoding', 'explain split computing'; "
        "rag/definitions.py) is declined before the LLM runs (abstain_reason term) when no retrieved paper's title and "
        "abstract hold every word of the term (stemmed; a typo forgiven when the word as asked is one no paper uses): "
        "the collection does not cover it, and the 0.5B model otherwise describes the closest paper as if it were about "
        "the term. Words written with an inner capital or a digit, or without a vowel ('RAG', 'LLM', 'rlhf'), are not "
        "looked for, since an abstract may spell them out; 'lora' or 'moe' are. False: off.",
    )
    figure_papers: int = Field(
        1,
        ge=0,
        le=20,
        description="A question that asks for a figure ('What perplexity ...?', 'How many ...?', 'How much faster ...?'; "
        "rag/figures.py) is declined before the LLM runs (abstain_reason figure) when none of this many papers, best first, "
        "states a number of that kind in its abstract; when one does, its sentence that states it is put in the evidence. "
        "0: off.",
    )
    hedge_below: float = Field(
        0.4,
        ge=0,
        le=1,
        description="An answer to a question whose answerable probability is below this (but above the abstention "
        "threshold) starts with 'The collection may not answer this directly.', then names the papers that follow ('The closest paper, \"<title>\" [1], says:') "
        "(answer.hedged) and leaves out sentences no source supports, unless the question names the paper. 0: never. Chosen on eval/datasets/users.jsonl, when the "
        "abstention threshold was 0.189: at 0.4, 5 of its 20 unanswerable questions answered anyway were hedged, and 5 of "
        "its 60 answerable ones (mean key-fact recall 0.4). With the threshold at 0.08, fewer are declined and more hedged "
        "(the README's evaluation section has the current figures).",
    )
    hedged_answer: Literal["quotes", "generated"] = Field(
        "quotes",
        description="What follows the hedge (answer.hedge_below). quotes: the best evidence sentences of the closest "
        "paper(s), quoted and cited, with no LLM call (mode extractive): the hedge says what the closest papers say, and a "
        "small model asked about a topic the papers do not cover states the question as their claim. generated: the "
        "model's verified answer.",
    )
    hedged_quotes: Literal["question", "papers"] = Field(
        "question",
        description="hedged_answer = quotes: question: as an extractive answer quotes (the first paper's best "
        "sentences, unless the question asks about several papers); papers: the best sentence of each closest paper "
        "that is nearly as relevant as the best (answer.extractive_margin). Key-fact recall, question vs papers: "
        "paraphrase_tune 0.176 vs 0.192, paraphrase_test 0.299 vs 0.253; so question.",
    )
    extractive_above: float = Field(
        0.0,
        ge=0,
        le=1,
        description="When the model's draft fails verification (or the model declines) and the answerable probability "
        "is at least this (and at least the abstention threshold), answer from the evidence instead (mode extractive).",
    )
    require_top_source: bool = Field(
        True,
        description="A question about one paper (not 'which papers', not a comparison) whose generated answer does "
        "not cite the paper retrieval ranks first is answered from that paper's evidence instead (mode extractive). "
        "Measured on the stop-19 runs (dev, users, users2, paraphrase sets): in 6 such answers the first paper was "
        "the right one every time, and in 4 of them the cited paper was a wrong one.",
    )
    extractive_lead: Literal["contribution", "best"] = Field(
        "contribution",
        description="What an extractive answer about one paper quotes first: contribution: the abstract's first "
        "sentence stating the paper's own work ('we propose ...'), then the best-scoring evidence; best: the "
        "best-scoring evidence sentences only.",
    )
    quotes_per_reference: int = Field(
        3, ge=1, le=10,
        description="Most sentences of a paper's abstract a reference quotes: the one behind each answer sentence "
        "that cites it (the best first), so that every claim can be checked against the words it rests on.",
    )
    cover_papers: int = Field(
        3,
        ge=1,
        le=20,
        description="A question about several papers ('Which papers ...', a comparison) whose answer cites fewer "
        "papers than this gets, for each further source whose best evidence is nearly as relevant as the best "
        "(answer.extractive_margin), that sentence quoted and cited, opened with the paper's title. 1 turns it off. "
        "The 0.5B model cited one paper in 40 of the 48 such answers whose question has two or more gold papers "
        "(dev, users, users2, paraphrase_test).",
    )
    cover_phrases: bool = Field(
        True,
        description="A bare phrase ('camera-only bird's-eye-view 3D detection for self-driving': no question mark, "
        "no question word) is treated like a question about several papers after its answer is complete: the sources "
        "nearly as relevant as the best (answer.extractive_margin) are added as with answer.cover_papers, after the "
        "first paper's supporting sentences. Users search for a topic that way as often as for one paper.",
    )
    cover_phrases_dense_share: float = Field(
        0.9,
        ge=0,
        le=2,
        description="answer.cover_phrases adds a paper only when its dense cosine to the question is at least this share "
        "of the first source's: on paraphrase_tune, 0.9 kept 3 of the 3 added gold papers and 2 of the 10 others.",
    )
    explain_named: bool = Field(
        True,
        description="A generated answer whose every sentence only names a paper ('Flicker-free face retouching in "
        "clips is proposed in RIGID: ... [1].') also quotes what each named paper does: the first sentence of its "
        "abstract that states its own work (else its best evidence), cited. 8 of the 44 generated answers of the "
        "users3 and paraphrase_test runs of 2026-12-04 named the paper and said nothing about it.",
    )
    supporting_sentences: int = Field(
        2,
        ge=0,
        le=5,
        description="A generated answer (not hedged) to a question that does not ask for several papers also quotes "
        "up to this many of the best evidence sentences of the best-ranked paper it cites that it does not already "
        "state, cited, while it has fewer than 4 sentences (0: off); needs answer.context = evidence. The 0.5B model "
        "often states a paper's result and leaves out its method, or the reverse. Key-fact recall of all answerable "
        "questions, 0 -> 1 (measured runs of 2026-12-04): dev 0.382 -> 0.478, users 0.428 -> 0.494, users3 0.238 -> "
        "0.337; of 116 additions read by hand, 41 made the answer more useful and 10 worse (before the filters "
        "for background, fragments and restated sentences). 1 -> 2 (2026-12-04, held-out sets): users3 0.337 -> "
        "0.360, paraphrase_test 0.404 -> 0.419, at 0.1-0.3 more sentences per answer (users3 2.72 -> 3.05).",
    )
    extractive_sentences: int = Field(
        3,
        ge=1,
        le=5,
        description="Evidence sentences quoted by an extractive answer (papers, for a question about several). "
        "Key-fact recall of the extractive answers of the dev and users runs of 2026-12-04 with 2 -> 3: "
        "0.300 -> 0.470 and 0.341 -> 0.379.",
    )
    extractive_margin: float = Field(
        0.85, ge=0, le=1, description="An extractive answer quotes another source only when its best evidence is at least this share of the best one's."
    )


class ChatSettings(Section):
    history_file: str = Field(
        "",
        description="Where `rag chat` keeps its input history (up-arrow across sessions). "
        "Empty: $XDG_STATE_HOME/rag-papers/chat_history (default ~/.local/state/...). 'none': no history file.",
    )
    history_size: int = Field(1000, ge=0, description="Most lines kept in the history file.")
    markdown: bool = Field(True, description="Render answers as markdown in a terminal (plain text when off or piped).")

    def history_path(self) -> Path | None:
        if self.history_file.lower() == "none":
            return None
        if self.history_file:
            return Path(self.history_file).expanduser()
        state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
        return Path(state) / "rag-papers" / "chat_history"


class ServeSettings(Section):
    host: str = Field(
        "127.0.0.1",
        min_length=1,
        description="Address `rag serve` binds to (--host overrides). Any address other than a loopback one needs "
        "the environment variable RAG_SERVE_TOKEN (the token itself is never a setting).",
    )
    port: int = Field(8000, ge=1, le=65535, description="Port `rag serve` listens on (--port overrides).")
    queue_size: int = Field(
        4,
        ge=0,
        le=256,
        description="Questions that may wait while the model answers another (generations run one at a time per "
        "model). A question beyond that is refused at once with 503 and Retry-After. 0: no waiting.",
    )
    retry_after_s: int = Field(5, ge=1, le=3600, description="The Retry-After header (seconds) of a 503 for a full queue.")
    max_body_bytes: int = Field(
        65536, ge=1024, description="A request body larger than this is refused (413) before it is parsed."
    )


class Settings(Section):
    """The whole tree. Sections are described field by field."""

    corpus: CorpusSettings = Field(default_factory=CorpusSettings)
    chunking: ChunkingSettings = Field(default_factory=ChunkingSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)
    chat: ChatSettings = Field(default_factory=ChatSettings)
    serve: ServeSettings = Field(default_factory=ServeSettings)

    # -- derived values -------------------------------------------------------------

    def index_hash(self) -> str:
        """Hash of everything that changes the stored vectors and chunks."""
        ignored = {"batch_size", "runtime", "vector_cache"} | ({"dimensions"} if self.embedding.provider == "sentence-transformers" else set())
        embedding = self.embedding.model_dump(mode="json", exclude=ignored)
        if self.embedding.quantization == "none":  # float indexes keep the names they had before the field existed
            embedding.pop("quantization")
        elif self.embedding.provider == "sentence-transformers":
            from .embeddings import is_bundled
            from .onnx_embedder import INT8_VERSION

            if is_bundled(self.embedding.model):
                embedding["int8_graph"] = INT8_VERSION  # another int8 graph gives other vectors: another index
        return _hash({"embedding": embedding, "chunking": self.chunking})

    def settings_hash(self) -> str:
        """Hash of everything that changes an answer (not where the store lives, nor how it is served)."""
        return _hash(self.model_dump(mode="json", exclude={"store": True, "corpus": True, "chat": True, "serve": True, "embedding": {"vector_cache"}}))

    def collection_name(self) -> str:
        return f"{self.store.collection_prefix}-{self.index_hash()}"

    def public_dump(self) -> dict[str, Any]:
        """The settings as JSON data for display (``rag info``, the chat's /settings): the
        LLM endpoint without the credentials, query or fragment a URL may carry."""
        data = self.model_dump(mode="json")
        if data["llm"].get("base_url"):
            data["llm"]["base_url"] = display_url(data["llm"]["base_url"])
        return data

    def llm_label(self) -> str:
        """backend:model, and the endpoint without credentials when one is set."""
        s = self.llm
        return f"{s.backend}:{s.model}" + (f" at {display_url(s.base_url)}" if s.base_url else "")

    def store_dir(self) -> Path:
        return resolve_path(self.store.path)

    def corpus_paths(self) -> list[Path]:
        if not self.corpus.paths:
            return [PROJECT_ROOT / "data" / "seeds"]
        return [resolve_path(p) for p in self.corpus.paths]


def display_url(url: str) -> str:
    """The URL without credentials, query or fragment (they may hold a key)."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        if parts.port:
            host = f"{host}:{parts.port}"
        return urlunsplit((parts.scheme, host, parts.path, "", ""))
    except ValueError:
        return "(invalid llm.base_url)"


def resolve_path(p: str | Path) -> Path:
    """An absolute path as given; a relative one under :func:`home_dir`, unless only a
    bundled file of that name exists (``config/abstention.json`` in an installed package)."""
    path = Path(p).expanduser()
    if path.is_absolute():
        return path
    home = home_dir() / path
    if not home.exists() and (PROJECT_ROOT / path).exists():
        return PROJECT_ROOT / path
    return home


def _hash(obj: Any) -> str:
    if isinstance(obj, dict):
        obj = {k: (v.model_dump(mode="json") if isinstance(v, BaseModel) else v) for k, v in obj.items()}
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


# -- loading ------------------------------------------------------------------------


def presets() -> list[str]:
    """Names of the presets in ``config/presets``."""
    return sorted(p.stem for p in (config_dir() / "presets").glob("*.toml"))


def load_settings(
    preset: str | None = None,
    overrides: dict[str, Any] | None = None,
    *,
    environ: dict[str, str] | None = None,
) -> Settings:
    """Build the settings tree from files, a preset, the environment and overrides.

    ``overrides`` maps dotted keys (``"retrieval.top_k"``) or section names (``"retrieval"``
    with a dict) to values.
    """
    environ = dict(os.environ if environ is None else environ)
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}

    default = config_dir() / "default.toml"
    if default.exists():
        _merge(merged, _read_toml(default), origin, _rel(default))
    preset = preset or environ.get("RAG_PRESET") or None
    if preset:
        path = config_dir() / "presets" / f"{preset}.toml"
        if not path.exists():
            known = ", ".join(presets()) or "none"
            raise ConfigError(f"unknown preset '{preset}' (known: {known})")
        _merge(merged, _read_toml(path), origin, _rel(path))
    for name, raw in sorted(environ.items()):
        if name.startswith(ENV_PREFIX):
            dotted = name[len(ENV_PREFIX) :].lower().replace("__", ".")
            _merge(merged, _nest(dotted, _parse_scalar(raw, dotted)), origin, f"environment variable {name}")
    for key, value in (overrides or {}).items():
        _merge(merged, _nest(key, value), origin, "override")

    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        source = origin.get(key) or _closest_origin(key, origin)
        where = f" (from {source})" if source else ""
        if err["type"] == "extra_forbidden":
            raise ConfigError(f"unknown setting '{key}'{where}") from None
        raise ConfigError(f"setting '{key}'{where}: {err['msg'].removeprefix('Value error, ')}") from None


def parse_assignment(text: str) -> tuple[str, Any]:
    """``"retrieval.top_k=8"`` -> ``("retrieval.top_k", 8)`` (values parsed as TOML scalars)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set expects KEY=VALUE, got '{text}'")
    return key.strip(), _parse_scalar(value.strip(), key.strip())


def _parse_scalar(raw: str, key: str = "") -> Any:
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw
    # a text setting keeps the text: store.path=2024 is the folder "2024", not the number
    return raw if _is_text(key) and not isinstance(value, str) else value


def _is_text(dotted: str) -> bool:
    """Is the setting at this dotted key a string field?"""
    model: Any = Settings
    for part in dotted.split("."):
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return False
        model = field.annotation
    return model in (str, str | None)


def _nest(dotted: str, value: Any) -> dict[str, Any]:
    out: Any = value
    for part in reversed(dotted.split(".")):
        out = {part: out}
    return out


def _merge(dst: dict[str, Any], src: dict[str, Any], origin: dict[str, str], source: str, prefix: str = "") -> None:
    for key, value in src.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and isinstance(dst.get(key), dict):
            _merge(dst[key], value, origin, source, dotted + ".")
            continue
        dst[key] = value
        origin[dotted] = source
        if isinstance(value, dict):
            for sub in _leaves(value, dotted + "."):
                origin[sub] = source


def _leaves(d: dict[str, Any], prefix: str) -> list[str]:
    out = []
    for k, v in d.items():
        out.append(prefix + k)
        if isinstance(v, dict):
            out.extend(_leaves(v, prefix + k + "."))
    return out


def _closest_origin(key: str, origin: dict[str, str]) -> str | None:
    while "." in key:
        key = key.rsplit(".", 1)[0]
        if key in origin:
            return origin[key]
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{_rel(path)}: invalid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{_rel(path)}: not UTF-8 text") from None


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)
