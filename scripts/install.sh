#!/usr/bin/env bash
# Install what `make demo` and `make test` need, on Debian 12 with Python 3.11. Idempotent: each
# step is skipped when already done, so running it again is quick.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3.11}"
VENV="${VENV:-.venv}"
# postgresql: the test suite runs the migrations against a real PostgreSQL server too.
DEBIAN_PACKAGES=(gnupg tor chromium mat2 postgresql openssl xxd)
# The rendition sandbox and its converters (workstation/sandbox.py, workstation/converters.py).
DEBIAN_PACKAGES+=(bubblewrap poppler-utils libreoffice-writer-nogui libreoffice-calc-nogui
                  libreoffice-impress-nogui ffmpeg python3-pil libheif-examples)
# Embedded metadata (exiftool, in the sandbox); pdqhash is published as source only, so pip
# compiles it (a C++ compiler).
DEBIAN_PACKAGES+=(libimage-exiftool-perl g++)
# Search: OCR in the sandbox in Belarusian, Russian and English; the scanned test pages use
# the DejaVu font. Several app servers behind one onion address: Onionbalance.
DEBIAN_PACKAGES+=(tesseract-ocr tesseract-ocr-bel tesseract-ocr-rus tesseract-ocr-eng
                  fonts-dejavu-core onionbalance)

missing=()
for package in "${DEBIAN_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
if ! command -v "$PYTHON" >/dev/null 2>&1; then
    missing+=(python3.11)
fi
if command -v "$PYTHON" >/dev/null 2>&1 && ! "$PYTHON" -c "import ensurepip, venv" 2>/dev/null; then
    missing+=(python3.11-venv)
fi
if ((${#missing[@]})); then
    if [[ "$(id -u)" == 0 ]]; then
        echo "Installing Debian packages: ${missing[*]}"
        apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
    else
        echo "Skrynka needs these Debian packages; install them, then run this again:" >&2
        echo "    sudo apt-get install ${missing[*]}" >&2
        exit 1
    fi
fi

if [[ ! -x "$VENV/bin/python" ]]; then
    echo "Creating the virtualenv $VENV with $PYTHON"
    "$PYTHON" -m venv "$VENV"
fi
# Every dependency is pinned by hash: a changed or substituted package fails the install.
"$VENV/bin/pip" install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
"$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps -e .
# The development tools (`devtools`: `skrynka dev-data`) are not part of the distribution, so the
# server and workstation never carry them; this development install reaches them in the checkout.
"$VENV/bin/python" - "$PWD" <<'PYTHON'
import pathlib, sys, sysconfig
pathlib.Path(sysconfig.get_paths()["purelib"], "skrynka-devtools.pth").write_text(sys.argv[1] + "\n")
PYTHON

# axe-core (accessibility checks in the browser tests) comes from the npm registry, pinned by
# package-lock.json's integrity hash; nothing from node_modules ships with Skrynka.
if [[ ! -f node_modules/axe-core/axe.min.js ]] || [[ package-lock.json -nt node_modules/axe-core/axe.min.js ]]; then
    if ! command -v npm >/dev/null 2>&1; then
        if [[ "$(id -u)" == 0 ]]; then
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends npm
        else
            echo "The browser tests need npm; install it with: sudo apt-get install npm" >&2
            exit 1
        fi
    fi
    npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
fi

# Compile translations (the .mo files are build products, not in git) for all three web faces,
# so that nothing starting later (several test workers, several gunicorn workers) has to.
if ! compiled="$(VENV="$VENV" scripts/compile_translations.sh 2>&1)"; then
    echo "$compiled" >&2
    exit 1
fi
echo "Skrynka is installed in $VENV."
