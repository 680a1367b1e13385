# make demo  - install into .venv and run `claims extract` on the bundled sample
# make test  - install into .venv and run lint, type checks and the test suite
# make bench - benchmarks against ../shared/benchmarks (prints numbers, asserts nothing)

VENV    ?= .venv
PYTHON  ?= python3
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed

.PHONY: install demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	@mkdir -p build
	$(VENV)/bin/claims extract corpora/sample -o build/demo.jsonl
	$(VENV)/bin/claims show build/demo.jsonl

lint: $(STAMP)
	$(VENV)/bin/ruff check nlp tests bench
	$(VENV)/bin/mypy

test: lint
	$(VENV)/bin/pytest

bench: $(STAMP)
	$(PY) -m pip install --quiet -e ".[dev,bench]"
	$(PY) bench/bench_langid.py
	$(PY) bench/bench_numbers.py
	$(PY) bench/bench_ner.py
	$(PY) bench/bench_isaf.py
	$(PY) bench/bench_speed.py

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
