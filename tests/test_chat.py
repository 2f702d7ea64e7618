"""The real `rag chat` driven through a pseudo-terminal: real index, real local model."""

from __future__ import annotations

import os
import re
import signal
import sys
import time
from pathlib import Path

import pytest
from conftest import free_port

pexpect = pytest.importorskip("pexpect")

RAG = str(Path(sys.executable).with_name("rag"))
PROMPT = "rag> "
SEARCH_RESULT = r" 1\. .+\r\n(?:\x1b\[[0-9;]*m)* +“"  # rank, title, then the matching sentence (styles may sit between)


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def spawn(store: Path, home: Path, *extra: str, sigint_ignored: bool = False):
    # a fresh HOME for history files; the ONNX export cache stays the real one (no re-export per test)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    env = {**os.environ, "HOME": str(home), "XDG_STATE_HOME": str(home / "state"), "XDG_CACHE_HOME": cache, "TERM": "xterm", "NO_COLOR": "1"}
    env.pop("OPENAI_API_KEY", None)
    child = pexpect.spawn(
        RAG, ["chat", "--set", f"store.path={store}", *extra], env=env, encoding="utf-8", timeout=180, dimensions=(50, 220),
        preexec_fn=_ignore_sigint if sigint_ignored else None,
    )
    child.logfile_read = open(home / "screen.log", "a")  # noqa: SIM115 - closed with the child
    return child


@pytest.mark.slow
def test_chat_session(full_index, tmp_path):
    settings, report = full_index
    store = Path(settings.store.path)
    # started with SIGINT ignored, as the full suite's clean-clone run left it: Ctrl-C must still work
    child = spawn(store, tmp_path, sigint_ignored=True)
    child.expect(rf"460 papers, {report.chunks_total} chunks in papers-")  # what the ingest wrote
    child.expect("qwen2.5-coder-0.5b")
    child.expect_exact(PROMPT)

    child.sendline("/help")
    for command in ("/sources", "/paper N", "/search QUERY", "/reset", "/settings", "/save FILE", "/quit"):
        child.expect_exact(command)
    child.expect_exact(PROMPT)

    # a first question: an answer, then its references
    child.sendline("How can a text-to-image diffusion model be trained on a small budget?")
    child.expect_exact("References")
    child.expect(r"\[1\] (.+?)\r\n")
    first_title = child.match.group(1).strip()
    child.expect_exact(PROMPT)

    child.sendline("/sources")
    child.expect(r"\[1\] " + re.escape(first_title))
    child.expect(r"abstract characters \d+-\d+, support \d\.\d\d")
    child.expect_exact(PROMPT)

    # a follow-up: resolved to the paper cited as [1], which keeps its number
    child.sendline("What does the first one compare against?")
    child.expect_exact(f'↳ What does "{first_title}" compare against?')
    child.expect(r"References|The collection does not answer")
    child.expect_exact(PROMPT)

    child.sendline("/paper 1")
    child.expect(r"\[1\] " + re.escape(first_title))
    child.expect(r"· id [a-z0-9-]+")
    child.expect_exact(PROMPT)

    child.sendline("/search one-step image generation")
    child.expect(SEARCH_RESULT)
    child.expect_exact(PROMPT)

    # errors: one line each, and the session goes on
    child.sendline("/bogus")
    child.expect_exact("error: unknown command /bogus; /help lists the commands")
    child.sendline("/paper 99")
    child.expect(r"error: no reference \[99\] in this session \(cited so far: \[1\]")
    child.sendline("   ")
    child.expect_exact("type a question, or /help")
    child.sendline("/settings")
    child.expect(r"settings hash +[0-9a-f]{12}")
    child.expect_exact(PROMPT)

    # Ctrl-C stops a generation and keeps the session (a question the collection answers: one it
    # may not answer gets a hedged quote without the LLM, and there is nothing to stop)
    child.sendline("Describe in detail how FlashAttention-2 improves over FlashAttention, one paragraph for each change.")
    time.sleep(2)
    child.sendintr()
    child.expect_exact("(stopped)")
    child.expect_exact(PROMPT)
    # the session reads input again after a stopped generation (an empty line gets the hint)
    child.sendline("")
    child.expect_exact("type a question, or /help", timeout=60)
    child.expect_exact(PROMPT)
    # ... and at the prompt Ctrl-C only cancels the line. (The prompt text can be written before the
    # line editor reads keys; on a loaded machine a Ctrl-C sent at once was lost, so retry.)
    time.sleep(0.5)
    for attempt in range(5):
        child.sendintr()
        try:
            child.expect_exact("Ctrl-D or /quit to leave", timeout=20)
            break
        except pexpect.TIMEOUT:
            if attempt == 4:
                raise

    out = tmp_path / "transcript.md"
    child.sendline(f"/save {out}")
    child.expect_exact("Saved 2 answer(s)")
    child.sendline("/reset")
    child.expect_exact("citation numbers start again at [1]")
    child.expect_exact(PROMPT)
    child.sendeof()
    child.expect_exact("Bye.")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    md = out.read_text()
    assert md.count("## ") == 2 and "*Understood as:* What does" in md
    # stable numbers: within the transcript every title has one number and every number one title
    pairs = set(re.findall(r"^\[(\d+)\] (.+?)  $", md, flags=re.M))
    assert (("1", first_title)) in pairs
    assert len({n for n, _ in pairs}) == len(pairs) == len({t for _, t in pairs})


@pytest.mark.slow
def test_chat_history_and_endpoint_down(full_index, tmp_path):
    settings, _ = full_index
    store = Path(settings.store.path)
    child = spawn(store, tmp_path)
    child.expect_exact(PROMPT)
    child.sendline("/search sparse attention")
    child.expect_exact(PROMPT)
    child.sendline("/quit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert (tmp_path / "state" / "rag-papers" / "chat_history").read_text().splitlines()[-2:] == ["/search sparse attention", "/quit"]

    # a new session: the up arrow recalls the last session's lines; a dead endpoint is reported
    child = spawn(store, tmp_path, "--set", "llm.backend=openai", "--set", f"llm.base_url=http://127.0.0.1:{free_port()}/v1",
                  "--set", "llm.retries=0", "--set", "llm.timeout_s=5")
    child.expect_exact(PROMPT)
    child.send("\x1b[A\x1b[A")  # up twice: "/search sparse attention"
    child.sendline("")
    child.expect(SEARCH_RESULT)
    child.expect_exact(PROMPT)
    child.sendline("Which paper uses sparse attention for long documents?")
    child.expect_exact("No answer was generated:")
    child.expect_exact("The most relevant papers:")
    child.expect(r" 1\. ")
    child.expect_exact(PROMPT)
    child.sendline("/quit")
    child.expect_exact("Bye.")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


@pytest.mark.slow
def test_endpoint_credentials_are_never_shown(full_index, tmp_path):
    """A key in llm.base_url (user:password@, ?key=) is not printed by the chat's banner,
    /settings, or `rag info` (text and JSON)."""
    import subprocess

    settings, _ = full_index
    store = Path(settings.store.path)
    url = f"http://alice:sk-SECRET1@127.0.0.1:{free_port()}/v1?api_key=sk-SECRET2#sk-SECRET3"
    child = spawn(store, tmp_path, "--set", "llm.backend=openai", "--set", f"llm.base_url={url}")
    child.expect_exact(PROMPT)
    child.sendline("/settings")
    child.expect_exact(PROMPT)
    child.sendline("/settings all")
    child.expect_exact(PROMPT)
    child.sendline("/quit")
    child.expect(pexpect.EOF)
    child.close()
    screen = (tmp_path / "screen.log").read_text()
    assert "127.0.0.1" in screen and "base_url" in screen  # the endpoint is shown, without its secrets
    assert "SECRET" not in screen and "alice" not in screen

    for extra in ([], ["--json"]):
        out = subprocess.run([RAG, "--set", f"store.path={store}", "--set", "llm.backend=openai", "--set", f"llm.base_url={url}",
                              "info", "--settings", *extra], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert "127.0.0.1" in out.stdout and "SECRET" not in out.stdout + out.stderr and "alice" not in out.stdout
