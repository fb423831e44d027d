# One word per job. Each target creates .venv from requirements*.txt if missing.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
DEVSTAMP:= $(VENV)/.installed-dev
PORT    ?= 8501
TEST_WORKERS ?= 2  # pytest-xdist processes; a test file stays on one (--dist loadfile)

.PHONY: run test test-fast lint format bench clean

$(STAMP): requirements.txt
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(DEVSTAMP): $(STAMP) requirements-dev.txt
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

run: $(STAMP)  ## set up and launch the dashboard on http://localhost:$(PORT)
	$(BIN)/streamlit run app.py --server.port $(PORT)

test: $(DEVSTAMP)  ## set up and run every test (lint included)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --durations=30

test-fast: $(DEVSTAMP)  ## the inner loop: lint and every test but browser, Ray and slow ones
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile -m "not browser and not ray and not slow"

lint: $(DEVSTAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(DEVSTAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(DEVSTAMP)  ## side-by-side benchmarks, ratios printed and written to benchmarks/results/
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
