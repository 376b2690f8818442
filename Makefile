# The README's two commands are `make demo` and `make test`; both install first (idempotent).
VENV := .venv
BIN := $(VENV)/bin
TRANSLATIONS := $(wildcard source_app/translations/*/LC_MESSAGES/*.po journalist_app/translations/*/LC_MESSAGES/*.po workstation_app/translations/*/LC_MESSAGES/*.po)
# Two pytest workers halve the wall time on the 2-core reference machine; loadgroup keeps tests
# marked xdist_group("tor-network") on one worker so the private Tor network starts once.
PYTEST_ARGS ?= -n 2 --dist loadgroup

.PHONY: install demo test lint format bench clean-demo

install: .install-stamp

.install-stamp: scripts/install.sh requirements.lock pyproject.toml package-lock.json $(TRANSLATIONS)
	scripts/install.sh
	touch $@

demo: install
	$(BIN)/skrynka demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest $(PYTEST_ARGS)

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python -m bench

clean-demo:
	rm -rf demo-data
