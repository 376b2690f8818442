#!/usr/bin/env bash
# Compile the translation catalogs of the source interface, the staff interface and the desk
# (.po, in git) into .mo files (build products); fuzzy entries are left out. Each app also
# compiles a missing or stale catalog at start (core.catalogs, workstation_app.i18n), so this is
# for builds, read-only installs, and so that processes starting together find them ready.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
"$VENV/bin/pybabel" compile --statistics -d source_app/translations -D messages
"$VENV/bin/pybabel" compile --statistics -d journalist_app/translations -D messages
"$VENV/bin/pybabel" compile --statistics -d workstation_app/translations -D messages
