# kvbound: two commands do all set-up on a fresh machine with Python >= 3.10.
#   make demo  -- venv, install (no test extras), run the default verification, write the
#                 report to out/ (plus the compressor sweep: out/attack.md, .png, .svg)
#   make test  -- venv, install with test extras, ruff + mypy + the whole pytest suite
#                 (the sandbox tests need bubblewrap; the run ends saying whether they ran)
#   make coq   -- compile the Coq proofs in proofs/coq/ and audit their assumptions
#                 (needs coqc: apt-get install coq libcoq-coquelicot libcoq-interval)
#   make notebook -- the course notebook docs/course/notebook.py as out/notebook.ipynb
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
BASE   := $(VENV)/.installed-base
COURSE := $(VENV)/.installed-course

.PHONY: demo test lint typecheck pytest test-quick docs bench coq notebook clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP) $(BASE)

# The demo needs kvbound alone: no test tools (an install for tests satisfies it too).
$(BASE): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $(BASE)

$(COURSE): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[course]'
	touch $(COURSE)

demo: $(BASE)
	mkdir -p out
	$(BIN)/kvbound verify --seeds 3 --out out/verify.json --report out/report.md \
		--figure out/verify.png
	$(BIN)/kvbound attack --seeds 2 --out out/ --quiet > /dev/null
	@echo "report written to out/report.md (record out/verify.json, figure out/verify.png);"
	@echo "real compressors against the bound: out/attack.md, out/attack.png, out/attack.svg"

lint: $(STAMP)
	$(BIN)/ruff check lowerbound reduction caches variants proofs kvbound tests bench examples docs/course

typecheck: $(STAMP)
	$(BIN)/mypy

# -rs lists every skipped test with its reason; the last line says whether the sandbox
# tests ran (they need bubblewrap: apt-get install bubblewrap).
pytest: $(STAMP)
	$(BIN)/python -m pytest -q -rs

test: lint typecheck pytest

test-quick: $(STAMP)
	$(BIN)/python -m pytest -q -rs -m "not slow"

docs: $(STAMP)
	$(BIN)/kvbound proofs --write-blueprint docs/blueprint.md
	$(BIN)/python -m kvbound.reports.docgen
	$(BIN)/kvbound walkthrough --write docs/walkthrough.md
	$(BIN)/python -m kvbound.reports.reference

notebook: $(COURSE)
	mkdir -p out
	$(BIN)/jupytext --to ipynb --output out/notebook.ipynb docs/course/notebook.py
	@echo "notebook written to out/notebook.ipynb (open it with Jupyter)"

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

# Standard library only: runs with the system python3, no venv needed.
coq:
	$(PYTHON) -m proofs.coq_check

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
	cd proofs/coq && rm -f *.vo *.vok *.vos *.glob .*.aux .*.cache
