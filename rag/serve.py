"""``rag serve``: one warm process answering over HTTP (FastAPI + uvicorn), and a web page.

The API (JSON unless noted; every error is ``{"error": "<one line>"}``):

=========================  ===================================================================
``POST /ask``              ``{"question", "top_k"?, "preset"?}`` -> the ``Answer`` (rag/schema.py)
                           exactly as :func:`rag.ask` returns it
``POST /ask/stream``       the same body -> server-sent events: ``token`` (``{"text"}``, the
                           draft as generated), then one ``answer`` (the verified ``Answer``) or
                           one ``error``; then the stream ends
``GET /search?q=&k=``      ranked papers with the matching sentence (as ``rag search --json``)
``GET /papers/{id}``       title, abstract, source files (404 for an unknown id)
``GET /health``            index (collection, papers), model, settings hash, the queue
``GET /``                  the web page (rag/web/: no build step, no external asset)
``GET /docs``              FastAPI's OpenAPI page (``/openapi.json``)
=========================  ===================================================================

Invariants:

- A request sets only what :class:`AskRequest` lists: the question, ``retrieval.top_k`` and a
  preset name from ``config/presets``; never a file path, a model or a URL. A preset applies
  over the server's settings and never moves the store, the collection or the serve section.
- Generations run one at a time per model (FIFO); at most ``serve.queue_size`` more wait.
  Beyond that a request is refused at once with 503 and ``Retry-After``, before any work:
  the server never hangs on a full queue. Invalid requests are refused before they queue.
- A client that disconnects, waiting or streaming, cancels its generation; the model is
  free for the next request as soon as the current token is out.
- Errors are JSON with the CLI's one-line messages (:class:`rag.errors.RagError`); an
  unexpected failure is logged with its traceback and answered 500 in one line.
- It binds to 127.0.0.1 unless told otherwise. Any other address needs the environment
  variable ``RAG_SERVE_TOKEN``; once set, every data endpoint (all but ``/``, the page's
  files, ``/health`` and the OpenAPI page) needs ``Authorization: Bearer <token>``. The token
  is never a setting and never appears in a log line or a response. Without a token, only a
  loopback ``Host`` header is accepted (a web page cannot reach the API through DNS
  rebinding), and a browser POST from another origin is refused.
- Nothing is built at import time: :func:`create_app` makes the app, :func:`serve` runs it.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import logging
import os
import socket
import threading
import time
import tomllib
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .answer import Answerer, clean_question
from .errors import ConfigError, IndexMissingError, RagError, StoreBusyError
from .llm import GenerationCancelled, LLMUnavailable
from .retrieve import Retriever
from .schema import Answer
from .settings import Settings, config_dir, presets

log = logging.getLogger(__name__)

TOKEN_ENV = "RAG_SERVE_TOKEN"
MIN_TOKEN_CHARS = 16
KEEPALIVE_S = 15.0  # an SSE comment while a question waits, so proxies keep the stream open
MAX_ANSWERERS = 8  # warm pipelines kept for distinct request settings (top_k, preset)
WEB_FILES = {"index.html": "text/html", "app.css": "text/css", "app.js": "text/javascript"}
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
WARM_QUESTION = "How can a diffusion model be trained on a small budget?"  # answered once at start-up

T = TypeVar("T")


# -- errors -------------------------------------------------------------------------------


class ApiError(Exception):
    """An HTTP error with a one-line message, answered as ``{"error": message}``."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


class QueueFull(ApiError):
    def __init__(self, waiting: int, retry_after_s: int):
        super().__init__(
            503,
            f"the server is busy: {waiting} question(s) already wait for the model (serve.queue_size); retry in {retry_after_s} s",
            {"Retry-After": str(retry_after_s)},
        )


class ErrorBody(BaseModel):
    error: str = Field(description="What went wrong, on one line (the CLI's message).")


def error_status(exc: RagError) -> int:
    if isinstance(exc, IndexMissingError | StoreBusyError):
        return 503
    if isinstance(exc, GenerationCancelled):
        return 499  # the client went away; nobody reads this
    return 400


def error_message(exc: BaseException) -> str:
    if isinstance(exc, ApiError):
        return exc.message
    if isinstance(exc, RagError):
        return " ".join(str(exc).split())
    return f"unexpected {type(exc).__name__}: {' '.join(str(exc).split())} (details in the server log)"


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status_code=status, media_type="application/json", headers=headers)


# -- what a request may set ---------------------------------------------------------------


class AskRequest(BaseModel):
    """The body of ``POST /ask`` and ``POST /ask/stream``. Nothing else is accepted: a request
    never sets a file path, a model or a URL."""

    model_config = ConfigDict(extra="forbid", strict=True)

    question: str = Field(description="The question, in plain words (at most answer.max_question_chars).")
    top_k: int | None = Field(None, ge=1, le=100, description="retrieval.top_k for this question: papers retrieved.")
    preset: str | None = Field(
        None, description="A preset name (config/presets, listed by /health) applied over the server's settings; the store stays the server's."
    )


def request_settings(base: Settings, req: AskRequest) -> Settings:
    """The server's settings with the request's allowed overrides."""
    if req.preset is None and req.top_k is None:
        return base
    data = base.model_dump()
    if req.preset is not None:
        known = presets()
        if req.preset not in known:
            raise ConfigError(f"unknown preset '{req.preset}' (known: {', '.join(known) or 'none'})")
        path = config_dir() / "presets" / f"{req.preset}.toml"
        try:
            _deep_merge(data, tomllib.loads(path.read_text(encoding="utf-8")))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path.name}: invalid TOML: {exc}") from None
        for kept in ("store", "corpus", "serve"):  # a request never moves the store
            data[kept] = getattr(base, kept).model_dump()
    if req.top_k is not None:
        data["retrieval"]["top_k"] = req.top_k
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ConfigError(f"preset '{req.preset}': setting '{'.'.join(map(str, err['loc']))}': {err['msg']}") from None


def _deep_merge(dst: dict[str, Any], src: dict[str, Any]) -> None:
    for key, value in src.items():
        if isinstance(value, dict) and isinstance(dst.get(key), dict):
            _deep_merge(dst[key], value)
        else:
            dst[key] = value


def _validation_message(exc: ValidationError | RequestValidationError, where: str = "field") -> str:
    err = exc.errors()[0]
    loc = [str(p) for p in err.get("loc", ()) if p not in ("body",)]
    if loc and loc[0] in ("query", "path"):
        where, loc = f"{loc[0]} parameter", loc[1:]
    name = ".".join(loc) or "body"
    if err.get("type") == "extra_forbidden":
        allowed = ", ".join(AskRequest.model_fields)
        return f"unknown field '{name}': a request may set only {allowed} (no settings, file paths, models or URLs)"
    return f"{where} '{name}': {err.get('msg', 'invalid')}"


# -- one model's queue --------------------------------------------------------------------


class ModelQueue:
    """Generations of one model: one runs, at most ``size`` wait (first come, first served).

    :meth:`admit` is called on the event loop and refuses at once when full; :meth:`run` is
    called in the request's worker thread and always leaves the queue, however it ends."""

    def __init__(self, size: int, retry_after_s: int):
        self.capacity = size + 1
        self.retry_after_s = retry_after_s
        self._cond = threading.Condition()
        self._admitted = 0
        self._waiting: deque[object] = deque()
        self._busy = False
        self.served = 0
        self.cancelled = 0
        self.refused = 0

    def admit(self) -> None:
        with self._cond:
            if self._admitted >= self.capacity:
                self.refused += 1
                raise QueueFull(len(self._waiting), self.retry_after_s)
            self._admitted += 1

    def leave(self) -> None:
        """Give back an admission that never ran (its thread did not start)."""
        with self._cond:
            self._admitted -= 1
            self._cond.notify_all()

    def run(self, fn: Callable[[], T], cancel: threading.Event) -> T:
        me = object()
        with self._cond:
            self._waiting.append(me)
            try:
                while self._busy or self._waiting[0] is not me:
                    if cancel.is_set():
                        raise GenerationCancelled("generation stopped while waiting")
                    self._cond.wait(0.05)
            except BaseException:
                self._waiting.remove(me)
                self._admitted -= 1
                self.cancelled += 1
                self._cond.notify_all()
                raise
            self._waiting.popleft()
            self._busy = True
        outcome: Literal["served", "cancelled", "failed"] = "failed"
        try:
            result = fn()
            outcome = "served"
            return result
        except GenerationCancelled:
            outcome = "cancelled"
            raise
        finally:
            with self._cond:
                self._busy = False
                self._admitted -= 1
                if outcome == "served":
                    self.served += 1
                elif outcome == "cancelled":
                    self.cancelled += 1
                self._cond.notify_all()

    def state(self) -> dict[str, int]:
        with self._cond:
            return {
                "running": int(self._busy), "waiting": len(self._waiting), "capacity": self.capacity,
                "served": self.served, "cancelled": self.cancelled, "refused": self.refused,
            }


class Generation:
    """One question answered in its own thread once its model is free. Tokens and the outcome
    are handed to the event loop; :attr:`cancel` stops it, waiting or generating."""

    def __init__(self, answerer: Answerer, question: str, queue: ModelQueue, *, stream: bool):
        self.loop = asyncio.get_running_loop()
        self.events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.cancel = threading.Event()
        self._answerer = answerer
        self._question = question
        self._queue = queue
        self._stream = stream
        thread = threading.Thread(target=self._run, name="rag-serve-generation", daemon=True)
        try:
            thread.start()
        except BaseException:
            queue.leave()
            raise

    def _emit(self, kind: str, value: Any) -> None:
        try:
            self.loop.call_soon_threadsafe(self.events.put_nowait, (kind, value))
        except RuntimeError:  # the loop is closed: the server is stopping
            pass

    def _run(self) -> None:
        on_token = (lambda piece: self._emit("token", piece)) if self._stream else None
        try:
            answer = self._queue.run(lambda: self._answerer.ask(self._question, on_token=on_token, cancel=self.cancel), self.cancel)
            self._emit("answer", answer)
        except GenerationCancelled as exc:
            log.info("generation cancelled: the client left")
            self._emit("error", exc)
        except BaseException as exc:  # handed to the request
            if not isinstance(exc, RagError):
                log.error("answering failed", exc_info=exc)
            self._emit("error", exc)

    async def outcome(self) -> Answer:
        """The verified answer (tokens are skipped); raises what the pipeline raised."""
        while True:
            kind, value = await self.events.get()
            if kind == "answer":
                return value
            if kind == "error":
                raise value


def sse(event: str, data: str) -> bytes:
    """One server-sent event; ``data`` is one line of JSON."""
    return f"event: {event}\ndata: {data}\n\n".encode()


async def _until_disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


# -- the service ----------------------------------------------------------------------------


@dataclass
class Service:
    """What the routes share: the warm pipeline, one queue per model, the token."""

    settings: Settings
    answerer: Answerer
    token: str | None = None
    queues: dict[str, ModelQueue] = field(default_factory=dict)
    answerers: OrderedDict[str, Answerer] = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    started: float = field(default_factory=time.time)

    @property
    def retriever(self) -> Retriever:
        return self.answerer.retriever

    def queue_for(self, settings: Settings) -> ModelQueue:
        key = settings.llm_label()
        with self.lock:
            if key not in self.queues:
                self.queues[key] = ModelQueue(self.settings.serve.queue_size, self.settings.serve.retry_after_s)
            return self.queues[key]

    def answerer_for(self, settings: Settings) -> Answerer:
        """The warm pipeline for a request's settings: the server's own, or one derived from it
        that shares what the overrides leave unchanged (index, embedder, model)."""
        if settings == self.answerer.settings:
            return self.answerer
        key = settings.model_dump_json()
        with self.lock:
            if key in self.answerers:
                self.answerers.move_to_end(key)
                return self.answerers[key]
        base = self.answerer
        b = base.settings
        same_store = (settings.embedding, settings.chunking, settings.store) == (b.embedding, b.chunking, b.store)
        if same_store and settings.retrieval.model_copy(update={"top_k": b.retrieval.top_k}) == b.retrieval:
            retriever = base.retriever  # the answerer passes its own k to every search
        elif same_store:
            retriever = Retriever(settings, embedder=base.retriever.embedder, store=base.retriever.store)
        else:
            retriever = Retriever(settings)
        llm = None
        if settings.llm == b.llm:
            try:
                llm = base.llm
            except RagError:
                llm = None
        # the evidence and judge embedder (MiniLM, 90 MB) is loaded once, not once per answerer
        same_judge = (settings.answer.judge_embedding, settings.embedding) == (b.answer.judge_embedding, b.embedding)
        answerer = Answerer(settings, retriever=retriever, llm=llm, evidence_embedder=base.selector.embedder if same_judge else None)
        with self.lock:
            self.answerers[key] = answerer
            while len(self.answerers) > MAX_ANSWERERS:
                self.answerers.popitem(last=False)
        return answerer

    def index_summary(self) -> dict[str, Any]:
        index = self.retriever.index
        return {
            "collection": self.retriever.store.name,
            "papers": len({c.paper_id for c in index.chunks}),
            "chunks": len(index.chunks),
        }

    async def prepare(self, request: Request) -> tuple[Answerer, str]:
        """Parse and check a question request; nothing is queued yet."""
        body = await read_json(request, self.settings.serve.max_body_bytes)
        if not isinstance(body, dict):
            raise ApiError(422, 'the request body must be a JSON object, e.g. {"question": "..."}')
        try:
            req = AskRequest.model_validate(body)
        except ValidationError as exc:
            raise ApiError(422, _validation_message(exc)) from None
        try:
            settings = request_settings(self.settings, req)
        except ConfigError as exc:
            raise ApiError(422, error_message(exc)) from None
        question = clean_question(req.question, settings.answer.max_question_chars)  # RagError -> 400
        return self.answerer_for(settings), question

    def start(self, answerer: Answerer, question: str, *, stream: bool) -> Generation:
        queue = self.queue_for(answerer.settings)
        queue.admit()  # QueueFull -> 503 at once
        return Generation(answerer, question, queue, stream=stream)

    def queue_state(self) -> dict[str, int]:
        with self.lock:
            states = [q.state() for q in self.queues.values()]
        total = {k: sum(s[k] for s in states) for k in ("running", "waiting", "served", "cancelled", "refused")}
        return {**total, "capacity": self.settings.serve.queue_size + 1}


async def read_json(request: Request, limit: int) -> Any:
    """The body as JSON, refused when larger than ``limit`` bytes (413) or not JSON (400)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"the request body is {int(declared)} bytes; the limit is {limit} (serve.max_body_bytes)")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ApiError(413, f"the request body is over {limit} bytes (serve.max_body_bytes)")
    try:
        return json.loads(bytes(body))
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, 'the request body is not JSON: send {"question": "..."} with Content-Type: application/json') from None


# -- security: host, origin, token --------------------------------------------------------


def is_loopback(host: str) -> bool:
    host = host.strip().strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def token_for(host: str, environ: dict[str, str] | None = None) -> str | None:
    """The access token from ``RAG_SERVE_TOKEN``: required for a non-loopback ``host``."""
    env = os.environ if environ is None else environ
    token = env.get(TOKEN_ENV, "").strip() or None
    if token is not None and len(token) < MIN_TOKEN_CHARS:
        raise RagError(f"{TOKEN_ENV} is shorter than {MIN_TOKEN_CHARS} characters; use a random secret, e.g. `openssl rand -hex 16`")
    if token is None and not is_loopback(host):
        raise RagError(
            f"--host {host} is reachable from other machines: set {TOKEN_ENV} to a secret of at least {MIN_TOKEN_CHARS} "
            "characters (clients then send 'Authorization: Bearer <token>'), or serve on 127.0.0.1"
        )
    return token


class GuardMiddleware:
    """Pure ASGI (streams and disconnects pass through untouched): security headers on every
    response; without a token, a loopback Host only and no cross-origin POST."""

    def __init__(self, app: ASGIApp, *, local_only: bool):
        self.app = app
        self.local_only = local_only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = headers.get("host", "")
        refusal = None
        if self.local_only and host and not _host_is_loopback(host):
            refusal = (421, f"unexpected Host '{host[:100]}': this server answers on a loopback address only (set {TOKEN_ENV} to serve other hosts)")
        origin = headers.get("origin")
        if refusal is None and scope.get("method") == "POST" and origin and origin != "null" and host:
            if (urlsplit(origin).hostname or "") != (urlsplit(f"//{host}").hostname or ""):
                refusal = (403, "cross-origin request refused")
        if refusal is not None:
            await _json(refusal[0], {"error": refusal[1]})(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"), (b"x-frame-options", b"DENY")]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _host_is_loopback(host_header: str) -> bool:
    name = urlsplit(f"//{host_header}").hostname or ""
    return name in LOOPBACK_NAMES or is_loopback(name)


# -- the app ------------------------------------------------------------------------------


def _web_files() -> dict[str, bytes]:
    folder = resources.files("rag") / "web"
    return {name: (folder / name).read_bytes() for name in WEB_FILES}


def create_app(settings: Settings, *, answerer: Answerer | None = None, token: str | None = None) -> FastAPI:
    """The ASGI app. ``answerer``: the warm pipeline to use (built lazily from ``settings``
    when None); ``token``: the bearer token every data endpoint then requires."""
    service = Service(settings=settings, answerer=answerer or Answerer(settings), token=token)
    web = _web_files()
    app = FastAPI(
        title="rag-papers",
        version="0.1.0",
        summary="Question answering over research-paper abstracts, with checkable citations.",
        description="Answers cite the papers they rely on; each reference carries its supporting sentence and "
        "its offsets in the abstract. Errors are `{\"error\": \"...\"}`. With RAG_SERVE_TOKEN set, send "
        "`Authorization: Bearer <token>`.",
        redoc_url=None,
    )
    app.state.service = service

    async def authorized(request: Request) -> None:
        if service.token is None:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), service.token.encode()):
            raise ApiError(401, "missing or wrong access token: send 'Authorization: Bearer <token>'", {"WWW-Authenticate": "Bearer"})

    guarded = [Depends(authorized)]
    errors: dict[int | str, dict[str, Any]] = {
        400: {"model": ErrorBody, "description": "Bad request (not JSON, an empty or too long question)"},
        401: {"model": ErrorBody, "description": "Missing or wrong token (when RAG_SERVE_TOKEN is set)"},
        422: {"model": ErrorBody, "description": "A field that is not allowed or not valid"},
        503: {"model": ErrorBody, "description": "The queue is full (see Retry-After), or there is no index"},
    }
    ask_body = {"requestBody": {"required": True, "content": {"application/json": {"schema": AskRequest.model_json_schema()}}}}

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        return _json(exc.status, {"error": exc.message}, exc.headers)

    @app.exception_handler(RagError)
    async def _rag_error(request: Request, exc: RagError) -> Response:
        return _json(error_status(exc), {"error": error_message(exc)})

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        return _json(422, {"error": _validation_message(exc)})

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = str(exc.detail)
        if exc.status_code in (404, 405) and message in ("Not Found", "Method Not Allowed"):
            message = f"no endpoint {request.method} {request.url.path[:200]} (the API is listed at /docs)"
        return _json(exc.status_code, {"error": message}, dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return _json(500, {"error": error_message(exc)})

    @app.post("/ask", dependencies=guarded, openapi_extra=ask_body, responses={200: {"model": Answer}, **errors},
              summary="Answer a question with verified citations")
    async def ask(request: Request) -> Response:
        answerer, question = await service.prepare(request)
        generation = service.start(answerer, question, stream=False)
        result = asyncio.ensure_future(generation.outcome())
        left = asyncio.ensure_future(_until_disconnected(request.receive))
        try:
            done, _ = await asyncio.wait({result, left}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            left.cancel()
        if result not in done:  # the client went away: stop its generation
            generation.cancel.set()
            result.cancel()
            return Response(status_code=499)
        return Response(result.result().model_dump_json(), media_type="application/json")

    @app.post("/ask/stream", dependencies=guarded, openapi_extra=ask_body, summary="Answer, streamed as server-sent events",
              responses={200: {"content": {"text/event-stream": {}},
                               "description": "`event: token` with `{\"text\"}` for each draft piece, then one `event: answer` "
                               "with the verified Answer (or `event: error` with `{\"error\"}`)"}, **errors})
    async def ask_stream(request: Request) -> Response:
        answerer, question = await service.prepare(request)
        generation = service.start(answerer, question, stream=True)

        async def events() -> AsyncIterator[bytes]:
            finished = False
            try:
                while True:
                    try:
                        kind, value = await asyncio.wait_for(generation.events.get(), KEEPALIVE_S)
                    except TimeoutError:
                        yield b": waiting\n\n"
                        continue
                    if kind == "token":
                        yield sse("token", json.dumps({"text": value}, ensure_ascii=False))
                    elif kind == "answer":
                        finished = True
                        yield sse("answer", value.model_dump_json())
                        return
                    else:
                        finished = True
                        yield sse("error", json.dumps({"error": error_message(value)}, ensure_ascii=False))
                        return
            finally:
                if not finished:  # the client disconnected (or the server is stopping)
                    generation.cancel.set()

        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(events(), media_type="text/event-stream", headers=headers)

    @app.get("/search", dependencies=guarded, responses=errors, summary="Ranked papers with the matching sentence (no LLM)")
    def search(
        q: str = Query(..., description="What to look for, in plain words."),
        k: int | None = Query(None, ge=1, le=100, description="Number of papers (default: retrieval.top_k)."),
    ) -> Response:
        t0 = time.perf_counter()
        hits = service.retriever.search(q, k=k)
        return _json(200, {
            "query": q,
            "collection": service.retriever.store.name,
            "settings_hash": service.settings.settings_hash(),
            "mode": service.settings.retrieval.mode,
            "seconds": round(time.perf_counter() - t0, 4),
            "results": [h.to_dict() for h in hits],
        })

    @app.get("/papers/{paper_id}", dependencies=guarded, summary="One paper: title, abstract, source files",
             responses={404: {"model": ErrorBody, "description": "No such paper in the index"}, **errors})
    def paper(paper_id: str) -> Response:
        if not service.retriever.index.paper_chunks(paper_id):
            raise ApiError(404, f"no paper with id '{paper_id[:200]}' in the index")
        p = service.retriever.paper(paper_id)
        return _json(200, {"paper_id": p.id, "title": p.title, "abstract": p.abstract, "sources": list(p.sources), "extra": p.extra})

    @app.get("/health", summary="Index, model, settings hash and queue")
    def health() -> Response:
        body: dict[str, Any] = {
            "status": "ok",
            "model": service.answerer.model_name(),
            "settings_hash": service.settings.settings_hash(),
            "retrieval_mode": service.settings.retrieval.mode,
            "top_k": service.settings.retrieval.top_k,
            "max_question_chars": service.settings.answer.max_question_chars,
            "presets": presets(),
            "auth": service.token is not None,
            "queue": service.queue_state(),
            "uptime_s": round(time.time() - service.started, 1),
        }
        try:
            body["index"] = service.index_summary()
        except RagError as exc:
            body.update(status="error", error=error_message(exc))
            return _json(503, body)
        return _json(200, body)

    def page(name: str) -> Callable[[], Awaitable[Response]]:
        async def serve_file() -> Response:
            return Response(web[name], media_type=WEB_FILES[name], headers={"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-cache"})

        return serve_file

    app.get("/", include_in_schema=False)(page("index.html"))
    app.get("/web/app.css", include_in_schema=False)(page("app.css"))
    app.get("/web/app.js", include_in_schema=False)(page("app.js"))

    app.add_middleware(GuardMiddleware, local_only=token is None)
    return app


# -- running it ---------------------------------------------------------------------------


def warm(answerer: Answerer) -> None:
    """Load the index, the embedder, the judge and the LLM now, then answer one question, so
    the first user does not pay for loading (nor for the system prompt's llama.cpp cache)."""
    from .llm import LlamaCppLLM

    answerer.retriever.warm()
    _ = answerer.selector, answerer.judge, answerer.abstention
    try:
        llm = answerer.llm
        if isinstance(llm, LlamaCppLLM):
            _ = llm.model  # the weights
    except LLMUnavailable as exc:
        log.warning("no LLM (%s): answers will list the relevant papers only", exc)
    t0 = time.perf_counter()
    try:
        answer = answerer.ask(WARM_QUESTION)
    except RagError as exc:  # the server still starts; the first real question will say what is wrong
        log.warning("warm-up question failed: %s", exc)
        return
    log.info("warm-up question answered (%s) in %.1f s", answer.status, time.perf_counter() - t0)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket, so an address in use is a one-line error before anything runs."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        raise RagError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def serve(settings: Settings, *, announce: Callable[[str], None], verbose: int = 0) -> int:
    """Warm everything, bind, call ``announce`` with one line, then serve until interrupted."""
    import uvicorn

    host, port = settings.serve.host, settings.serve.port
    token = token_for(host)
    answerer = Answerer(settings)
    warm(answerer)
    app = create_app(settings, answerer=answerer, token=token)
    info = app.state.service.index_summary()
    sock = bind(host, port)
    shown = f"[{host}]" if ":" in host else host
    config = uvicorn.Config(
        app,
        log_config=None,  # the CLI's logging set-up
        log_level=logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG,
        access_log=verbose > 0,
        server_header=False,
        timeout_graceful_shutdown=5,
    )
    announce(
        f"rag serve: http://{shown}:{port}/ ({info['papers']} papers in '{info['collection']}', model {answerer.model_name()}"
        f"{', token required' if token else ''}; API docs at /docs; Ctrl-C stops)"
    )
    uvicorn.Server(config).run(sockets=[sock])
    return 0
