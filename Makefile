# Two commands for a fresh machine (see README):
#   make run    set everything up, build the index, answer a question over the bundled papers
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

.PHONY: setup run test lint lock docs bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade "pip>=24"
	$(PIP) install -q -c constraints.txt -e ".[test]"
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/rag ingest
	$(BIN)/rag search "$(QUESTION)"

test: setup
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check .

docs: setup
	$(BIN)/python scripts/gen_docs.py

bench: setup
	$(BIN)/python bench/bench_ingest.py
	$(BIN)/python bench/bench_search.py

lock: setup
	$(PIP) freeze --exclude-editable | grep -v '^torch==' > constraints.txt.new && mv constraints.txt.new constraints.txt

clean:
	rm -rf $(VENV) .rag
