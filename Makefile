# The README's commands are exactly what CI runs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint format install clean bench

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/unticket simulate --employees 2000 --days 90 --seed 7 --replace
	$(BIN)/unticket pipeline run nightly
	$(BIN)/unticket kpis
	$(BIN)/unticket report --period week

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python bench/understanding.py
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/http_api.py
	$(BIN)/python bench/simulation.py
	$(BIN)/python bench/warehouse.py

clean:
	rm -rf $(VENV) data/local
