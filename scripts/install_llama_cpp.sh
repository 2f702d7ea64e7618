#!/usr/bin/env bash
# Install llama-cpp-python (source-only on the registry) into the given Python's environment.
#
# It is compiled once per machine with portable x86-64 flags (AVX2, no AVX-512/AMX: the
# natively tuned build crashes in its AMX kernels on these machines) and the wheel is kept
# outside the repository, in ~/.cache/rag-papers/wheels (RAG_WHEEL_CACHE overrides), keyed
# on the version and the flags. The first build takes about 10 minutes on 2 cores.
set -euo pipefail
PY=${1:-.venv/bin/python}
VERSION=0.3.36
FLAGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON \
-DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF \
-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF"
KEY=$(printf '%s %s' "$VERSION" "$FLAGS" | sha256sum | cut -c1-12)
CACHE="${RAG_WHEEL_CACHE:-$HOME/.cache/rag-papers/wheels}/llama-cpp-python-$VERSION-$KEY"

if ! ls "$CACHE"/llama_cpp_python-*.whl >/dev/null 2>&1; then
  echo "building llama-cpp-python $VERSION with portable flags (about 10 minutes, once per machine)..."
  rm -rf "$CACHE.tmp" && mkdir -p "$CACHE.tmp"
  CMAKE_ARGS="$FLAGS" "$PY" -m pip wheel -q --no-deps --no-cache-dir "llama-cpp-python==$VERSION" -w "$CACHE.tmp"
  rm -rf "$CACHE" && mv "$CACHE.tmp" "$CACHE"
fi
WHEEL=$(ls "$CACHE"/llama_cpp_python-*.whl | head -n 1)
"$PY" -m pip install -q --disable-pip-version-check -c constraints.txt "$WHEEL[server]"
