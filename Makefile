# Two commands for a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench install clean help

help:  ## list targets
	@grep -E '^[a-z]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install cumplido with its dev tools

demo: $(STAMP)  ## run the sandbox shop through every flow over simulated days (SQLite under ./var)
	$(BIN)/cumplido demo

test: $(STAMP)  ## run the test suite (SQLite, plus PostgreSQL when CUMPLIDO_TEST_POSTGRES_URL is set)
	$(BIN)/pytest

clean:  ## remove the demo warehouse and Prefect home under ./var
	rm -rf var/*
