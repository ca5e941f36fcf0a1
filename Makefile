# Two commands for a fresh machine: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck install lock browser posters deploy-tools clean

UV_VERSION := 0.13.8
UV_COMPILE := uv pip compile pyproject.toml --generate-hashes --python-version 3.11 --quiet

$(STAMP): pyproject.toml requirements.lock requirements-dev.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install -q --python $(BIN)/python --require-hashes \
	  -r requirements.lock -r requirements-dev.lock
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

# Both locks from pyproject.toml, hashed: requirements.lock is what the image installs (no dev
# tool), requirements-dev.lock adds the dev extra with the runtime pins held (`-c`).
lock:
	test -x $(BIN)/uv || { test -x $(BIN)/python || $(PYTHON) -m venv $(VENV); \
	  $(BIN)/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION); }
	$(BIN)/$(UV_COMPILE) -o requirements.lock
	$(BIN)/$(UV_COMPILE) --extra dev -c requirements.lock -o requirements-dev.lock

# Debian's Chromium for the browser tests; Playwright drives it, it never downloads a browser.
browser:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "Install Debian's chromium package (sudo apt-get install chromium) for the browser tests" >&2; exit 1; fi; }

# nginx (the topology test runs the shipped deploy/nginx.conf in front of the processes) and
# Debian's docker-compose (its `config` checks docker-compose.yml; no Docker daemon needed).
deploy-tools:
	@{ command -v nginx >/dev/null || test -x /usr/sbin/nginx; } && command -v docker-compose >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx docker-compose; \
	  else echo "Install Debian's nginx and docker-compose (sudo apt-get install ...) for the deployment tests" >&2; exit 1; fi; }

# Cairo and a font with the Kazakh letters: `qanagat qr` renders posters to PNG and PDF.
posters:
	@{ ldconfig -p | grep -q libcairo.so.2 && test -d /usr/share/fonts/truetype/dejavu; } || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libcairo2 fonts-dejavu-core; \
	  else echo "Install Debian's libcairo2 and fonts-dejavu-core (sudo apt-get install ...) for PNG/PDF posters" >&2; exit 1; fi; }

run: $(STAMP)
	mkdir -p var
	$(BIN)/qanagat db upgrade
	$(BIN)/qanagat demo load
	$(BIN)/qanagat serve

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

# The suite runs on TEST_WORKERS processes (pytest-xdist); each has its own throwaway database
# and Redis database, so tests never see each other's rows or keys. TEST_WORKERS=0 runs it in one.
TEST_WORKERS ?= 2

test: $(STAMP) browser posters deploy-tools lint typecheck
	$(BIN)/pytest -q -n $(TEST_WORKERS)

clean:
	rm -rf $(VENV) var/*.sqlite3
