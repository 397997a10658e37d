# nst-research: `make help` lists the targets. `make run` and `make test` install on first use.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
TORCH_PINS ?= torch==2.14.1 torchvision==0.29.1
# The lock: the exact versions install and CI use (make lock writes it; LOCK= installs loose ranges).
LOCK ?= constraints.txt
LOCK_FILE := $(wildcard $(LOCK))
CONSTRAINTS := $(if $(LOCK_FILE),-c $(LOCK_FILE))
SWEEP ?=
NAME ?=
QUICK ?=
SETTINGS ?= paper

.DEFAULT_GOAL := help
.PHONY: help install lock run test test-fast lint format bench bench-methods data report figures figure figures-check clean

help: ## show this help
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml $(LOCK_FILE)
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	@# torch first, from the pinned local builds (TORCH_PINS, which the lock agrees with); only
	@# without the lock (LOCK=) does any torch>=2.4 do.
	$(PY) -c "import torch, torchvision" 2>/dev/null || $(PIP) install $(CONSTRAINTS) $(TORCH_PINS) || { test -z "$(CONSTRAINTS)" && $(PIP) install 'torch>=2.4' 'torchvision>=0.19'; } || { echo "error: $(TORCH_PINS) (the lock's torch) did not install; make install LOCK= takes pyproject's ranges"; exit 1; }
	$(PIP) install $(CONSTRAINTS) -e '.[dev,fast]'
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install the package with dev tools, at the versions of constraints.txt

lock: $(STAMP) ## rewrite constraints.txt from .venv (pip freeze minus the project; torch as TORCH_PINS)
	$(PY) -m nst_research.provenance.lock --torch-pins "$(TORCH_PINS)" --out $(or $(LOCK),constraints.txt)
	@touch $(STAMP)

run: $(STAMP) ## stylise the default images offline (grace_hopper x swirls) and say where the result is
	$(VENV)/bin/nst size=256 iterations=200 $(ARGS)

# The suite runs in TEST_JOBS processes (pytest-xdist; 0: in this one), one torch thread each.
TEST_JOBS ?= 2
TEST_ENV = OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1}

test: $(STAMP) ## run the whole test suite (slow tests included) in TEST_JOBS=2 processes
	$(TEST_ENV) $(PY) -m pytest -q -n $(TEST_JOBS) $(ARGS)

test-fast: $(STAMP) ## run the suite without the slow tests
	$(TEST_ENV) $(PY) -m pytest -q -n $(TEST_JOBS) -m "not slow" $(ARGS)

lint: $(STAMP) ## ruff check and format check
	$(VENV)/bin/ruff check nst_research tests experiments hydra_plugins
	$(VENV)/bin/ruff format --check nst_research tests experiments hydra_plugins

format: $(STAMP) ## ruff fix and format
	$(VENV)/bin/ruff check --fix nst_research tests experiments hydra_plugins
	$(VENV)/bin/ruff format nst_research tests experiments hydra_plugins

bench: $(STAMP) ## benchmark: harness vs a plain PyTorch loop, s/iteration side by side
	$(PY) experiments/bench/bench.py $(ARGS)

bench-methods: $(STAMP) ## seconds per method= preset at 256 and 512 px side by side (experiments/bench/methods.py)
	$(PY) experiments/bench/methods.py --sizes 256 512 $(ARGS)

data: $(STAMP) ## download the classic images into data/ (sha256-checked)
	$(PY) -m nst_research.io.data --dest data

figures: $(STAMP) ## regenerate every paper figure into figures/ (QUICK=1: 48 px x 5 its; SETTINGS=reference)
	$(PY) -m nst_research.figures all --settings $(SETTINGS) $(if $(QUICK),--quick) $(ARGS)

figure: $(STAMP) ## one figure: make figure NAME=gatys2016_fig4 [QUICK=1] [SETTINGS=paper|reference]
	@test -n "$(NAME)" || { echo "usage: make figure NAME=gatys2016_fig1|gatys2016_fig3|gatys2016_fig4|gatys2016_fig5|gatys2016_fig6|gatys2017_colour|gatys2017_space [QUICK=1] [SETTINGS=paper|reference]"; exit 2; }
	$(PY) -m nst_research.figures $(NAME) --settings $(SETTINGS) $(if $(QUICK),--quick) $(ARGS)

figures-check: $(STAMP) ## re-render every figure in quick mode; fail naming those whose bytes changed
	$(PY) -m nst_research.figures.check $(ARGS)

report: $(STAMP) ## summarise a sweep: make report SWEEP=multirun/DATE/TIME
	@test -n "$(SWEEP)" || { echo "usage: make report SWEEP=multirun/<date>/<time>"; exit 2; }
	$(VENV)/bin/nst-report $(SWEEP)

clean: ## remove outputs of runs (keeps .venv)
	rm -rf outputs multirun bench_results .pytest_cache
