"""LLM backends behind one narrow interface.

``complete(messages, max_tokens=..., on_token=...) -> Completion``. Backends register in
``LLMS`` by the name used in ``settings.llm.backend``:

* ``llama-cpp`` — a GGUF model in this process via llama-cpp-python (offline default);
* ``openai`` — the OpenAI API or any OpenAI-compatible endpoint (``base_url``), with
  timeouts and retries with backoff for transient errors;
* ``extractive`` — no model: the best-matching source sentences, cited. Deterministic; a
  baseline and a fallback, registered like the others.

A backend that cannot answer (endpoint down, key missing, model missing) raises
:class:`LLMUnavailable`; callers turn that into a retrieval-only result.
"""

from __future__ import annotations

import logging
import math
import os
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .errors import ConfigError, RagError
from .settings import LLMSettings, Settings, display_url
from .text import redact_credentials, redact_loggers, shorten

log = logging.getLogger(__name__)

TokenCallback = Callable[[str], None]


class LLMUnavailable(RagError):
    """The LLM cannot be reached or used right now; the message says what to do."""


class GenerationCancelled(RagError):
    """The caller stopped the generation (e.g. Ctrl-C in the chat)."""


@dataclass(frozen=True)
class PromptSource:
    """One numbered source as the prompt shows it (its title and the text given)."""

    n: int
    title: str
    text: str


@dataclass(frozen=True)
class Message:
    role: str  # "system" | "user" | "assistant"
    content: str
    # the numbered sources rendered into ``content``, as data: endpoint backends send
    # ``content`` only; a backend that needs no model (extractive) reads these instead
    sources: tuple[PromptSource, ...] = ()


@dataclass
class Completion:
    text: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    first_token_s: float | None = None
    seconds: float = 0.0
    finish_reason: str | None = None
    tokens_estimated: bool = False  # the backend reported no usage; counts are estimates


class LLM(Protocol):
    name: str

    def complete(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int | None = None,
        on_token: TokenCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> Completion: ...


LLMS: dict[str, Callable[[Settings], LLM]] = {}


def register(backend: str):
    def deco(factory: Callable[[Settings], LLM]) -> Callable[[Settings], LLM]:
        LLMS[backend] = factory
        return factory

    return deco


def make_llm(settings: Settings) -> LLM:
    try:
        factory = LLMS[settings.llm.backend]
    except KeyError:  # same error as an unknown embedding.provider
        raise ConfigError(f"unknown llm.backend '{settings.llm.backend}' (known: {', '.join(LLMS)})") from None
    return factory(settings)


class _Stream:
    """Collects streamed pieces: text, time to first token, cancellation."""

    def __init__(self, on_token: TokenCallback | None, cancel: threading.Event | None):
        self.on_token = on_token
        self.cancel = cancel
        self.parts: list[str] = []
        self.t0 = time.perf_counter()
        self.first: float | None = None

    def push(self, piece: str | None) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise GenerationCancelled("generation stopped")
        if not piece:
            return
        if self.first is None:
            self.first = time.perf_counter() - self.t0
        self.parts.append(piece)
        if self.on_token:
            self.on_token(piece)

    @property
    def text(self) -> str:
        return "".join(self.parts)

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.t0


# -- llama.cpp in process ----------------------------------------------------------------


class LlamaCppLLM:
    """A GGUF model in this process.

    Loaded models are shared per (path, context, threads) across all instances in the
    process, each with its own lock: llama.cpp contexts are not thread-safe, so generations
    on one model run one at a time whichever instance asks.
    """

    _models: dict[tuple, tuple[object, threading.Lock]] = {}
    _models_lock = threading.Lock()

    def __init__(self, settings: Settings):
        from .models import BUNDLED, resolve_gguf

        self.settings = settings.llm
        self.path: Path = resolve_gguf(self.settings.model, settings.store_dir() / "models")
        self.name = f"llama-cpp:{self.settings.model}"
        kind = self.settings.requantize
        if kind != "none" and self.settings.model in BUNDLED and BUNDLED[self.settings.model].sha256:
            # a pinned bundled model (not a user's own file), converted once to a type this CPU runs faster
            from .requantize import requantized

            try:
                self.path = requantized(self.path, kind)
                self.name = f"{self.name}@{kind}"
            except RagError as exc:
                log.warning("%s; using the model as shipped (set llm.requantize = \"none\" to skip this)", exc)

    def _loaded(self) -> tuple[object, threading.Lock]:
        key = (str(self.path), self.settings.context_tokens, self.settings.threads, self.settings.flash_attention)
        with self._models_lock:
            if key not in self._models:
                try:
                    from llama_cpp import Llama
                except ImportError:
                    raise LLMUnavailable("llama-cpp-python is not installed: run `make setup`") from None
                threads = self.settings.threads or os.cpu_count() or 1
                log.info("loading %s (%d threads)", self.path, threads)
                try:
                    model = Llama(
                        model_path=str(self.path),
                        n_ctx=self.settings.context_tokens,
                        n_threads=threads,
                        n_threads_batch=threads,
                        flash_attn=self.settings.flash_attention,
                        verbose=False,
                    )
                except (ValueError, RuntimeError) as exc:
                    raise LLMUnavailable(f"llama.cpp could not load {self.path}: {exc}") from None
                self._models[key] = (model, threading.Lock())
            return self._models[key]

    @property
    def model(self):
        return self._loaded()[0]

    def count_tokens(self, text: str) -> int:
        return len(self.model.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def complete(self, messages, *, max_tokens=None, on_token=None, cancel=None) -> Completion:
        model, lock = self._loaded()
        stream = _Stream(on_token, cancel)
        finish = None
        n = 0
        with lock:
            try:
                chunks = model.create_chat_completion(
                    [{"role": m.role, "content": m.content} for m in messages],
                    max_tokens=max_tokens or self.settings.max_tokens,
                    temperature=self.settings.temperature,
                    seed=self.settings.seed,
                    stream=True,
                )
                try:
                    for chunk in chunks:
                        choice = chunk["choices"][0]
                        piece = choice.get("delta", {}).get("content")
                        n += bool(piece)
                        stream.push(piece)
                        finish = choice.get("finish_reason") or finish
                finally:
                    chunks.close()
            except (ValueError, RuntimeError) as exc:  # e.g. the prompt does not fit the context window
                raise LLMUnavailable(f"llama.cpp could not generate: {shorten(str(exc))}") from None
            prompt_tokens = len(model.tokenize("".join(m.content for m in messages).encode("utf-8"), add_bos=False, special=True))
        return Completion(stream.text, self.name, prompt_tokens, n, stream.first, stream.elapsed, finish)


@register("llama-cpp")
def _llama_cpp(settings: Settings) -> LLM:
    return LlamaCppLLM(settings)


# -- OpenAI and compatible endpoints ---------------------------------------------------------


URL_LOGGERS = ("httpx", "httpx2", "openai._base_client", __name__)  # the loggers that may quote llm.base_url


class OpenAILLM:
    """The OpenAI API or any OpenAI-compatible endpoint, streamed.

    ``llm.timeout_s`` bounds the whole call, retries included: each request runs in a worker
    thread and is abandoned at the deadline whatever the server does (no answer, a stalled or
    trickling stream). Transient errors are retried with backoff only while time is left.
    A response that is not an OpenAI-compatible completion is an :class:`LLMUnavailable`, and
    the API key never appears in a message (it is masked even when the server echoes it).
    """

    def __init__(self, settings: Settings):
        self.settings: LLMSettings = settings.llm
        key = os.environ.get(self.settings.api_key_env)
        if not key and not self.settings.base_url:
            raise LLMUnavailable(
                f"llm.backend = openai needs an API key: set the environment variable {self.settings.api_key_env} "
                "(or set llm.base_url to an OpenAI-compatible endpoint)"
            )
        from openai import OpenAI

        redact_loggers(URL_LOGGERS)  # they log request URLs, credentials of llm.base_url included
        self._key = key or ""
        self.client = OpenAI(api_key=key or "no-key", base_url=self.settings.base_url, timeout=self.settings.timeout_s, max_retries=0)
        self.where = display_url(self.settings.base_url) if self.settings.base_url else "api.openai.com"
        self.name = f"openai:{self.settings.model}@{self.where if self.settings.base_url else 'openai'}"

    def complete(self, messages, *, max_tokens=None, on_token=None, cancel=None) -> Completion:
        import httpx2 as httpx  # openai's HTTP client (openai >= 3); its transport errors are caught below
        import openai

        transient = (openai.APIConnectionError, openai.APITimeoutError, openai.RateLimitError, openai.InternalServerError)
        deadline = time.monotonic() + self.settings.timeout_s
        delay = 0.5
        for attempt in range(self.settings.retries + 1):
            stream = _Stream(on_token, cancel)
            try:
                return self._bounded(messages, max_tokens, stream, deadline)
            except transient as exc:
                # a retry after tokens were already shown would duplicate them: give up instead;
                # so do retries that could not finish before the deadline
                if attempt == self.settings.retries or stream.parts or deadline - time.monotonic() <= delay:
                    raise LLMUnavailable(self._describe(exc)) from None
                log.warning("LLM endpoint: %s; retrying in %.1f s", self._describe(exc), delay)
                if cancel is None:
                    time.sleep(delay)
                elif cancel.wait(delay):
                    raise GenerationCancelled("generation stopped") from None
                delay *= 2
            except openai.AuthenticationError:
                if not self._key:
                    raise LLMUnavailable(
                        f"the LLM endpoint {self.where} wants an API key: set the environment variable {self.settings.api_key_env}"
                    ) from None
                raise LLMUnavailable(f"the LLM endpoint {self.where} refused the API key in {self.settings.api_key_env}") from None
            except openai.APIStatusError as exc:
                raise LLMUnavailable(f"the LLM endpoint {self.where} answered HTTP {exc.status_code}: {shorten(self._redact(str(exc)))}") from None
            except openai.OpenAIError as exc:
                raise LLMUnavailable(f"the LLM endpoint {self.where} failed: {shorten(self._redact(str(exc)))}") from None
            except (LLMUnavailable, GenerationCancelled):
                raise
            except httpx.TimeoutException:
                raise LLMUnavailable(self._timeout_message(bool(stream.parts))) from None
            except httpx.HTTPError as exc:  # e.g. the connection dropped in the middle of the stream
                raise LLMUnavailable(f"the connection to the LLM endpoint {self.where} broke off ({type(exc).__name__})") from None
            except Exception as exc:  # e.g. a body that is not JSON, or JSON of another shape
                log.debug("unreadable LLM response", exc_info=True)
                raise LLMUnavailable(
                    f"the LLM endpoint {self.where} sent a response that is not an OpenAI-compatible chat completion "
                    f"({type(exc).__name__}); check llm.base_url"
                ) from None
        raise AssertionError("unreachable")

    def _bounded(self, messages, max_tokens, stream: _Stream, deadline: float) -> Completion:
        """One request in a worker thread, waited for until the deadline (or a cancel)."""
        box: dict[str, object] = {}
        done = threading.Event()
        stop = threading.Event()  # set when this attempt is abandoned: the worker emits nothing more

        def run() -> None:
            try:
                box["value"] = self._once(messages, max_tokens, stream, deadline, stop, box)
            except BaseException as exc:  # handed to the waiting thread
                box["error"] = exc
            finally:
                done.set()

        worker = threading.Thread(target=run, name="llm-request", daemon=True)
        worker.start()
        while not done.wait(max(0.0, min(0.1, deadline - time.monotonic()))):
            cancelled = stream.cancel is not None and stream.cancel.is_set()
            if cancelled or time.monotonic() >= deadline:
                stop.set()
                resp = box.get("response")
                if resp is not None:
                    try:
                        resp.close()  # type: ignore[attr-defined]
                    except Exception:
                        pass
                if cancelled:
                    raise GenerationCancelled("generation stopped")
                raise LLMUnavailable(self._timeout_message(bool(stream.parts)))
        if "error" in box:
            raise box["error"]  # type: ignore[misc]
        return box["value"]  # type: ignore[return-value]

    def _once(self, messages, max_tokens, stream: _Stream, deadline: float, stop: threading.Event, box: dict) -> Completion:
        resp = self.client.chat.completions.create(
            model=self.settings.model,
            messages=[{"role": m.role, "content": m.content} for m in messages],
            max_tokens=max_tokens or self.settings.max_tokens,
            temperature=self.settings.temperature,
            stream=True,
            stream_options={"include_usage": True},
            timeout=max(0.05, deadline - time.monotonic()) if deadline != math.inf else None,
        )
        box["response"] = resp
        usage = None
        finish = None
        events = 0
        try:
            for chunk in resp:
                if stop.is_set():
                    raise GenerationCancelled("abandoned")
                events += 1
                if getattr(chunk, "usage", None):
                    usage = chunk.usage
                if not chunk.choices:
                    continue
                choice = chunk.choices[0]
                stream.push(choice.delta.content if choice.delta else None)
                finish = choice.finish_reason or finish
        finally:
            resp.close()
        if not events:
            raise LLMUnavailable(
                f"the LLM endpoint {self.where} sent no completion (not an OpenAI-compatible streaming response); check llm.base_url"
            )
        if usage is not None and getattr(usage, "prompt_tokens", None):
            return Completion(stream.text, self.name, usage.prompt_tokens, usage.completion_tokens or 0, stream.first, stream.elapsed, finish)
        # some servers (e.g. llama_cpp.server) report no usage when streaming: estimate
        from .chunking import token_counter

        count = token_counter("cl100k_base")
        prompt = sum(count(m.content) for m in messages)
        return Completion(stream.text, self.name, prompt, len(stream.parts), stream.first, stream.elapsed, finish, tokens_estimated=True)

    def _timeout_message(self, started: bool) -> str:
        what = "did not finish its answer" if started else "did not answer"
        return f"the LLM endpoint {self.where} {what} within llm.timeout_s = {self.settings.timeout_s:g} s"

    def _redact(self, text: str) -> str:
        """Mask the API key and HTTP Basic credentials (a user and password in llm.base_url are
        sent that way; some servers and proxies echo request headers in their errors)."""
        if len(self._key) >= 4:
            text = text.replace(self._key, "***")
        return redact_credentials(_BASIC_AUTH.sub(r"\1***", text))

    def _describe(self, exc: Exception) -> str:
        import openai

        if isinstance(exc, openai.APITimeoutError):
            return self._timeout_message(False)
        if isinstance(exc, openai.APIConnectionError):
            return f"cannot reach the LLM endpoint {self.where} (is it running?)"
        if isinstance(exc, openai.RateLimitError):
            return f"the LLM endpoint {self.where} is rate-limiting requests"
        return f"the LLM endpoint {self.where} failed: {shorten(self._redact(str(exc)))}"


_BASIC_AUTH = re.compile(r"(\bBasic\s+)[A-Za-z0-9+/=_-]{6,}")


@register("openai")
def _openai(settings: Settings) -> LLM:
    return OpenAILLM(settings)


# -- extractive (no model) -------------------------------------------------------------------

class ExtractiveLLM:
    """Answers with the first sentence of each of the first sources, each cited.

    It reads the numbered sources the prompt was rendered from (``Message.sources`` of the last
    message), so its answer goes through the same citation parsing and verification as a real
    model's, without depending on how the prompt template lays the sources out.
    """

    name = "extractive"

    def __init__(self, settings: Settings):
        self.max_sentences = 2

    def complete(self, messages, *, max_tokens=None, on_token=None, cancel=None) -> Completion:
        from .text import sentence_spans

        stream = _Stream(on_token, cancel)
        last = messages[-1]
        out = []
        for src in last.sources[: self.max_sentences]:
            spans = sentence_spans(src.text)
            if spans:
                sentence = src.text[spans[0].start : spans[0].end].rstrip(".")
                out.append(f"{sentence} [{src.n}].")
        for piece in (" ".join(out) or "The sources do not answer this question.").split(" "):
            stream.push(piece + " ")
        return Completion(stream.text.strip(), self.name, len(last.content) // 4, len(stream.parts), stream.first, stream.elapsed, "stop")


@register("extractive")
def _extractive(settings: Settings) -> LLM:
    return ExtractiveLLM(settings)
