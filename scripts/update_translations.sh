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

# The staff interface has its own catalogs (journalist_app/translations), filled the same way.
staff_template="$(mktemp --suffix=.pot)"
trap 'rm -f "$template" "$staff_template"' EXIT
"$VENV/bin/pybabel" extract -F babel-journalist.cfg -k lazy_gettext -k lazy_ngettext:1,2 \
    --no-location --sort-output --project Skrynka -o "$staff_template" .
for code in be ru en; do
    po="journalist_app/translations/$code/LC_MESSAGES/messages.po"
    if [ ! -f "$po" ]; then
        "$VENV/bin/pybabel" init -i "$staff_template" -d journalist_app/translations -D messages \
            -l "$code" --width 100
    fi
done
"$VENV/bin/pybabel" update -i "$staff_template" -d journalist_app/translations -D messages \
    --no-fuzzy-matching --ignore-obsolete --width 100

# The evidence desk (workstation_app) has its own catalogs: extract with its own mapping.
desk_template="$(mktemp --suffix=.pot)"
trap 'rm -f "$template" "$staff_template" "$desk_template"' EXIT
"$VENV/bin/pybabel" extract -F workstation_app/babel.cfg -k lazy_gettext -k _l \
    -k lazy_ngettext:1,2 --no-location --sort-output --project Skrynka -o "$desk_template" .
"$VENV/bin/pybabel" update -i "$desk_template" -d workstation_app/translations -D messages \
    --no-fuzzy-matching --ignore-obsolete --width 100
