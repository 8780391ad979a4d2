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

SIZES   ?= 1000 10000 100000
DB      ?= sqlite postgres
WORKERS ?= 1 2
bench: $(STAMP)  ## measure throughput vs baselines: SIZES="1000 10000 100000" DB="sqlite postgres" WORKERS="1 2" → bench/results/
	$(BIN)/cumplido bench $(foreach n,$(SIZES),--orders $(n)) $(foreach d,$(DB),--db $(d)) $(foreach w,$(WORKERS),--workers $(w))

clean:  ## remove the demo warehouse and Prefect home under ./var
	rm -rf var/*
