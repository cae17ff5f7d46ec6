# Everything a person does with lscb-returns. `make demo` and `make test` each set up
# a fresh machine on their own (scripts/setup is idempotent).
VENV := .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: setup demo demo-year test lint typecheck unit lock bench clean

setup:
	@scripts/setup

demo: setup
	@scripts/demo

# A year of one synthetic world: four quarters through the quarterly DAG on their dates, then the annual DAG.
demo-year: setup
	@scripts/demo-year

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

typecheck: setup
	$(VENV)/bin/mypy

test: setup
	@scripts/test

# The runtime lock (what Airflow workers and the portal install) from pyproject's dependencies,
# then the development lock (plus pytest, ruff, mypy, Playwright ...) held to the same versions.
lock:
	$(VENV)/bin/uv pip compile pyproject.toml --python-version 3.11 -o requirements/runtime.lock
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --python-version 3.11 -c requirements/runtime.lock -o requirements/dev.lock

bench: setup
	@scripts/bench

clean:
	rm -rf var build .pytest_cache .mypy_cache .ruff_cache
