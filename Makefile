# Two commands on a fresh machine:  `make demo`  and  `make test`.
# Each creates the virtual environment and installs what it needs.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint format bench goldens system-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/watcher demo

# Browser tests need Debian's chromium; the HTML checker needs a Java runtime; the
# e-mails are checked against SpamAssassin's rules (local tests only, no network); the
# store tests also run on a throwaway PostgreSQL cluster (initdb/pg_ctl of the server).
system-deps:
	@command -v chromium >/dev/null 2>&1 && command -v java >/dev/null 2>&1 \
	  && command -v spamassassin >/dev/null 2>&1 \
	  && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  $$SUDO apt-get install -y -qq chromium default-jre-headless spamassassin postgresql \
	    >/dev/null; }

# One full suite at a time per machine: the browser tests and local servers of two
# checkouts running side by side starve each other into timeouts.
SUITE_LOCK := $(shell command -v flock >/dev/null 2>&1 && echo flock /tmp/watcher-test-suite.lock)

test: $(STAMP) system-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(SUITE_LOCK) $(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Rewrite tests/golden/ (one bulletin, one site page) from the current templates;
# review the change with `git diff tests/golden` before committing it.
goldens: $(STAMP)
	$(BIN)/python -m pytest tests/publish/test_golden.py --update-goldens -q

bench: $(STAMP)
	for script in bench/*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) output
