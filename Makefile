# The few targets a newcomer needs. The README's quick start is `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
# A local folder of prebuilt wheels (the CPU torch wheel on the development machines), used when present.
WHEELS := $(if $(wildcard /opt/wheels/*.whl),--find-links /opt/wheels)

# The fast tier: tests with none of the markers of tests/tiers.py (no model, no server, no process, no PostgreSQL).
FAST   := not (model or server or subprocess or postgres)
# `make test` runs the suite in one worker per core (pytest-xdist); JOBS=0 runs it in one process. loadgroup: a
# module whose tests share an expensive module fixture keeps them on one worker (`@pytest.mark.xdist_group`).
JOBS   ?= auto

.PHONY: run chat test test-fast lint ingest eval lowo fit bench image image-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# torch is pinned to 2.13.0 in pyproject.toml so pip takes the CPU wheel (see docs/development.md).
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet $(WHEELS) -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet $(WHEELS) -e ".[test]"
	touch $@ $(VENV)/.installed

## run: install and start the mentor in the terminal (embedded Chroma, no Slack, no LLM key)
run chat: $(VENV)/.installed
	$(BIN)/mlpath chat

## test: install test tools, then lint, type-check, check the imports and the declared dependencies, and run
## the whole suite in parallel workers — on PostgreSQL too when .ci/postgres-url finds one
## (MLPATH_TEST_POSTGRES_URL, or a server on 127.0.0.1:5432); CI runs this target
test: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/deptry .
	@url="$$(.ci/postgres-url)"; echo "PostgreSQL for tests: $${url:-none (SQLite only)}"; \
	MLPATH_TEST_POSTGRES_URL="$$url" $(BIN)/pytest -q -n $(JOBS) --dist loadgroup $(PYTEST_ARGS)

## test-fast: the unit tests only, for the edit-test loop (under a minute; no lint, no model, no servers)
test-fast: $(VENV)/.test-installed
	$(BIN)/pytest -q -m "$(FAST)" $(PYTEST_ARGS)

lint: $(VENV)/.test-installed
	$(BIN)/ruff check . && $(BIN)/mypy && $(BIN)/lint-imports && $(BIN)/deptry .

ingest: $(VENV)/.installed
	$(BIN)/mlpath ingest

## eval: retrieval on the content-worded set; lowo: leave one writer out over the member sets (docs/retrieval.md)
eval: $(VENV)/.installed
	$(BIN)/mlpath eval knowledge/evalsets/content.jsonl

lowo: $(VENV)/.installed
	$(BIN)/mlpath eval --lowo

## fit: fit the answer path's parameters on the member sets and rewrite knowledge/answer_model.json
fit: $(VENV)/.installed
	$(BIN)/mlpath fit

$(VENV)/.bench-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet $(WHEELS) -e ".[bench]"
	touch $@ $(VENV)/.installed

## bench: install the benchmark extra, then print the performance tables (BENCH_ARGS=--quick for a smoke run;
## MLPATH_BENCH_POSTGRES_URL=postgresql+psycopg://… also measures the scheduler on PostgreSQL)
bench: $(VENV)/.bench-installed
	$(BIN)/python -m bench $(if $(MLPATH_BENCH_POSTGRES_URL),--postgres-url $(MLPATH_BENCH_POSTGRES_URL)) $(BENCH_ARGS)

## image: build the container image IMAGE (default mlpath:latest) with docker or podman, whichever works
## (scripts/image-build); where no registry answers, `scripts/offline-base` first makes its base (docs/deploying.md)
IMAGE ?= mlpath:latest
image:
	scripts/image-build $(IMAGE)

## image-test: build the image, then smoke-test it from outside (tests/image: --version, ingest into a volume, a
## search equal to one outside the image, serve --http with the fake Slack, scheduler --once, a migration on
## PostgreSQL when .ci/postgres-url finds one, no torch, ≤ 800 MB)
image-test: $(VENV)/.test-installed image
	@url="$$(.ci/postgres-url)"; echo "PostgreSQL for the image test: $${url:-none}"; \
	MLPATH_TEST_IMAGE=$(IMAGE) MLPATH_TEST_POSTGRES_URL="$$url" $(BIN)/pytest -q tests/image $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
