"""`rag serve` against the same work in process: what HTTP adds, and whether memory stays flat.

One real `rag serve` process on 127.0.0.1 (the extractive backend unless --model) over the
project's index (`rag ingest` first), and, in this process, a warm Retriever and Answerer over
the same index. Measured, interleaved so a busy machine slows both sides alike:

- warm search: GET /search (one keep-alive client) vs Retriever.search, same 50 dev questions;
  and the HTTP share of each request (client wall time minus the server's own ``seconds``);
- answer: POST /ask vs Answerer.ask with the extractive backend, 30 dev questions; and the
  HTTP share of each request (client wall time minus the server's own ``timings.total_s``);
- memory: the server's RSS (/proc/PID/status) after each of 100 sequential questions
  (--model: with the default llama.cpp model instead of the extractive backend).

Figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
from common import ROOT, dev_questions, percentile, summary

from rag.answer import Answerer
from rag.retrieve import Retriever
from rag.settings import load_settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def start_server(sets: list[str]) -> tuple[subprocess.Popen, str]:
    port = free_port()
    argv = [sys.executable, "-m", "rag.cli", "serve", "--port", str(port)]
    for s in sets:
        argv += ["--set", s]
    env = {k: v for k, v in os.environ.items() if k != "RAG_SERVE_TOKEN"}
    proc = subprocess.Popen(argv, cwd=ROOT, env={**env, "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 300
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            sys.exit("rag serve exited: " + (proc.stderr.read() if proc.stderr else ""))
        if time.time() > deadline:
            proc.kill()
            sys.exit("rag serve did not start in 300 s")
        time.sleep(0.3)


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()


def ms(x: float) -> str:
    return f"{x * 1000:.1f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="store_true", help="the memory run with the default llama.cpp model (slow: ~100 generations)")
    ap.add_argument("--questions", type=int, default=100, help="sequential questions of the memory run")
    args = ap.parse_args()

    extractive = ["llm.backend=extractive"]
    settings = load_settings(overrides={"llm.backend": "extractive"})
    questions = dev_questions(150)

    proc, url = start_server(extractive)
    try:
        retriever = Retriever(settings)
        retriever.warm()
        answerer = Answerer(settings, retriever=retriever)
        with httpx.Client(base_url=url, timeout=120) as client:
            # -- warm search -------------------------------------------------------------
            queries = questions[:50]
            for q in queries[:5]:  # warm-up, both sides
                client.get("/search", params={"q": q}).raise_for_status()
                retriever.search(q)
            http_s, local_s, inside = [], [], []
            for q in queries:
                t = time.perf_counter()
                r = client.get("/search", params={"q": q})
                http_s.append(time.perf_counter() - t)
                r.raise_for_status()
                inside.append(http_s[-1] - r.json()["seconds"])
                t = time.perf_counter()
                retriever.search(q)
                local_s.append(time.perf_counter() - t)
            h50, l50 = percentile(http_s, 50), percentile(local_s, 50)
            print(f"warm search, {len(queries)} queries: GET /search {summary(http_s)}")
            print(f"                              in process  {summary(local_s)}")
            print(f"  /search p50 - in-process p50 = {ms(h50 - l50)} ({h50 / l50:.2f} x); per request, wall - the server's own "
                  f"search time (HTTP, JSON, thread hop): {summary(inside)}")

            # -- /ask vs ask() -------------------------------------------------------------
            asks = questions[50:80]
            for q in asks[:3]:
                client.post("/ask", json={"question": q}).raise_for_status()
                answerer.ask(q)
            http_a, local_a, wire = [], [], []
            for q in asks:
                t = time.perf_counter()
                r = client.post("/ask", json={"question": q})
                wall = time.perf_counter() - t
                r.raise_for_status()
                http_a.append(wall)
                wire.append(wall - r.json()["timings"]["total_s"])
                t = time.perf_counter()
                answerer.ask(q)
                local_a.append(time.perf_counter() - t)
            a50, b50 = percentile(http_a, 50), percentile(local_a, 50)
            print(f"answer (extractive), {len(asks)} questions: POST /ask {summary(http_a)}")
            print(f"                                  ask() in process {summary(local_a)}")
            print(f"  /ask p50 - ask() p50 = {ms(a50 - b50)}; per request, wall - the server's timings.total_s: {summary(wire)}")
    finally:
        stop(proc)

    # -- memory over sequential questions ------------------------------------------------------
    sets = [] if args.model else extractive
    proc, url = start_server(sets)
    try:
        label = "llama.cpp default model" if args.model else "extractive"
        rss = [rss_mb(proc.pid)]  # after start-up (index, embedder, model and one warm-up question)
        seconds = []
        with httpx.Client(base_url=url, timeout=300) as client:
            for i in range(args.questions):
                t = time.perf_counter()
                client.post("/ask", json={"question": questions[i % len(questions)]}).raise_for_status()
                seconds.append(time.perf_counter() - t)
                rss.append(rss_mb(proc.pid))
        marks = sorted({1, 10, 25, 50, 75, len(rss) - 1} & set(range(1, len(rss))))
        print(f"memory ({label}), {args.questions} sequential questions: server RSS after start-up {rss[0]:.0f} MB; "
              + ", ".join(f"after {i}: {rss[i]:.0f} MB" for i in marks)
              + f" (last - first: {rss[-1] - rss[1]:+.0f} MB, max {max(rss):.0f} MB); answer p50 {statistics.median(seconds):.2f} s")
    finally:
        stop(proc)


if __name__ == "__main__":
    main()
