# Everything a person does with lscb-returns. `make demo` and `make test` each set up
# a fresh machine on their own (scripts/setup is idempotent).
VENV := .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: setup demo test lint typecheck unit lock bench clean

setup:
	@scripts/setup

demo: setup
	@scripts/demo

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check lscb schemas transforms reports portal dags tests bench || true

typecheck: setup
	$(VENV)/bin/mypy

test: setup
	@scripts/test

lock:
	$(VENV)/bin/uv pip compile requirements.in --python-version 3.11 -o requirements.lock

bench: setup
	@scripts/bench

clean:
	rm -rf var build .pytest_cache .mypy_cache .ruff_cache
