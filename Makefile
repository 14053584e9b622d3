# make run:  install the service into .venv and start it (a SQLite file unless MONGO_URL is set)
# make test: install the service and its test tools into .venv, lint, and run every test (as CI does)
# make test-fast: the same without the e2e and slow tests (real processes, a browser): under a minute
# make fuzz: the property tests' open-ended search (random, 10x the examples; about 5 minutes)
# make lock: compile requirements.txt and requirements-dev.txt (pinned, hashed) from pyproject.toml
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test test-fast fuzz lint lock bench clean

# The Procfile's own web line, as Heroku runs it (gunicorn reads gunicorn.conf.py).
run: $(VENV)/.run-installed
	PATH="$(CURDIR)/$(BIN):$$PATH" sh -c "$$(sed -n 's/^web: //p' Procfile)"

test: $(VENV)/.dev-installed lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The markers are registered in pyproject.toml: e2e runs real processes, Chromium
# or the real MongoDB driver on loopback; slow takes a second or more in-process.
test-fast: $(VENV)/.dev-installed lint
	$(BIN)/python -m pytest -m "not e2e and not slow" $(PYTEST_ARGS)

# The property tests and schemathesis, random rather than derandomized as in
# make test, with FUZZ_SCALE (10) times the examples: about 5 minutes on two
# cores. A failure is kept in .hypothesis/ and tried first by the next run;
# pin it in the tests with @example (or a test of its own) before fixing it.
FUZZ_TESTS := tests/test_properties.py tests/test_openapi.py tests/test_validation.py tests/test_extjson.py tests/test_export.py
fuzz: $(VENV)/.dev-installed
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest $(FUZZ_TESTS) $(PYTEST_ARGS)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Benchmark (not part of the tests): writes bench/RESULTS.md and bench/ratios.png.
bench: $(VENV)/.dev-installed
	$(BIN)/python -m pip install --quiet -r bench/requirements.txt
	command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq wrk >/dev/null; } || echo "no wrk: using bench/loadgen.py"
	cd bench && ../$(BIN)/python run.py $(BENCH_ARGS)

# The locked dependencies (hash-checked), then the service itself: editable, so
# that .venv/bin/readings runs this checkout and keeps its data in ./instance
# (without setuptools' warning that this folder's package is the one imported:
# that is the point).
$(VENV)/.run-installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.txt
	PYTHONWARNINGS=ignore::UserWarning $(BIN)/python -m pip install --quiet --no-deps --editable .
	touch $@

$(VENV)/.dev-installed: requirements-dev.txt $(VENV)/.run-installed
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.txt
	touch $@

# After changing a dependency in pyproject.toml: versions already locked stay
# (LOCK_ARGS=--upgrade, or --upgrade-package NAME, to move them). The lock holds
# every platform's and Python's (3.11 and later) wheels; the dev lock pins the
# runtime packages exactly as requirements.txt does.
LOCK := $(BIN)/uv pip compile pyproject.toml --quiet --universal --generate-hashes --custom-compile-command "make lock" $(LOCK_ARGS)
lock: $(VENV)/.dev-installed
	$(LOCK) --extra redis -o requirements.txt
	$(LOCK) --extra redis --extra test --extra dev -c requirements.txt -o requirements-dev.txt

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build dist *.egg-info
