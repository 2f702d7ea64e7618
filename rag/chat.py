"""``rag chat``: an interactive research conversation in the terminal.

Each question is resolved against the conversation (:mod:`rag.conversation`), answered by
the same :class:`~rag.answer.Answerer` as ``rag ask`` (so the same verification applies),
streamed while it is generated, then replaced by the verified answer and its references.
Citation numbers are the session's: a paper cited as [2] stays [2].

Input uses GNU readline (line editing, history in ``chat.history_file``); output uses rich
(markdown in a terminal, plain text when piped).
"""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from rich.console import Console
from rich.live import Live
from rich.markdown import Markdown
from rich.text import Text

from .answer import Answer, Answerer, AnswerStream
from .conversation import Conversation, transcript_markdown
from .errors import RagError
from .llm import GenerationCancelled
from .render import answer_view, quotes
from .settings import Settings
from .text import MARKER, redact_credentials, strip_controls

log = logging.getLogger(__name__)

COMMANDS = {
    "/help": "this list",
    "/sources": "the last answer's references, with the sentences that support them",
    "/paper N": "the full abstract of reference N",
    "/search QUERY": "find papers without asking the model",
    "/reset": "forget the conversation (citation numbers start again at 1)",
    "/settings": "the settings in use (/settings all: the whole tree)",
    "/save FILE": "write the conversation and its references to FILE as markdown",
    "/quit": "leave (or Ctrl-D)",
}
HELP_FOOTER = "Anything else is a question. Follow-ups may refer to [2], 'the second one' or 'it'. Ctrl-C stops an answer."


class ChatApp:
    """One chat session. ``read`` returns the next input line (raises EOFError at the end)."""

    def __init__(self, settings: Settings, *, console: Console | None = None, read: Callable[[str], str] = input):
        self.settings = settings
        self.console = console or Console(highlight=False)
        self.read = read
        self.answerer = Answerer(settings)
        self.conv = Conversation()
        self.history: Path | None = None

    # -- the loop -------------------------------------------------------------------------

    def run(self) -> int:
        if threading.current_thread() is threading.main_thread():
            # Ctrl-C cancels the line (and, while answering, the generation) even when the chat
            # was started with SIGINT ignored (a parent that ignores it passes that on through exec)
            signal.signal(signal.SIGINT, signal.default_int_handler)
        self._open_history()
        self.answerer.retriever.warm()  # a missing index fails here, before the banner
        threading.Thread(target=self._load_llm, daemon=True).start()
        self._banner()
        while True:
            try:
                line = self.read("rag> ")
            except EOFError:
                self.console.print()
                break
            except KeyboardInterrupt:
                self.console.print("^C  (Ctrl-D or /quit to leave)", style="dim")
                continue
            line = line.strip()
            if not line:
                self.console.print("(type a question, or /help)", style="dim")
                continue
            self._remember(line)
            try:
                if line.startswith("/"):
                    if self.command(line) == "quit":
                        break
                else:
                    self.ask(line)
            except KeyboardInterrupt:
                self.console.print(Text("(stopped)", style="yellow"))
            except RagError as exc:
                self.error(str(exc))
            except Exception as exc:  # the session goes on; details in the log with -v
                log.debug("chat command failed", exc_info=True)
                self.error(f"unexpected {type(exc).__name__}: {redact_credentials(str(exc))}")
        self.console.print("Bye.", style="dim")
        return 0

    def error(self, message: str) -> None:
        self.console.print(Text(f"error: {message}", style="red"))

    def _banner(self) -> None:
        index = self.answerer.retriever.index
        papers = len({c.paper_id for c in index.chunks})
        s = self.settings
        model = s.llm_label()
        self.console.print(Text("rag chat", style="bold"), Text(f"· {papers} papers, {len(index.chunks)} chunks in {s.collection_name()}"))
        self.console.print(Text(f"model {model} · retrieval {s.retrieval.mode} · /help for commands, Ctrl-D to leave", style="dim"))

    def _load_llm(self) -> None:
        with contextlib.suppress(Exception):  # any failure is reported by the first question
            _ = self.answerer.llm

    # -- history ---------------------------------------------------------------------------

    def _open_history(self) -> None:
        try:
            import readline
        except ImportError:  # pragma: no cover - no GNU readline on this platform
            return
        readline.set_completer(self._complete)
        readline.set_completer_delims(" ")
        readline.parse_and_bind("tab: complete")
        path = self.settings.chat.history_path()
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.exists():
                readline.read_history_file(path)
            readline.set_history_length(self.settings.chat.history_size)
            readline.write_history_file(path)  # trimmed to history_size; later lines are appended
            self.history = path
        except OSError as exc:
            self.error(f"cannot use the history file {path}: {exc.strerror or exc} (chat.history_file)")

    def _remember(self, line: str) -> None:
        if self.history is None:
            return
        import readline

        try:
            readline.append_history_file(1, self.history)
        except OSError as exc:
            self.error(f"cannot write the history file {self.history}: {exc.strerror or exc}")
            self.history = None

    def _complete(self, text: str, state: int) -> str | None:
        names = [c.split()[0] for c in COMMANDS if c.startswith(text)] if text.startswith("/") else []
        return names[state] if state < len(names) else None

    # -- questions -------------------------------------------------------------------------

    def ask(self, question: str) -> Answer | None:
        resolved = self.conv.resolve(question)
        if resolved.unknown:
            numbers = ", ".join(f"[{n}]" for n in resolved.unknown)
            self.console.print(Text(f"note: {numbers} is not a reference in this session yet; asking as typed", style="yellow"))
        if resolved.standalone != question:
            self.console.print(Text(f"↳ {resolved.standalone}", style="dim"))
        stream = AnswerStream(self.answerer, resolved.standalone, resolved.focus)
        try:
            with _interrupt_cancels(stream, lambda: self.console.print(Text("(stopping…)", style="yellow"))):
                self._stream(stream)
        except GenerationCancelled:
            self.console.print(Text("(stopped)", style="yellow"))
            return None
        answer = self.conv.add(question, resolved.standalone, stream.answer)
        self.show(answer)
        return answer

    def _stream(self, stream: AnswerStream) -> None:
        """Show the draft while it is generated (without citation markers, which are not yet
        verified); it is replaced by the verified answer."""
        draft = ""
        with Live(Text("…", style="dim"), console=self.console, transient=True, refresh_per_second=8, vertical_overflow="crop") as live:
            for piece in stream:
                draft += piece
                live.update(Text(MARKER.sub("", strip_controls(draft)).strip() or "…", style="dim"))

    def show(self, answer: Answer) -> None:
        """Lay out the answer's view (rag/render.py) on the console."""
        c, view = self.console, answer_view(answer)
        if view.notice:
            c.print(Text(view.notice, style="yellow"))
        elif self.settings.chat.markdown and c.is_terminal:
            # HTML would be hidden by the renderer: a "<!-- ... -->" could hide a marker's context
            c.print(Markdown(view.text.replace("<", "\\<")))
        else:
            c.print(Text(view.text))
        if view.references:
            c.print(Text("References", style="bold"))
            self._references(answer)
        if view.unsupported:
            c.print(Text(view.unsupported, style="yellow"))
        if view.papers:
            c.print(Text(f"{view.papers_heading}:", style="bold"))
            self._papers([(p.rank, p.title, p.sentence) for p in view.papers])

    def _references(self, answer: Answer, *, detail: bool = False) -> None:
        for r in answer.references:
            self.console.print(Text(f"[{r.n}] {r.title}", style="cyan"))
            for q in quotes(r):
                self.console.print(Text(f"    “{q.text}”", style="dim"))
                if detail:  # a line of its own: a long sentence must not wrap the location apart
                    best = f", support {r.support:.2f}" if (q.start, q.end) == (r.start, r.end) else ""
                    self.console.print(Text(f"    (abstract characters {q.start}-{q.end}{best})", style="dim"))

    def _papers(self, rows: list[tuple[int, str, str]]) -> None:
        for rank, title, sentence in rows:
            self.console.print(Text(f"{rank:>2}. {title}"))
            self.console.print(Text(f"    “{sentence}”", style="dim"))

    # -- commands --------------------------------------------------------------------------

    def command(self, line: str) -> str | None:
        name, _, arg = line.partition(" ")
        arg = arg.strip()
        handlers: dict[str, Callable[[str], str | None]] = {
            "/help": self.cmd_help,
            "/sources": self.cmd_sources,
            "/paper": self.cmd_paper,
            "/search": self.cmd_search,
            "/reset": self.cmd_reset,
            "/settings": self.cmd_settings,
            "/save": self.cmd_save,
            "/quit": lambda _a: "quit",
            "/exit": lambda _a: "quit",
        }
        handler = handlers.get(name.lower())
        if handler is None:
            raise RagError(f"unknown command {name}; /help lists the commands")
        return handler(arg)

    def cmd_help(self, _arg: str) -> None:
        width = max(len(k) for k in COMMANDS)
        for key, text in COMMANDS.items():
            self.console.print(Text(f"  {key:<{width}}  {text}"))
        self.console.print(Text(HELP_FOOTER, style="dim"))

    def cmd_sources(self, _arg: str) -> None:
        last = self.conv.last
        if last is None:
            raise RagError("no answer yet; ask a question first")
        if not last.references:
            self.console.print(Text("The last answer cites no paper.", style="dim"))
        self._references(last, detail=True)
        others = [p for p in last.retrieved if p.cited_as is None]
        if others:
            self.console.print(Text("Also retrieved, not cited:", style="bold"))
            self._papers([(p.rank, p.title, p.sentence) for p in others])

    def cmd_paper(self, arg: str) -> None:
        n = _reference_number(arg, "/paper N")
        cited = self.conv.cited.get(n)
        if cited is None:
            known = ", ".join(f"[{k}]" for k in sorted(self.conv.cited)) or "none yet"
            raise RagError(f"no reference [{n}] in this session (cited so far: {known})")
        paper = self.answerer.retriever.paper(cited.paper_id)
        self.console.print(Text(f"[{n}] {paper.title}", style="bold cyan"))
        self.console.print(Text(f"from {', '.join(paper.sources)} · id {paper.id}", style="dim"))
        self.console.print(Text(paper.abstract))

    def cmd_search(self, arg: str) -> None:
        if not arg:
            raise RagError("usage: /search QUERY")
        hits = self.answerer.retriever.search(arg)
        if not hits:
            self.console.print(Text("No matching papers.", style="dim"))
        self._papers([(h.rank, h.title, h.sentence) for h in hits])

    def cmd_reset(self, _arg: str) -> None:
        self.conv.reset()
        self.console.print(Text("Conversation cleared; citation numbers start again at [1].", style="dim"))

    def cmd_settings(self, arg: str) -> None:
        s = self.settings
        if arg == "all":
            self.console.print(Text(json.dumps(s.public_dump(), indent=2)))
            return
        rows = {
            "collection": s.collection_name(),
            "store": str(s.store_dir()) if s.store.mode == "embedded" else f"chroma server {s.store.host}:{s.store.port}",
            "llm": s.llm_label(),
            "retrieval": f"{s.retrieval.mode}, top_k {s.retrieval.top_k}",
            "sources per answer": str(s.answer.max_sources),
            "settings hash": s.settings_hash(),
        }
        width = max(len(k) for k in rows)
        for key, value in rows.items():
            self.console.print(Text(f"  {key:<{width}}  {value}"))

    def cmd_save(self, arg: str) -> None:
        if not arg:
            raise RagError("usage: /save FILE")
        if not self.conv.turns:
            raise RagError("nothing to save yet; ask a question first")
        path = Path(arg).expanduser()
        try:
            path.write_text(transcript_markdown(self.conv, f"rag chat · {self.settings.collection_name()}"), encoding="utf-8")
        except OSError as exc:
            raise RagError(f"cannot write {path}: {exc.strerror or exc}") from None
        self.console.print(Text(f"Saved {len(self.conv.turns)} answer(s) to {path}", style="dim"))


@contextlib.contextmanager
def _interrupt_cancels(stream: AnswerStream, notice: Callable[[], None]) -> Iterator[None]:
    """While an answer streams, Ctrl-C cancels the generation instead of raising: the stream
    then ends with GenerationCancelled at the next token, and a second Ctrl-C cannot escape
    half-way through the display."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_sigint(_signum, _frame) -> None:
        if not stream.cancelled:
            notice()
        stream.cancel()

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _reference_number(arg: str, usage: str) -> int:
    text = arg.strip().strip("[]")
    if not text.isdigit():
        raise RagError(f"usage: {usage} (N is a reference number, e.g. /paper 2)")
    return int(text)
