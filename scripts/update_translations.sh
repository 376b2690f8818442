#!/usr/bin/env bash
# After changing source-facing text: extract every message from source_app (babel.cfg) and
# merge it into the be, ru and en catalogs. New messages arrive untranslated; fill them in (the
# English catalog repeats the English text) before committing, or tests/source_app/test_i18n.py
# fails.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
template="$(mktemp --suffix=.pot)"
trap 'rm -f "$template"' EXIT
"$VENV/bin/pybabel" extract -F babel.cfg -k lazy_gettext -k lazy_ngettext:1,2 --no-location \
    --sort-output --project Skrynka -o "$template" .
"$VENV/bin/pybabel" update -i "$template" -d source_app/translations -D messages \
    --no-fuzzy-matching --ignore-obsolete --width 100

# The evidence desk (workstation_app) has its own catalogs: extract with its own mapping.
"$VENV/bin/pybabel" extract -F workstation_app/babel.cfg -k lazy_gettext -k _l \
    -k lazy_ngettext:1,2 --no-location --sort-output --project Skrynka -o "$template" .
"$VENV/bin/pybabel" update -i "$template" -d workstation_app/translations -D messages \
    --no-fuzzy-matching --ignore-obsolete --width 100
