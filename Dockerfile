# The Skrynka server: both web interfaces under gunicorn, gnupg for encryption, tor for the
# onion services. devtools (development data) is not copied: production never runs it.
# Dependencies come from requirements-server.lock (the `server` and `postgres`
# extras) with --require-hashes, as `make` installs the full requirements.lock (README.md).
#
#   docker build -t skrynka .
#   docker run --rm -v skrynka-data:/var/lib/skrynka -v "$PWD/submission.asc:/key.asc:ro" \
#       skrynka init --submission-key /key.asc
#   docker run -d --init --name skrynka -v skrynka-data:/var/lib/skrynka skrynka
#
# gunicorn binds to 127.0.0.1 inside the container and tor (launched by `skrynka serve`) is the
# only way in, so no port is published.
FROM python:3.11-slim-bookworm

RUN apt-get update \
    && apt-get install -y --no-install-recommends gnupg tor \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/skrynka --no-create-home skrynka \
    && install -d -m 0700 -o skrynka -g skrynka /var/lib/skrynka

WORKDIR /opt/skrynka
COPY requirements-server.lock ./
RUN python -m venv venv \
    && venv/bin/pip install --no-cache-dir --disable-pip-version-check --require-hashes \
        -r requirements-server.lock

COPY pyproject.toml babel.cfg ./
COPY core ./core
COPY crypto ./crypto
COPY formats ./formats
COPY onion ./onion
COPY server ./server
COPY source_app ./source_app
COPY journalist_app ./journalist_app
COPY workstation ./workstation
# Translations are compiled before installing, so the .mo files are part of the package.
RUN for t in source_app/translations journalist_app/translations; do \
        if [ -d "$t" ]; then venv/bin/pybabel compile -d "$t"; fi; \
    done \
    && venv/bin/pip install --no-cache-dir --disable-pip-version-check --no-deps .

USER skrynka
ENV SKRYNKA_DATA_DIR=/var/lib/skrynka \
    PATH=/opt/skrynka/venv/bin:$PATH
VOLUME ["/var/lib/skrynka"]
# `skrynka serve` stops gracefully on SIGTERM (what `docker stop` sends).
STOPSIGNAL SIGTERM
ENTRYPOINT ["skrynka"]
CMD ["serve"]
