"""`rag serve` as a user runs it: a real `python -m rag.cli serve` process on 127.0.0.1 over a
real index, driven over HTTP (httpx) and, for the page, by a real headless chromium (Selenium).

The extractive backend is used where the test is about the server; the default llama.cpp model
where it is about generations (an answer, a full queue, a client that leaves mid-stream).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import check_references, free_port, make_settings, stop_process

from rag.answer import Answerer
from rag.llm import LlamaCppLLM
from rag.schema import Answer
from rag.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow

QUESTION = "How can a diffusion model be trained on a small budget?"
TOKEN = "test-token-0123456789abcdef"


@contextlib.contextmanager
def rag_serve(
    store: Path, log_path: Path, *sets: str, env: dict[str, str] | None = None, args: tuple[str, ...] = (), timeout: float = 240
) -> Iterator[str]:
    """A real `rag serve` on 127.0.0.1; yields its base URL once /health answers 200."""
    port = free_port()
    argv = [sys.executable, "-m", "rag.cli", "serve", "--port", str(port), "--set", f"store.path={store}", *args]
    for s in sets:
        argv += ["--set", s]
    base_env = {k: v for k, v in os.environ.items() if k != "RAG_SERVE_TOKEN"}
    log = open(log_path, "w")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT,
                            env={**base_env, "ANONYMIZED_TELEMETRY": "False", "HF_HUB_OFFLINE": "1", **(env or {})})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + timeout
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                pytest.fail("rag serve exited: " + log_path.read_text()[-2000:])
            if time.time() > deadline:
                pytest.fail(f"rag serve did not answer /health in {timeout:.0f} s")
            time.sleep(0.3)
        yield url
    finally:
        stop_process(proc)
        log.close()


@pytest.fixture(scope="module")
def server(full_index, tmp_path_factory):
    """The extractive backend, a queue of 2."""
    settings, _ = full_index
    logs = tmp_path_factory.mktemp("serve-extractive")
    with rag_serve(settings.store_dir(), logs / "server.log", "llm.backend=extractive", "serve.queue_size=2") as url:
        yield url


@pytest.fixture(scope="module")
def llama(full_index, tmp_path_factory):
    """The default llama.cpp model; one generation runs, one waits."""
    settings, _ = full_index
    LlamaCppLLM(settings)  # assembled and converted (llm.requantize) here, not in the server's start-up
    logs = tmp_path_factory.mktemp("serve-llama")
    with rag_serve(settings.store_dir(), logs / "server.log", "serve.queue_size=1") as url:
        yield url


def is_error(resp: httpx.Response, status: int, *words: str) -> str:
    """A JSON error with one one-line message holding ``words``; returns the message."""
    assert resp.status_code == status, (resp.status_code, resp.text)
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert set(body) == {"error"}, body
    message = body["error"]
    assert "\n" not in message and "Traceback" not in message
    for w in words:
        assert w in message, message
    return message


def sse_events(lines: Iterator[str]) -> Iterator[tuple[str, dict]]:
    """(event, data) pairs of a text/event-stream, comments skipped."""
    event, data = "message", []
    for line in lines:
        if line == "":
            if data:
                yield event, json.loads("\n".join(data))
            event, data = "message", []
        elif line.startswith(":"):
            continue
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))


# -- the API with the extractive backend --------------------------------------------------------


def test_health_and_openapi(server, full_index):
    settings, report = full_index
    h = httpx.get(f"{server}/health").json()
    assert h["status"] == "ok"
    assert h["index"]["collection"] == settings.collection_name() and h["index"]["papers"] == report.papers == 460
    assert h["model"] == "extractive"
    assert h["settings_hash"] == make_settings(settings.store_dir(), **{"llm.backend": "extractive"}).settings_hash()
    assert h["queue"]["capacity"] == 3 and h["auth"] is False
    spec = httpx.get(f"{server}/openapi.json").json()
    assert {"/ask", "/ask/stream", "/search", "/papers/{paper_id}", "/health"} <= set(spec["paths"])
    assert "Answer" in spec["components"]["schemas"]
    docs = httpx.get(f"{server}/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    is_error(httpx.get(f"{server}/nothing"), 404, "no endpoint GET /nothing")


def test_search_equals_in_process_search(server, retriever):
    q = "cheap diffusion training on a micro budget"
    body = httpx.get(f"{server}/search", params={"q": q, "k": 4}).json()
    hits = retriever.search(q, k=4)
    assert [(r["paper_id"], r["title"], r["sentence"], r["rank"]) for r in body["results"]] == [
        (h.paper_id, h.title, h.sentence, h.rank) for h in hits
    ]
    assert body["collection"] == retriever.store.name and body["mode"] == "hybrid"
    first = body["results"][0]
    abstract = retriever.paper(first["paper_id"]).abstract
    assert abstract[first["sentence_start"] : first["sentence_end"]] == first["sentence"]
    is_error(httpx.get(f"{server}/search", params={"q": q, "k": "many"}), 422, "'k'")
    is_error(httpx.get(f"{server}/search", params={"q": q, "k": 0}), 422, "'k'")
    is_error(httpx.get(f"{server}/search"), 422, "'q'")
    is_error(httpx.get(f"{server}/search", params={"q": "   "}), 400, "the query is empty")


def test_paper_and_unknown_paper(server, retriever):
    pid = retriever.search("soft teacher semi-supervised object detection", k=1)[0].paper_id
    body = httpx.get(f"{server}/papers/{pid}").json()
    paper = retriever.paper(pid)
    assert (body["paper_id"], body["title"], body["abstract"]) == (pid, paper.title, paper.abstract)
    assert body["sources"] == list(paper.sources) and body["sources"]
    is_error(httpx.get(f"{server}/papers/no-such-paper-123"), 404, "no paper with id 'no-such-paper-123'")


def test_ask_returns_the_answer_as_ask_does(server, full_index, retriever):
    settings, _ = full_index
    resp = httpx.post(f"{server}/ask", json={"question": QUESTION}, timeout=120)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert set(body) == set(Answer.model_fields)
    answer = Answer.model_validate(body)
    assert answer.status == "answered" and answer.references
    check_references(answer, retriever)
    local = Answerer(make_settings(settings.store_dir(), **{"llm.backend": "extractive"}), retriever=retriever).ask(QUESTION)
    for a in (answer, local):  # the same answer as in process (scores may differ in the last float bits)
        a.timings, a.answerable = None, None
        a.references = [r.model_copy(update={"support": round(r.support, 3)}) for r in a.references]
        a.retrieved = [p.model_copy(update={"score": 0.0, "dense": None, "bm25": None}) for p in a.retrieved]
        a.sentences, a.draft = [], []
    assert answer == local
    # an allowed override: retrieval.top_k
    wide = Answer.model_validate(httpx.post(f"{server}/ask", json={"question": QUESTION, "top_k": 8}, timeout=120).json())
    assert len(wide.retrieved) == 8 and wide.settings_hash != answer.settings_hash


def test_stream_gives_tokens_then_the_answer(server):
    events = []
    with httpx.stream("POST", f"{server}/ask/stream", json={"question": QUESTION}, timeout=120) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        assert resp.headers["x-accel-buffering"] == "no"
        events = list(sse_events(resp.iter_lines()))
    kinds = [k for k, _ in events]
    assert kinds[-1] == "answer" and kinds.count("answer") == 1
    assert kinds[:-1] and set(kinds[:-1]) == {"token"}
    answer = Answer.model_validate(events[-1][1])
    assert answer.status == "answered" and answer.references
    assert "".join(d["text"] for _, d in events[:-1]).strip() == answer.raw_text


def test_refused_requests(server):
    ask = f"{server}/ask"
    is_error(httpx.post(ask, content=b"question=what", headers={"content-type": "application/json"}), 400, "not JSON")
    is_error(httpx.post(f"{server}/ask/stream", content=b"{oops"), 400, "not JSON")
    is_error(httpx.post(ask, json=["a list"]), 422, "JSON object")
    is_error(httpx.post(ask, json={}), 422, "'question'")
    is_error(httpx.post(ask, json={"question": "x" * 2001}), 400, "the question is 2001 characters; the limit is 2000 (answer.max_question_chars)")
    is_error(httpx.post(ask, json={"question": "   "}), 400, "the question is empty")
    # settings beyond the allow-list: a model path, a store path, an endpoint URL, a nested section
    is_error(httpx.post(ask, json={"question": QUESTION, "llm.model": "/tmp/evil.gguf"}), 422, "unknown field 'llm.model'")
    is_error(httpx.post(ask, json={"question": QUESTION, "llm": {"model": "/tmp/evil.gguf"}}), 422, "unknown field 'llm'")
    is_error(httpx.post(ask, json={"question": QUESTION, "store": {"path": "/tmp"}}), 422, "unknown field 'store'")
    is_error(httpx.post(ask, json={"question": QUESTION, "settings": {"llm": {"base_url": "http://x"}}}), 422, "unknown field 'settings'")
    is_error(httpx.post(ask, json={"question": QUESTION, "preset": "../../etc/passwd"}), 422, "unknown preset '../../etc/passwd'")
    is_error(httpx.post(ask, json={"question": QUESTION, "top_k": "8"}), 422, "'top_k'")
    is_error(httpx.post(ask, json={"question": QUESTION, "top_k": 1000}), 422, "'top_k'")
    is_error(httpx.post(ask, content=b'{"question": "' + b"x" * 70000 + b'"}'), 413, "serve.max_body_bytes")
    # a web page elsewhere cannot use the local server (cross-origin POST, DNS rebinding)
    is_error(httpx.post(ask, json={"question": QUESTION}, headers={"origin": "http://evil.example"}), 403, "cross-origin")
    is_error(httpx.get(f"{server}/search", params={"q": "x"}, headers={"host": "evil.example"}), 421, "unexpected Host")
    # still serving
    assert httpx.get(f"{server}/health").json()["status"] == "ok"


def test_eight_concurrent_clients_get_an_answer_or_503(server):
    results: list[httpx.Response] = []
    lock = threading.Lock()

    def client() -> None:
        r = httpx.post(f"{server}/ask", json={"question": QUESTION}, timeout=120)
        with lock:
            results.append(r)

    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(150)
    assert len(results) == 8
    for r in results:
        if r.status_code == 503:
            assert int(r.headers["retry-after"]) > 0
            is_error(r, 503, "busy")
        else:
            assert r.status_code == 200, r.text
            assert Answer.model_validate(r.json()).status == "answered"
    assert any(r.status_code == 200 for r in results)


def test_token(full_index, tmp_path):
    settings, _ = full_index
    # a non-loopback address without a token: refused before anything loads
    port = free_port()
    proc = subprocess.run([sys.executable, "-m", "rag.cli", "serve", "--host", "0.0.0.0", "--port", str(port), "--set",
                           f"store.path={settings.store_dir()}"], capture_output=True, text=True, timeout=120, cwd=PROJECT_ROOT,
                          env={k: v for k, v in os.environ.items() if k != "RAG_SERVE_TOKEN"})
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()] and "RAG_SERVE_TOKEN" in proc.stderr, proc.stderr
    # with a token, every data endpoint needs it; the page and /health do not; it is never echoed
    log = tmp_path / "server.log"
    with rag_serve(settings.store_dir(), log, "llm.backend=extractive", env={"RAG_SERVE_TOKEN": TOKEN}, args=("-vv",)) as url:
        seen = []
        for r in (
            httpx.get(f"{url}/search", params={"q": "diffusion"}),
            httpx.get(f"{url}/search", params={"q": "diffusion"}, headers={"authorization": "Bearer wrong-token-0123456789"}),
            httpx.post(f"{url}/ask", json={"question": QUESTION}),
            httpx.get(f"{url}/papers/x", headers={"authorization": TOKEN}),
        ):
            is_error(r, 401, "Authorization: Bearer")
            seen.append(r.text)
        good = {"authorization": f"Bearer {TOKEN}"}
        ok = httpx.get(f"{url}/search", params={"q": "diffusion"}, headers=good)
        assert ok.status_code == 200 and ok.json()["results"]
        assert httpx.post(f"{url}/ask", json={"question": QUESTION}, headers=good, timeout=120).status_code == 200
        health = httpx.get(f"{url}/health")
        assert health.status_code == 200 and health.json()["auth"] is True
        assert httpx.get(f"{url}/").status_code == 200
        seen += [ok.text, health.text]
    assert all(TOKEN not in text for text in seen)
    assert TOKEN not in log.read_text()


# -- generations with the real llama.cpp model ---------------------------------------------------


def test_ask_with_the_default_model(llama, retriever):
    resp = httpx.post(f"{llama}/ask", json={"question": QUESTION}, timeout=300)
    assert resp.status_code == 200, resp.text
    answer = Answer.model_validate(resp.json())
    assert answer.model.startswith("llama-cpp:qwen2.5-coder-0.5b")
    assert answer.status == "answered" and answer.references and answer.tokens.completion > 0
    check_references(answer, retriever)
    assert any("Stretching Each Dollar" in r.title for r in answer.references)


def health(url: str) -> dict:
    return httpx.get(f"{url}/health", timeout=10).json()


def wait_for(url: str, cond, timeout: float = 60) -> dict:
    deadline = time.time() + timeout
    while True:
        h = health(url)
        if cond(h["queue"]):
            return h
        assert time.time() < deadline, h
        time.sleep(0.1)


def test_full_queue_503_and_a_client_that_leaves_mid_stream(llama):
    before = health(llama)["queue"]
    waiting: list[httpx.Response] = []
    with httpx.stream("POST", f"{llama}/ask/stream", json={"question": QUESTION}, timeout=300) as stream:
        assert stream.status_code == 200
        events = sse_events(stream.iter_lines())
        assert next(events)[0] == "token"  # the model is generating
        # one question may wait (serve.queue_size = 1) ...
        t = threading.Thread(target=lambda: waiting.append(httpx.post(f"{llama}/ask", json={"question": QUESTION}, timeout=300)))
        t.start()
        wait_for(llama, lambda q: q["running"] == 1 and q["waiting"] == 1)
        # ... the next is refused at once
        t0 = time.perf_counter()
        full = httpx.post(f"{llama}/ask", json={"question": QUESTION}, timeout=30)
        assert time.perf_counter() - t0 < 5
        assert full.headers["retry-after"] == "5"
        is_error(full, 503, "busy", "serve.queue_size")
        is_error(httpx.post(f"{llama}/ask/stream", json={"question": QUESTION}, timeout=30), 503, "busy")
    # the streaming client left mid-answer: its generation is cancelled and the waiting one runs
    wait_for(llama, lambda q: q["cancelled"] == before["cancelled"] + 1)
    t.join(300)
    assert waiting and waiting[0].status_code == 200, waiting
    assert Answer.model_validate(waiting[0].json()).status == "answered"
    after = health(llama)["queue"]
    assert (after["running"], after["waiting"]) == (0, 0)
    assert after["served"] == before["served"] + 1 and after["refused"] == before["refused"] + 2


def test_eight_concurrent_clients_with_the_model(llama):
    results: list[httpx.Response] = []
    barrier = threading.Barrier(8)

    def client() -> None:
        barrier.wait()
        results.append(httpx.post(f"{llama}/ask", json={"question": QUESTION}, timeout=300))

    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(400)
    codes = sorted(r.status_code for r in results)
    assert len(codes) == 8 and set(codes) <= {200, 503}, codes
    assert codes.count(200) >= 1 and codes.count(503) >= 4, codes  # one runs, one waits, the rest are refused
    for r in results:
        if r.status_code == 200:
            assert Answer.model_validate(r.json()).status == "answered"
        else:
            assert r.headers["retry-after"] == "5"
    q = health(llama)["queue"]
    assert (q["running"], q["waiting"]) == (0, 0)


# -- the page in a real browser ----------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not Path("/usr/bin/chromedriver").exists():
        pytest.skip("chromium-driver is not installed: `make test` installs it (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_AVOID_STATS", "true")
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}", "--window-size=1280,900"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def test_page_answers_and_shows_the_evidence(server, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    expected = Answer.model_validate(httpx.post(f"{server}/ask", json={"question": QUESTION}, timeout=120).json())
    ref = expected.references[0]
    paper = httpx.get(f"{server}/papers/{ref.paper_id}").json()
    wait = WebDriverWait(browser, 90)
    text = lambda css: browser.find_element(By.CSS_SELECTOR, css).text  # noqa: E731

    browser.set_window_size(1280, 1000)
    browser.get(f"{server}/")
    wait.until(lambda d: "papers" in text("#index-info"))
    assert "460 papers" in text("#index-info")
    box = browser.find_element(By.ID, "question")
    box.send_keys(QUESTION)
    browser.find_element(By.ID, "submit").click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#answer a.cite"))
    assert text("#answer-heading") == "Answer"
    content = lambda css: browser.execute_script("return document.querySelector(arguments[0]).textContent", css)  # noqa: E731
    assert content("#answer") == expected.text
    cites = browser.find_elements(By.CSS_SELECTOR, "#answer a.cite")
    assert cites[0].text == "[1]"
    cites[0].click()
    wait.until(lambda d: text("#evidence-meta").startswith("paper "))  # the abstract is loaded
    marks = browser.find_elements(By.CSS_SELECTOR, "#evidence-abstract mark")
    assert [m.text for m in marks] == [q.text for q in ref.quotes]  # every quoted sentence, in abstract order
    assert ref.sentence in [m.text for m in marks]
    assert text("#evidence-title") == ref.title
    assert content("#evidence-abstract") == paper["abstract"]  # the whole abstract, the sentences inside it
    before = browser.execute_script(
        "const m = document.querySelector('#evidence-abstract mark'); return m.previousSibling ? m.previousSibling.textContent : ''"
    )
    assert before == paper["abstract"][: ref.quotes[0].start]
    shown = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#reference-1 .item-sentence")]
    assert shown == [f"“{q.text}”" for q in ref.quotes]
    assert "active" in cites[0].get_attribute("class")
    uncited = [p for p in expected.retrieved if p.cited_as is None]
    assert [li.find_element(By.CSS_SELECTOR, ".item-title").text for li in browser.find_elements(By.CSS_SELECTOR, "#papers li")] == [
        p.title for p in uncited
    ]
    assert text("#papers-heading") == "Also retrieved, not cited"
    # the README's screenshot: written by `make samples` (RAG_UPDATE_DOCS=1), else to a temp file
    shot = PROJECT_ROOT / "docs" / "serve.png" if os.environ.get("RAG_UPDATE_DOCS") == "1" else tmp_path / "serve.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000

    # a phone: no sideways scrolling, the evidence opens as a sheet
    browser.set_window_size(390, 844)
    assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)  # close the sheet, then open it from the list
    assert not browser.find_element(By.ID, "evidence").is_displayed()
    browser.find_elements(By.CSS_SELECTOR, "#references li")[0].click()
    assert browser.find_element(By.ID, "evidence").is_displayed()
    assert browser.find_element(By.ID, "evidence").value_of_css_property("position") == "fixed"
    browser.set_window_size(1280, 1000)

    # search-only mode
    first = httpx.get(f"{server}/search", params={"q": "soft teacher object detection", "k": 10}).json()["results"][0]
    browser.find_element(By.CSS_SELECTOR, 'input[name="mode"][value="search"]').click()
    box.clear()
    box.send_keys("soft teacher object detection")
    browser.find_element(By.ID, "submit").click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#papers li") and "ms" in text("#status"))
    assert browser.find_elements(By.CSS_SELECTOR, "#papers li .item-title")[0].text == first["title"]
    assert browser.find_element(By.ID, "answer-section").is_displayed() is False


def test_page_shows_an_abstention(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    question = "What is the best recipe for sourdough bread?"
    expected = Answer.model_validate(httpx.post(f"{server}/ask", json={"question": question}, timeout=120).json())
    assert expected.abstained
    browser.get(f"{server}/")
    wait = WebDriverWait(browser, 90)
    wait.until(lambda d: "papers" in d.find_element(By.ID, "index-info").text)
    browser.find_element(By.ID, "question").send_keys(question)
    browser.find_element(By.ID, "submit").click()
    wait.until(lambda d: d.find_element(By.ID, "answer-section").is_displayed())
    assert browser.find_element(By.ID, "answer-heading").text == "No answer in the collection"
    assert browser.find_element(By.ID, "answer-note").text.startswith("Abstained:")
    assert browser.find_element(By.ID, "papers-heading").text == "Closest papers"
    assert not browser.find_elements(By.CSS_SELECTOR, "#answer a.cite")
