# kvbound: two commands do all set-up on a fresh machine with Python >= 3.10.
#   make demo  -- venv, install (no test extras), print the headline fact, run the default
#                 verification (report in out/) and the compressor sweep (out/attack-NNN/)
#   make test  -- venv, install with test extras, ruff + mypy + the whole pytest suite;
#                 prints its wall time at the end (the sandbox tests need bubblewrap; the
#                 run ends saying whether they ran)
#   make coq   -- compile the Coq proofs in proofs/coq/, audit their assumptions and check
#                 that two wrong proofs are refused (proofs/coq_mutations.py)
#                 (needs coqc: apt-get install coq libcoq-coquelicot libcoq-interval)
#   make test-site -- the interactive page (kvbound site) in headless chromium; make test
#                 runs it when chromium is installed and says so when it is not
#   make notebook -- the course notebook as out/notebook.ipynb, executed, figures included
#   make test-kvpress -- a second venv (.venv-kvpress) with torch and the extra kvbound[kvpress],
#                 then the tests of NVIDIA kvpress's presses run unported (caches/kvpress)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
BASE   := $(VENV)/.installed-base
COURSE := $(VENV)/.installed-course

# The kvpress extra lives in its own venv: torch is large and the main suite must stay light.
# torch is pinned first, to 2.13.0 (a CPU build that lies on this kind of machine's disk); an
# unpinned torch would pull PyPI's default Linux wheel with the CUDA libraries.
KVP_VENV  := .venv-kvpress
KVP_BIN   := $(KVP_VENV)/bin
KVP_STAMP := $(KVP_VENV)/.installed
KVP_TORCH ?= torch==2.13.0

.PHONY: demo test lint typecheck pytest test-quick test-site site-if-chromium test-kvpress \
	docs bench coq notebook clean

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
	@$(BIN)/kvbound constants --headline
	@echo
	$(BIN)/kvbound verify --seeds 3 --out out/verify.json --report out/report.md \
		--figure out/verify.png
	@echo
	$(BIN)/kvbound attack --seeds 2 --out out/
	@echo
	@echo "Next: open out/report.md; kvbound site --out out/site writes the interactive page."

lint: $(STAMP)
	$(BIN)/ruff check lowerbound reduction caches variants proofs kvbound tests bench examples docs/course

typecheck: $(STAMP)
	$(BIN)/mypy

# -rs lists every skipped test with its reason; the last line says whether the sandbox
# tests ran (they need bubblewrap: apt-get install bubblewrap).
pytest: $(STAMP)
	$(BIN)/python -m pytest -q -rs -m "not browser"

# The whole check, timed: its wall time is printed at the end, pass or fail (budget: under
# 10 minutes on a loaded 2-core machine, under 4 on a quiet one).
test: $(STAMP)
	@start=$$(date +%s); \
	$(MAKE) --no-print-directory lint typecheck pytest site-if-chromium; status=$$?; \
	echo "make test: $$(( $$(date +%s) - start )) s"; exit $$status

test-quick: $(STAMP)
	$(BIN)/python -m pytest -q -rs -m "not slow and not browser"

# The page's browser test is optional: it needs Debian's chromium (apt-get install chromium).
test-site: $(STAMP)
	KVBOUND_REQUIRE_BROWSER=1 $(BIN)/python -m pytest -q -m browser tests/kvbound/site

site-if-chromium:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; \
	then $(MAKE) --no-print-directory test-site; \
	else echo "make test: SKIPPED the interactive page's browser test: chromium is not" \
		"installed (apt-get install chromium, then make test-site)"; fi
	@command -v node >/dev/null 2>&1 || echo "make test: SKIPPED the page's JavaScript" \
		"cross-check: node is not installed (apt-get install nodejs)"

$(KVP_STAMP): pyproject.toml
	$(PYTHON) -m venv $(KVP_VENV)
	$(KVP_BIN)/python -m pip install --quiet --upgrade pip
	$(KVP_BIN)/python -m pip install --quiet '$(KVP_TORCH)'
	$(KVP_BIN)/python -m pip install --quiet -e '.[test,kvpress]'
	touch $(KVP_STAMP)

test-kvpress: $(KVP_STAMP)
	$(KVP_BIN)/python -m pytest -q -rs tests/caches/kvpress caches/kvpress

docs: $(STAMP)
	$(BIN)/kvbound proofs --write-blueprint docs/blueprint.md
	$(BIN)/python -m kvbound.reports.docgen
	$(BIN)/kvbound walkthrough --write docs/walkthrough.md
	$(BIN)/python -m kvbound.reports.reference

notebook: $(COURSE)
	$(BIN)/python -m kvbound.course.run_notebook --source docs/course/notebook.py --out out

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

# Standard library only: runs with the system python3, no venv needed.
coq:
	$(PYTHON) -m proofs.coq_check
	$(PYTHON) -m proofs.coq_mutations

clean:
	rm -rf $(VENV) $(KVP_VENV) out .pytest_cache .mypy_cache .ruff_cache
	cd proofs/coq && rm -f *.vo *.vok *.vos *.glob .*.aux .*.cache
