# Two commands for a fresh clone: `make run` serves the API, `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint migrate install dev clean

run: $(VENV)/.installed
	@echo
	@echo "KEP 2.0 events service on http://127.0.0.1:8000 (API docs at /docs), database $${KEP_DATABASE_URL:-sqlite:///./kep.db}"
	@echo "First admin token: in another terminal run"
	@echo "  $(BIN)/kep create-user --role admin --name 'Your Name' --email you@example.eu"
	@echo
	$(BIN)/kep serve

test: $(VENV)/.dev
	$(BIN)/pytest

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy app

migrate: $(VENV)/.installed
	$(BIN)/kep migrate

install: $(VENV)/.installed
dev: $(VENV)/.dev

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.dev: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache
