"""A bundled GGUF model converted once to a weight type this CPU processes prompts faster.

The bundled Qwen models ship as Q4_K_M. llama.cpp repacks weights at load time into the layout
of its x86 matrix kernels (AVX2 / AVX-512), for some types only: of the shipped 0.5B model,
whose file mixes types, 28 MiB are repacked; of the same model as Q4_0, 192 MiB (llama.cpp's
load log). So the Q4_0 model reads a prompt faster: on this
project's 2-core machines, 530 prompt tokens at 146 tokens/s as Q4_K_M and 195 as Q4_0; raw
llama.cpp calls on 10 dev prompts, first token p50 2.78 vs 3.74 s, total 4.11 vs 5.03 s
(2026-12-05, ``bench/bench_answer.py``). The answer-quality effect (none beyond run-to-run
variation on users3 and paraphrase_test) is in eval/reports/README.md.

Invariants:

* The conversion reads the assembled, SHA-256-pinned model (rag/models.py) and writes
  ``<name>.<type>.gguf`` beside it: written under a temporary name in a child process and
  renamed when whole, so an interrupted conversion never leaves a half file that is used, and
  llama.cpp's own console output stays out of the user's terminal.
* The output depends only on the pinned input and the type, so an existing file is reused.
* A conversion that fails raises :class:`RagError` naming the input file and llama.cpp's
  message; the caller decides whether to fall back to the original.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import uuid
from pathlib import Path

from .errors import RagError

log = logging.getLogger(__name__)

TYPES = {"q4_0": "LLAMA_FTYPE_MOSTLY_Q4_0"}  # the types a bundled model can be converted to


def converted_path(source: Path, kind: str) -> Path:
    """Where ``source`` converted to ``kind`` lives: beside it, named after both."""
    return source.with_name(f"{source.stem}.{kind}.gguf")


def requantized(source: Path, kind: str) -> Path:
    """``source`` converted to ``kind`` (one of :data:`TYPES`), converting it now if needed."""
    if kind not in TYPES:
        raise RagError(f"llm.requantize: unknown type '{kind}' (known: none, {', '.join(TYPES)})")
    target = converted_path(source, kind)
    if target.is_file():
        return target
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
    log.info("converting %s to %s (once)", source.name, kind.upper())
    try:
        done = subprocess.run(
            [sys.executable, "-m", "rag.requantize", str(source), str(tmp), kind],
            capture_output=True, text=True, timeout=1800,
        )
        if done.returncode != 0 or not tmp.is_file():
            lines = [line.strip() for line in (done.stderr + done.stdout).splitlines() if line.strip()]
            why = next((line for line in lines if "failed" in line or "invalid" in line), lines[-1] if lines else f"exit code {done.returncode}")
            raise RagError(f"{source}: llama.cpp could not convert it to {kind.upper()} ({why})")
        os.replace(tmp, target)
    except OSError as exc:  # the folder is read-only, full, or the name is taken by a folder
        raise RagError(f"{target}: cannot write the converted model ({exc.strerror or exc})") from None
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _convert(source: str, target: str, kind: str) -> int:
    """Run llama.cpp's quantizer in this process (the child of :func:`requantized`)."""
    import ctypes

    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, TYPES[kind])
    params.allow_requantize = True  # the input is already quantized (Q4_K_M)
    params.nthread = os.cpu_count() or 1
    return int(llama_cpp.llama_model_quantize(source.encode(), target.encode(), ctypes.byref(params)))


if __name__ == "__main__":  # python -m rag.requantize SOURCE TARGET TYPE
    if len(sys.argv) != 4 or sys.argv[3] not in TYPES:
        sys.exit(f"usage: python -m rag.requantize SOURCE.gguf TARGET.gguf {{{','.join(TYPES)}}}")
    if not Path(sys.argv[1]).is_file():
        sys.exit(f"{sys.argv[1]}: no such file")
    code = _convert(*sys.argv[1:])
    if code != 0:
        sys.exit(f"llama_model_quantize returned {code}")
