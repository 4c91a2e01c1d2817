# citybridge: the two README commands are `make book` and `make test`.
# Each creates the virtual environment when missing and installs the project.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.citybridge-installed

.PHONY: install book test lab samples bench clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	@touch $(STAMP)

install: $(STAMP)

## Execute every notebook for every city in data/cities/ and build the book
book: $(STAMP)
	$(VENV)/bin/citybridge build

## Run the whole test suite (unit, notebooks, book, browser)
test: $(STAMP)
	$(PY) -m pytest

## Open JupyterLab on the notebooks (workshop participants); also as root (containers).
## LAB_PORT and LAB_IP choose where it listens; the address to open is printed.
## lang=es or lang=zh opens translated copies (narrative in that language, outputs stripped,
## code unchanged), written into the git-ignored notebooks/_<lang>/ and rewritten when a
## notebook or its catalog changes; the kernels get CITYBRIDGE_LANG=<lang>. Default: English.
LAB_PORT  ?= 8888
LAB_IP    ?= 127.0.0.1
lang      ?= en
LAB_LANGS := en es zh
ifneq ($(filter lab,$(MAKECMDGOALS)),)
ifneq ($(words $(lang)),1)
$(error make lab: lang="$(lang)" is not a language of the workbook; use lang=en, lang=es or lang=zh)
endif
ifeq ($(filter $(lang),$(LAB_LANGS)),)
$(error make lab: lang="$(lang)" is not a language of the workbook; use lang=en, lang=es or lang=zh)
endif
endif
LAB_DIR := $(if $(filter en,$(lang)),notebooks/,notebooks/_$(lang)/)

lab: $(STAMP)
ifneq ($(lang),en)
	$(PY) -m citybridge.notebook_i18n $(lang)
endif
	@echo "JupyterLab: open http://$(LAB_IP):$(LAB_PORT)/lab (the full address with its token follows below)"
	CITYBRIDGE_LANG=$(lang) $(VENV)/bin/jupyter lab $(LAB_DIR) --ip=$(LAB_IP) --port=$(LAB_PORT) --no-browser \
		$$( [ "$$(id -u)" = 0 ] && echo --allow-root )

## Regenerate the illustrative sample cities from data/samples/
samples: $(STAMP)
	$(VENV)/bin/citybridge samples

## Benchmark of the "one engine" targets (issue 12), each printed with MET / NOT MET: cold,
## warm and one-city-changed book builds; each chapter for Santiago vs a small city (time
## ratio, kernel memory); citybridge indicators vs gtfs-kit on a 3.4M stop_times replica;
## pytest -m unit. Works in bench/out/ (git-ignored). Other parts: python bench/run.py --help
bench: $(STAMP)
	$(PY) bench/run.py

clean:
	rm -rf book/_build book/cities book/compare book/_toc.yml book/conf.py book/build-report.md .citybridge-cache
