# servebench: `make bench` runs the default job, `make test` the test suite.
# Both create .venv and install what is missing first.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# binary:Debian package, installed with apt-get when running as root.
SYSTEM_DEPS := nginx:nginx memcached:memcached wrk:wrk ab:apache2-utils chromium:chromium sshd:openssh-server
ARGS ?=

.PHONY: bench test lint typecheck nox sysdeps clean

bench: $(BIN)/.installed sysdeps
	$(BIN)/python manage.py servebench $(ARGS)

test: $(BIN)/.installed sysdeps
	$(BIN)/python -m pytest $(ARGS)

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/.installed
	$(BIN)/mypy

# Python 3.11-3.13 x Django 5.2-6.1, see noxfile.py (not part of `make test`).
# pyenv's shims answer only for the selected version: put every installed one on PATH.
nox: $(BIN)/.installed
	PATH="$$(ls -d $$HOME/.pyenv/versions/3.1[1-3]*/bin 2>/dev/null | tr '\n' ':')$$PATH" $(BIN)/nox $(ARGS)

$(BIN)/.installed: requirements.txt requirements-test.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "servebench needs Python >= 3.11: make PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -r requirements-test.txt
	touch $@

# Installs the missing ones as root; otherwise says what it could not install.
# policy-rc.d keeps Debian from starting system-wide nginx/memcached/PostgreSQL
# services: servebench starts its own, on private ports. PostgreSQL's binaries
# are not on PATH on Debian: look for initdb where the package puts it.
sysdeps:
	@export PATH="$$PATH:/usr/sbin:/sbin"; missing=""; \
	for dep in $(SYSTEM_DEPS); do \
	  command -v $${dep%%:*} >/dev/null 2>&1 || missing="$$missing $${dep#*:}"; \
	done; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing:$$missing"; \
	  guard=""; if [ ! -e /usr/sbin/policy-rc.d ]; then \
	    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; guard=1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  status=$$?; [ -n "$$guard" ] && rm -f /usr/sbin/policy-rc.d; exit $$status; \
	else \
	  echo "not installed:$$missing (install them to measure nginx fronts, session-cache, PostgreSQL and wrk/ab; servebench skips what needs them)"; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist *.egg-info
