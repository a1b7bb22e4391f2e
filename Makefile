# Two commands for a fresh clone: `make run` serves the API, `make test` runs the suite.
# Both install the exact versions of requirements.lock (and requirements-dev.lock);
# pyproject.toml keeps the lower bounds, and `make lock` turns them into new locks.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
DATABASE := $${KEP_DATABASE_URL:-sqlite:///./kep.db}
# The locks are resolved for every platform and for Python 3.11 on (the Dockerfile's).
LOCK_FLAGS := --universal --python-version 3.11 --quiet --custom-compile-command "make lock"

.PHONY: run demo test lint migrate install dev lock clean

run: $(VENV)/.installed
	@echo
	@echo "KEP 2.0 events service on http://$(HOST):$(PORT) (API docs at /docs), database $(DATABASE)"
	@echo "First admin token: in another terminal run"
	@echo "  $(BIN)/kep create-user --role admin --name 'Your Name' --email you@example.eu"
	@echo "or fill an empty database with sample data and a token per role: make demo"
	@echo
	$(BIN)/kep serve --host $(HOST) --port $(PORT)

demo: $(VENV)/.installed
	$(BIN)/kep demo

# The suite runs in one process per core (pytest-xdist; tests/helpers/scheduling.py says
# how it is shared); `make test TEST_PROCESSES=0` runs it in one process.
TEST_PROCESSES ?= auto

test: $(VENV)/.dev
	$(BIN)/pytest --numprocesses $(TEST_PROCESSES)

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy app

migrate: $(VENV)/.installed
	$(BIN)/kep migrate

install: $(VENV)/.installed
dev: $(VENV)/.dev

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml requirements.lock
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.dev: $(VENV)/.installed requirements-dev.lock
	$(BIN)/python -m pip install --quiet -r requirements-dev.lock
	touch $@

# The locks follow pyproject.toml, resolved on PyPI: versions already locked stay where
# they still fit, `make lock UPGRADE=1` moves every one to the newest. The dev lock keeps
# the runtime lock's versions, so that tests run what `make run` and the image run.
lock: $(BIN)/python
	$(BIN)/python -m pip install --quiet "uv>=0.5"
	$(BIN)/uv pip compile pyproject.toml $(LOCK_FLAGS) $(if $(UPGRADE),--upgrade) \
		-o requirements.lock
	$(BIN)/uv pip compile pyproject.toml $(LOCK_FLAGS) $(if $(UPGRADE),--upgrade) --extra dev \
		--constraint requirements.lock -o requirements-dev.lock

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache .mypy_cache build dist
