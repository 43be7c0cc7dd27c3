# Two entry points (README, Quickstart):
#   make demo   set up what is missing, then run the demo pipeline on the real Fashion-MNIST
#   make test   set up what is missing, then run the test suite
# Setup = a virtual environment in .venv with this package and its pinned dependencies, plus
# Debian's dataset-fashion-mnist when apt-get is available and we are root (elsewhere the
# pipeline downloads the data). The SLURM test installs slurm-wlm and munge itself.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CORES  ?= all
SNAKEMAKE_ARGS ?=

.PHONY: demo test paper setup system-packages lint clean

demo: setup
	$(BIN)/snakemake --profile profiles/default --cores $(CORES) --configfile config/demo.yaml $(SNAKEMAKE_ARGS)

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

paper: setup
	$(BIN)/snakemake --profile profiles/default --cores $(CORES) $(SNAKEMAKE_ARGS)

setup: $(STAMP) system-packages

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

# Debian's copy of the real Fashion-MNIST (offline mirror searched before the network).
system-packages:
	@if [ -d /usr/share/datasets/fashion-mnist ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian's dataset-fashion-mnist"; \
	  (apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 || \
	   (apt-get update -qq >/dev/null && apt-get install -y -qq dataset-fashion-mnist >/dev/null)) \
	  || echo "warning: could not install dataset-fashion-mnist; the pipeline will download Fashion-MNIST"; \
	else echo "note: not root or no apt-get: the pipeline will download Fashion-MNIST"; fi

lint: setup
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf results figures logs .snakemake
