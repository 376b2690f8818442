"""Unauthenticated floods and oversized forms against the source app under real gunicorn.

/create is throttled for all visitors together (every source shares the Tor exit's address, so
nothing can single one out), pending sources are pruned once every login they could have is
over, key derivations are bounded per process with a calm "busy" page, and a submission holds a
bounded number of files and a form a bounded number of parts.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from sqlalchemy import func, select, update

from core.instance import Instance, open_instance
from core.models import Source, Submission
from core.submissions import MAX_FILES_PER_SUBMISSION
from crypto.codename import generate_codename
from server.setup import init_instance
from source_app.upload import MAX_PARTS_PER_REQUEST
from tests.source_app.http_source import HttpSource
from tests.source_app.pages import csrf_token_in
from tests.support.keys import KeyPair

BUSY_TEXT = "The site is busy right now"


def source_count(instance: Instance, *, pending: bool | None = None) -> int:
    query = select(func.count()).select_from(Source)
    if pending is not None:
        query = query.where(Source.pending.is_(pending))
    with instance.sessions() as db:
        return int(db.scalar(query) or 0)


def submission_count(instance: Instance) -> int:
    with instance.sessions() as db:
        return int(db.scalar(select(func.count()).select_from(Submission)) or 0)


def try_create(base_url: str) -> requests.Response:
    http = requests.Session()
    index = http.get(base_url + "/?l=en", timeout=30)
    page = http.post(base_url + "/generate", data={"csrf_token": csrf_token_in(index.text)},
                     timeout=30)
    return http.post(base_url + "/create", data={"csrf_token": csrf_token_in(page.text)},
                     timeout=60)


# --- 4. /create floods ------------------------------------------------------------------------


def test_account_creation_is_throttled_for_everyone_together(
    instance: Instance, make_gunicorn: Callable[..., str]
) -> None:
    url = make_gunicorn("source_app:create_app(creations_per_minute=3)",
                        instance.settings.data_dir)
    for _ in range(3):
        assert try_create(url).url.endswith("/lookup")
    refused = try_create(url)
    assert refused.status_code == 503
    assert BUSY_TEXT in refused.text
    assert refused.headers["Retry-After"] == "60"
    assert source_count(instance) == 3
    # The refused visitor keeps its codename: confirming it again works once the minute is
    # over (here: once the earlier sources are more than a minute old).
    with instance.sessions() as db:
        db.execute(update(Source).values(last_updated=datetime.now(UTC) - timedelta(minutes=2)))
        db.commit()
    assert try_create(url).url.endswith("/lookup")
    assert source_count(instance) == 4


def test_pending_sources_are_pruned_once_every_login_they_could_have_is_over(
    instance: Instance, make_gunicorn: Callable[..., str]
) -> None:
    url = make_gunicorn("source_app:create_app()", instance.settings.data_dir)
    idle, submitted, recent = HttpSource(url), HttpSource(url), HttpSource(url)
    for visitor in (idle, submitted, recent):
        visitor.create()
    assert submitted.submit("A first message long enough to be accepted here.").ok
    settings = instance.settings
    longest = 4 * settings.source_session_seconds + settings.worker_timeout_seconds
    old = datetime.now(UTC) - timedelta(seconds=longest + 60)
    with instance.sessions() as db:
        sources = list(db.scalars(select(Source).order_by(Source.id)))
        for source in sources[:2]:
            source.last_updated = old
        db.commit()
    assert source_count(instance) == 3

    assert try_create(url).url.endswith("/lookup")

    # The idle pending source is gone; the one that submitted and the recent one stay.
    assert source_count(instance) == 3
    assert source_count(instance, pending=False) == 1
    login = idle.http.get(url + "/login", timeout=30)
    gone = idle.http.post(url + "/login", data={"csrf_token": csrf_token_in(login.text),
                                                 "codename": idle.codename}, timeout=30)
    assert gone.status_code == 400


def test_key_derivations_are_bounded_and_the_rest_told_to_come_back(
    tmp_path: Path, submission_keypair: KeyPair, make_gunicorn: Callable[..., str]
) -> None:
    # The production cost (128 MiB, a second or so) so that derivations really overlap.
    settings = init_instance(tmp_path / "prod", submission_keypair.public_armored,
                             dev_mode=True, organization_name="Busy",
                             instance_settings={"kdf": "production"}, env={})
    open_instance(settings).close()
    url = make_gunicorn(
        "source_app:create_app(derivation_slots=1, derivation_wait_seconds=0.0)",
        settings.data_dir, threads=6,
    )

    def log_in() -> requests.Response:
        http = requests.Session()
        page = http.get(url + "/login?l=en", timeout=30)
        return http.post(url + "/login", data={"csrf_token": csrf_token_in(page.text),
                                               "codename": generate_codename()}, timeout=120)

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: log_in(), range(6)))
    codes = sorted(answer.status_code for answer in answers)
    assert 503 in codes, codes
    assert set(codes) <= {400, 503}, codes
    assert all(BUSY_TEXT in a.text for a in answers if a.status_code == 503)
    assert codes.count(400) >= 1


# --- 5. files per submission and parts per request ------------------------------------------


def test_too_many_files_get_a_page_naming_the_limit_and_nothing_is_stored(
    instance: Instance, make_gunicorn: Callable[..., str]
) -> None:
    url = make_gunicorn("source_app:create_app()", instance.settings.data_dir)
    visitor = HttpSource(url)
    visitor.create()
    files = [("fh", (f"page-{n}.txt", b"x" * 10)) for n in range(MAX_FILES_PER_SUBMISSION + 1)]
    response = visitor.http.post(
        url + "/submit",
        data={"csrf_token": visitor.token(), "msg": "Many small files, one at a time."},
        files=files, timeout=120,
    )
    assert response.status_code == 413
    assert f"at most {MAX_FILES_PER_SUBMISSION} files" in response.text
    assert submission_count(instance) == 0
    files = [("fh", (f"page-{n}.txt", b"x" * 10)) for n in range(MAX_FILES_PER_SUBMISSION)]
    accepted = visitor.http.post(
        url + "/submit",
        data={"csrf_token": visitor.token(), "msg": "Exactly as many files as allowed."},
        files=files, timeout=120,
    )
    assert accepted.status_code == 200
    assert submission_count(instance) == MAX_FILES_PER_SUBMISSION + 1


def test_a_form_of_thousands_of_tiny_parts_is_refused_with_the_same_page(
    instance: Instance, make_gunicorn: Callable[..., str]
) -> None:
    url = make_gunicorn("source_app:create_app()", instance.settings.data_dir)
    visitor = HttpSource(url)
    visitor.create()
    noise = [("x", (None, b"1")) for _ in range(MAX_PARTS_PER_REQUEST * 5)]
    response = visitor.http.post(
        url + "/submit",
        files=[("csrf_token", (None, visitor.token().encode())),
               ("msg", (None, b"A message hidden among a thousand parts.")), *noise],
        timeout=120,
    )
    assert response.status_code == 413
    assert "at most" in response.text
    assert submission_count(instance) == 0


def test_part_headers_that_are_not_utf8_get_the_malformed_page_not_a_crash(
    instance: Instance, make_gunicorn: Callable[..., str]
) -> None:
    # Found by tests/security/test_fuzzing.py: the parser raised UnicodeDecodeError (a 500).
    url = make_gunicorn("source_app:create_app()", instance.settings.data_dir)
    visitor = HttpSource(url)
    visitor.create()
    body = (b"--b0undary\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n"
            + visitor.token().encode() + b"\r\n--b0undary\r\nContent-Disposition: form-data;"
            b" name=\"fh\"; filename=\"\xbc\xff.txt\"\r\n\r\nhello\r\n--b0undary--\r\n")
    response = visitor.http.post(
        url + "/submit", data=body,
        headers={"Content-Type": "multipart/form-data; boundary=b0undary"}, timeout=60,
    )
    assert response.status_code == 400
    assert submission_count(instance) == 0
