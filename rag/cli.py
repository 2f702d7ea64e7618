"""The ``rag`` command. Each subcommand is a thin layer over the library.

Heavy imports (torch, chromadb, llama-index) happen inside the commands that need them, so
``rag --help`` and errors are instant.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .errors import RagError
from .settings import Settings, load_settings, parse_assignment, presets
from .text import RedactCredentials, redact_credentials

log = logging.getLogger("rag")

DESCRIPTION = """Question answering over research-paper abstracts, with citations.

Settings come from config/default.toml, a preset (--preset, config/presets/*.toml),
environment variables RAG__SECTION__FIELD, and --set section.field=value."""


# -- helpers ------------------------------------------------------------------------------


def _settings(args: argparse.Namespace, extra: dict[str, Any] | None = None) -> Settings:
    """Settings from the command line; ``extra`` (from a command's own options) is validated like --set."""
    overrides = dict(parse_assignment(a) for a in (args.set or []))
    return load_settings(preset=args.preset, overrides={**overrides, **(extra or {})})


def _emit_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="rag: %(levelname)s: %(message)s", stream=sys.stderr)
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactCredentials())
    # third-party chatter stays quiet unless -vv (openai's HTTP client logs as httpx or httpx2)
    for name in ("sentence_transformers", "bm25s", "chromadb", "httpx", "httpx2", "urllib3", "transformers", "llama_index"):
        logging.getLogger(name).setLevel(logging.WARNING if verbose < 2 else logging.DEBUG)
    from .environment import quiet_libraries

    quiet_libraries()


# -- commands -----------------------------------------------------------------------------


def cmd_ingest(args: argparse.Namespace) -> int:
    from .ingest import ingest

    settings = _settings(args)
    paths = [Path(p).resolve() for p in args.paths] or None
    report = ingest(settings, paths, progress=False if args.no_progress else None)
    if args.json:
        _emit_json(report.to_dict())
    else:
        print(
            f"{report.papers} papers in '{report.collection}' ({report.location}): "
            f"{report.added} added, {report.replaced} replaced, {report.unchanged} unchanged, "
            f"{report.removed} removed, {report.metadata_updated} metadata updated; "
            f"{report.chunks_embedded} chunks embedded" + (f" ({report.chunks_cached} from the vector cache)" if report.chunks_cached else "")
            + f", {report.chunks_total} chunks in the index; {report.seconds:.1f} s"
        )
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from .retrieve import Retriever

    settings = _settings(args)
    if args.mode:
        settings = _settings(args, {"retrieval.mode": args.mode})
    t0 = time.perf_counter()
    retriever = Retriever(settings)
    hits = retriever.search(args.query, k=args.k)
    elapsed = time.perf_counter() - t0
    if args.json:
        _emit_json(
            {
                "query": args.query,
                "collection": retriever.store.name,
                "settings_hash": settings.settings_hash(),
                "mode": settings.retrieval.mode,
                "seconds": round(elapsed, 4),
                "results": [h.to_dict() for h in hits],
            }
        )
        return 0
    if not hits:
        print("no matching papers")
        return 0
    for h in hits:
        dense = f"  cosine {h.dense:.2f}" if h.dense is not None else ""
        print(f"{h.rank:>2}. {h.title}")
        print(f"    score {h.score:.4f}{dense}  id {h.paper_id}")
        print(f"    “{h.sentence}”")
    return 0


def print_answer(answer, out=sys.stdout) -> None:
    """The human form of an Answer (rag/render.py): text, numbered references, or the papers."""
    from .render import answer_view, plain_text

    out.write(plain_text(answer_view(answer)))


def cmd_ask(args: argparse.Namespace) -> int:
    from .answer import Answerer

    settings = _settings(args)
    if args.k is not None:
        settings = _settings(args, {"answer.max_sources": args.k})
    answerer = Answerer(settings)
    on_token = None
    if args.stream and not args.json:
        def on_token(piece: str) -> None:
            sys.stdout.write(piece)
            sys.stdout.flush()
    answer = answerer.ask(args.question, on_token=on_token)
    if answer.error:
        print(f"rag: warning: {answer.error}", file=sys.stderr)
    if args.json:
        sys.stdout.write(answer.model_dump_json(indent=2) + "\n")
        return 0
    if args.stream and answer.raw_text:
        sys.stdout.write("\n\n── verified ──\n")
    print_answer(answer)
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from .chat import ChatApp

    return ChatApp(_settings(args)).run()


def cmd_serve(args: argparse.Namespace) -> int:
    from .serve import serve

    extra: dict[str, Any] = {}
    if args.host is not None:
        extra["serve.host"] = args.host
    if args.port is not None:
        extra["serve.port"] = args.port
    return serve(_settings(args, extra), announce=lambda line: print(line, flush=True), verbose=args.verbose)


def _claims_file(args: argparse.Namespace) -> Path | None:
    """--claims FILE; by default the bundled labelled claims in full runs; 'none' skips."""
    from .settings import PROJECT_ROOT

    if args.claims is None:
        bundled = PROJECT_ROOT / "eval" / "datasets" / "claims.jsonl"
        return bundled if not args.retrieval_only and bundled.exists() else None
    if args.claims.lower() == "none":
        return None
    path = Path(args.claims)
    if not path.is_file():
        raise RagError(f"--claims: no such file: {path}")
    return path


def cmd_eval(args: argparse.Namespace) -> int:
    from .evaluate import run_eval

    settings = _settings(args)
    baselines = [b.strip() for b in args.baselines.split(",") if b.strip()] if args.baselines else []
    metrics = run_eval(
        settings,
        Path(args.beir or args.dataset),
        Path(args.out),
        retrieval_only=args.retrieval_only,
        limit=args.limit,
        baselines=baselines,
        progress=False if args.no_progress else None,
        claims=_claims_file(args),
        beir_split=args.split if args.beir else None,
    )
    keys = ["recall@1", "recall@5", "recall@10", "mrr", "ndcg@10"]
    if not args.retrieval_only:
        keys += ["citation_recall", "citation_precision", "faithfulness", "key_fact_recall", "abstention_accuracy", "false_abstention_rate"]
    keys += ["latency_p50_s", "latency_p95_s"]
    covered = metrics.get("covered", {})
    for key in keys:
        n = covered.get("retrieval" if key.startswith(("recall@", "mrr", "ndcg")) else key)
        print(f"{key:<22} {metrics[key]:.3f}" + (f"  ({n} questions)" if n is not None else ""))
    for name, b in metrics["baselines"].items():
        print(f"baseline {name:<13} " + "  ".join(f"{k} {b[k]:.3f}" for k in ("recall@5", "mrr", "ndcg@10")))
    if "judge_validation" in metrics:
        j = metrics["judge_validation"]
        print(f"support judge: accuracy {j['accuracy']:.3f}, AUROC {j['auroc']:.3f} on {j['claims']} labelled claims")
    print(f"report: {Path(args.out) / 'report.md'} ({metrics['seconds']:.1f} s)")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from .embeddings import make_embedder
    from .errors import IndexMissingError
    from .retrieve import SearchIndex
    from .settings import PROJECT_ROOT
    from .store import PaperStore

    settings = _settings(args)
    info: dict[str, Any] = {
        "collection": settings.collection_name(),
        "store": PaperStore.location(settings),
        "bundled": str(PROJECT_ROOT),  # config, prompts and the bundled collection in use
        "embedding_model": f"{settings.embedding.provider}:{settings.embedding.model}",
        "llm": settings.llm_label(),
        "settings_hash": settings.settings_hash(),
        "index_hash": settings.index_hash(),
        "preset": args.preset,
    }
    embedder = make_embedder(settings.embedding)
    info["embedding_model"] = embedder.name
    try:
        store = PaperStore.open(settings, embedder_name=embedder.name, dim=embedder.dim)
        index = SearchIndex.for_store(store, settings)
        info.update(
            papers=len({c.paper_id for c in index.chunks}),
            chunks=len(index.chunks),
            generation=store.generation,
            built=True,
        )
    except IndexMissingError:
        info.update(papers=0, chunks=0, built=False)
    if args.settings:
        info["settings"] = settings.public_dump()
    if args.json:
        _emit_json(info)
        return 0
    width = max(len(k) for k in info)
    for key, value in info.items():
        if key == "settings":
            continue
        if key == "built" and not value:
            value = "no: run `rag ingest`"
        print(f"{key:<{width}}  {value}")
    if args.settings:
        print("\n[settings]")
        print(json.dumps(info["settings"], indent=2))
    return 0


# -- parser -------------------------------------------------------------------------------


def _common(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    default: Callable[[Any], Any] = (lambda v: argparse.SUPPRESS) if suppress else (lambda v: v)
    parser.add_argument("--preset", metavar="NAME", default=default(None), help="apply config/presets/NAME.toml")
    parser.add_argument(
        "--set",
        metavar="KEY=VALUE",
        action="append",
        default=default(None),
        help="override one setting, e.g. --set retrieval.top_k=8 (repeatable)",
    )
    parser.add_argument("-v", "--verbose", action="count", default=default(0), help="more logging (-vv: debug)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rag", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("ingest", help="build or update the index from a collection", description=(
        "Make the index mirror a collection: new and changed papers are embedded, unchanged ones "
        "skipped, papers no longer present removed. With no PATH, the bundled collection (or "
        "corpus.paths from the settings). PATH may be a seed .txt file, a .jsonl file "
        "({id, title, abstract} or BEIR {_id, title, text}) or a folder of them."))
    p.add_argument("paths", nargs="*", metavar="PATH", help="collection files or folders")
    p.add_argument("--json", action="store_true", help="print the ingest report as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    _common(p, suppress=True)
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("search", help="find the papers that match a query (no LLM)", description=(
        "Hybrid retrieval (dense + BM25, reciprocal rank fusion) grouped to papers: each paper "
        "once, with its score and the sentence that matched best."))
    p.add_argument("query", help="what to look for, in plain words")
    p.add_argument("-k", type=int, default=None, metavar="N", help="number of papers (default: retrieval.top_k)")
    p.add_argument("--mode", choices=["hybrid", "dense", "bm25"], help="override retrieval.mode")
    p.add_argument("--json", action="store_true", help="print results as JSON")
    _common(p, suppress=True)
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("ask", help="answer a question with cited papers", description=(
        "Retrieve the relevant papers, ask the LLM for a short answer citing them as [n], then "
        "verify every sentence against the cited sources: unsupported citations are removed, "
        "uncited sentences are attributed to their best source when the support is strong, and "
        "sentences no source supports are marked. When the evidence is not there, it says so "
        "and lists the closest papers. If the LLM is unreachable, the relevant papers are "
        "returned (retrieval only) with a warning."))
    p.add_argument("question", help="the question, in plain words")
    p.add_argument("-k", type=int, default=None, metavar="N", help="papers given to the LLM as sources (default: answer.max_sources)")
    p.add_argument("--json", action="store_true", help="print the full Answer as JSON")
    p.add_argument("--stream", action="store_true", help="show the model's draft as it is generated, then the verified answer")
    _common(p, suppress=True)
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("chat", help="an interactive conversation with cited answers", description=(
        "Ask questions and follow-ups over the index in a terminal session. Follow-ups are resolved "
        "against the conversation ('the second one', 'it', [2] become the paper's title) and citation "
        "numbers stay stable for the session. Answers stream while generated, then show verified, "
        "with references. Commands: /help, /sources, /paper N, /search QUERY, /reset, /settings, "
        "/save FILE, /quit. Ctrl-C stops an answer; Ctrl-D leaves. Input history is kept in "
        "chat.history_file."))
    _common(p, suppress=True)
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("serve", help="answer over HTTP: a JSON API and a web page", description=(
        "One warm process (index, embedder and LLM loaded once) serving a web page at / and a JSON API: "
        "POST /ask (the Answer as `rag ask --json` prints it), POST /ask/stream (server-sent events: draft "
        "tokens, then the verified Answer), GET /search?q=&k=, GET /papers/ID, GET /health; the OpenAPI page "
        "is /docs. A request may set only top_k and a preset name. Generations run one at a time; up to "
        "serve.queue_size more wait, and beyond that a request gets 503 with Retry-After. It binds to "
        "127.0.0.1 unless told otherwise; any other address needs the environment variable RAG_SERVE_TOKEN, "
        "and clients then send 'Authorization: Bearer <token>'."))
    p.add_argument("--host", default=None, metavar="ADDR", help="address to listen on (default: serve.host, 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, metavar="N", help="port (default: serve.port, 8000)")
    _common(p, suppress=True)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("eval", help="score retrieval and answers on a question set", description=(
        "Run every question of a JSONL dataset ({id, question, gold_titles} and optionally type, "
        "reference_answer, key_facts, answerable) or of a BEIR folder through retrieval and answering; "
        "write DIR/metrics.json, DIR/results.jsonl and DIR/report.md with plots. Gold papers are matched "
        "by title. Each metric uses the questions that have what it needs (key-fact recall: key_facts) "
        "and says how many."))
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", metavar="FILE", help="questions, one JSON object per line")
    source.add_argument("--beir", metavar="DIR", help="a BEIR folder (queries.jsonl, qrels/SPLIT.tsv, corpus.jsonl); "
                        "ingest DIR/corpus.jsonl first")
    p.add_argument("--split", default="test", metavar="NAME", help="BEIR qrels split (default: test)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for metrics.json, results.jsonl, report.md")
    p.add_argument("--retrieval-only", action="store_true", help="score retrieval only (no LLM)")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="only the first N questions")
    p.add_argument("--baselines", default="bm25,dense", metavar="LIST",
                   help="baselines scored side by side (comma-separated: bm25, dense, hybrid, rrf-fixed = the "
                        "earlier fusion, no-title, no-adaptive, llamaindex = plain VectorStoreIndex + "
                        "CitationQueryEngine with the same models; '' for none)")
    p.add_argument("--claims", metavar="FILE", default=None,
                   help="labelled claims to validate the support judge (accuracy and AUROC in the report); default: "
                        "eval/datasets/claims.jsonl in full runs, 'none' to skip")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    _common(p, suppress=True)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("info", help="show the index and settings in use", description=(
        "Papers and chunks in the index, where the store is, the embedding model, and the "
        "settings hash."))
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.add_argument("--settings", action="store_true", help="also print the full settings tree")
    _common(p, suppress=True)
    p.set_defaults(func=cmd_info)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose)
    if args.preset and args.preset not in presets():
        known = ", ".join(presets()) or "none"
        print(f"rag: error: unknown preset '{args.preset}' (known: {known})", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except RagError as exc:
        print(f"rag: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("rag: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # an unexpected failure: one line, traceback only with -v
        if args.verbose:
            raise
        print(f"rag: error: unexpected {type(exc).__name__}: {redact_credentials(str(exc))} (re-run with -v for details)", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
