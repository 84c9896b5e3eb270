# Two commands on a fresh machine: `make demo` and `make test`. Each creates .venv if missing and
# installs the pinned dependencies (constraints.txt) and the package, then runs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
WORK   ?= work
export GX_ANALYTICS_ENABLED := false
export MLFLOW_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := 1

.PHONY: demo test install system-deps lint bench clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt setuptools
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/riskcohort demo --work $(WORK)

# System packages the tests drive for real (Debian chromium, PostgreSQL server); installed only
# when missing, so an offline machine that already has them needs no network.
system-deps:
	@bash scripts/install-system-deps.sh

test: $(STAMP) system-deps
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

# mypy checks src with the settings in pyproject.toml [tool.mypy].
# The dependency audit checks the pins in constraints.txt; offline it says SKIPPED, never passes
# silently (scripts/dep_audit.py).
lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/python scripts/dep_audit.py

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(WORK) .pytest_cache
