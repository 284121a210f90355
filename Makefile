# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-pg lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP) .env
	$(BIN)/python -m bot

.env:
	cp .env.example .env
	@echo "Created .env from .env.example: fill in DISCORD_TOKEN and RUNCOMFY_API_TOKEN."

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	# Four workers on two cores: the tests mostly wait on loopback servers and timers.
	$(BIN)/python -m pytest -q -n 4

# The suite with its PostgreSQL variants, on a throwaway local cluster (as CI does).
test-pg: $(STAMP)
	@dir=$$(mktemp -d); trap '.ci/postgres stop "$$dir"; rm -rf "$$dir"' EXIT; \
	TEST_DATABASE_URL=$$(.ci/postgres start "$$dir") $(MAKE) test

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy app bot cogs
	$(BIN)/lint-imports

# Every benchmark, one at a time, into benchmarks/results/*.json, then docs/benchmarks.md.
bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
