# wirebrief: `make demo` and `make test` work on a fresh machine with Python 3.11+.
# Both create .venv and install the pinned dependencies (requirements-dev.lock) first.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test test-fast lint format clean

$(STAMP): pyproject.toml requirements-dev.lock
	$(PYTHON) -c 'import sys; sys.exit("wirebrief needs Python >= 3.11") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.lock
	# setuptools announces every editable install of a mapped layout (prompts/ ships as
	# bot.prompts) with a ten-line "Editable installation" notice; it is information only.
	PYTHONWARNINGS="ignore:Editable installation" $(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

demo: $(STAMP)         ## the built-in sample: import it and print the Belarus digest
	$(BIN)/wirebrief demo

test: $(STAMP)         ## every test except the optional real-model one; skips are listed with why
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)    ## skip the slow tests (process kills, load)
	$(BIN)/python -m pytest -q -m "not slow and not realmodel"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	BIN=$(BIN) deploy/check.sh

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
