"""Source creation and codename login with the PRODUCTION key-derivation parameters.

Both go through the source app (Flask test client, in process): /create derives the codename
once, generates the reply key and stores the source; /login derives once and looks the source
up. Medians of several runs.

    python -m bench source_login        # through the bench runner (make bench)
    python -m bench.bench_source_login  # alone
"""

import re
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from core.instance import Instance, open_instance
from crypto.kdf import PRODUCTION

REPEATS = 7
CREATE_TARGET_S = 1.0
LOGIN_TARGET_S = 0.5
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_CODENAME = re.compile(r'id="codename">([^<]+)<')


def _new_instance(workdir: Path) -> Instance:
    from crypto.submission_key import export_public_key, generate_key_pair
    from server.setup import init_instance

    home = workdir / "key"
    home.mkdir(mode=0o700)
    fingerprint = generate_key_pair(home, "bench submission key")
    # No "kdf" override: the instance uses the production Argon2id parameters.
    settings = init_instance(workdir / "data", export_public_key(home, fingerprint), env={})
    if settings.kdf != PRODUCTION:
        raise RuntimeError("the bench instance does not use the production KDF parameters")
    return open_instance(settings)


def _find(pattern: re.Pattern[str], html: str) -> str:
    match = pattern.search(html)
    if match is None:
        raise RuntimeError(f"{pattern.pattern} not found on the page")
    return match.group(1)


def run(report: Any) -> None:
    from source_app import create_app

    with tempfile.TemporaryDirectory(prefix="skrynka-bench-login-") as tmp:
        instance = _new_instance(Path(tmp))
        try:
            app = create_app(instance=instance)
            create_times, login_times = [], []
            for _ in range(REPEATS):
                with app.test_client() as client:
                    index = client.get("/")
                    page = client.post("/generate", data={"csrf_token": _find(_CSRF, index.text)})
                    codename = _find(_CODENAME, page.text)
                    token = _find(_CSRF, page.text)
                    started = time.perf_counter()
                    created = client.post("/create", data={"csrf_token": token})
                    create_times.append(time.perf_counter() - started)
                    if created.status_code != 303:
                        raise RuntimeError(f"/create answered {created.status_code}")
                with app.test_client() as client:
                    token = _find(_CSRF, client.get("/login").text)
                    started = time.perf_counter()
                    logged_in = client.post(
                        "/login", data={"csrf_token": token, "codename": codename}
                    )
                    login_times.append(time.perf_counter() - started)
                    if logged_in.status_code != 303:
                        raise RuntimeError(f"/login answered {logged_in.status_code}")
            report.measure(
                "source creation (/create), production KDF, median",
                statistics.median(create_times),
                "s",
                at_most=CREATE_TARGET_S,
            )
            report.measure(
                "codename login (/login), production KDF, median",
                statistics.median(login_times),
                "s",
                at_most=LOGIN_TARGET_S,
            )
        finally:
            instance.close()


if __name__ == "__main__":
    from bench.__main__ import Report

    standalone = Report()
    standalone.module = "bench_source_login"
    run(standalone)
