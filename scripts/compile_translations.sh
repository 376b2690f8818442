#!/usr/bin/env bash
# Compile the source interface's translation catalogs (.po, in git) into .mo files (build
# products). Fuzzy entries are left out. The app also compiles a missing or stale catalog at
# start (source_app.i18n.compile_catalogs), so this is for builds and read-only installs.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
"$VENV/bin/pybabel" compile --statistics -d source_app/translations -D messages
"$VENV/bin/pybabel" compile --statistics -d journalist_app/translations -D messages
"$VENV/bin/pybabel" compile --statistics -d workstation_app/translations -D messages
