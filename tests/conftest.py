"""Fixtures every test package shares: real keys, a fresh instance, gunicorn, a browser.

Expensive things (gpg key generation, the browser, a PostgreSQL cluster) are made once per
session; an instance is cheap (about a tenth of a second) and made fresh for every test that
asks for one. Every test that uses the server's database runs on SQLite and on PostgreSQL
(``database_backend``); ``--database sqlite`` or ``--database postgresql`` runs one of them.
"""

import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from core.instance import Instance, open_instance
from server.setup import init_instance
from tests.support.database import BACKENDS, PostgresDatabases, settings_for
from tests.support.gunicorn import GunicornRunner
from tests.support.keys import KeyPair, make_key_pair
from tests.support.postgres import PostgresServer, start_postgres
from tests.support.tsa import TimestampAuthority, TsaPki, make_test_ca

REPO_ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS_DIR = REPO_ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def submission_keypair(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    """A real submission key pair; ``.secret_home`` decrypts what the server encrypted."""
    return make_key_pair(tmp_path_factory.mktemp("submission-key") / "gnupg")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--database",
        choices=(*BACKENDS, "both"),
        default="both",
        help="run the tests that use the server database on this backend only (default: both)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Only tests that reach the server database (through `instance`, `database_settings`...)
    # have this fixture, so formats, crypto and workstation tests are not run twice.
    if "database_backend" not in metafunc.fixturenames:
        return
    only_on = metafunc.definition.get_closest_marker("only_on")
    backends = only_on.args if only_on else BACKENDS
    metafunc.parametrize("database_backend", backends, indirect=True, scope="session")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    chosen = config.getoption("database")
    if chosen == "both":
        return
    kept: list[pytest.Item] = []
    deselected: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("database_backend") if callspec else None
        (deselected if backend not in (None, chosen) else kept).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


@pytest.fixture(scope="session")
def database_backend(request: pytest.FixtureRequest) -> str:
    """The server database this test runs on: "sqlite" or "postgresql" (test ids say which).

    Every test that depends on it runs on both, so the product code is exercised on each
    backend Skrynka supports. A test that is about one backend only (it opens the SQLite file
    itself, or checks a SQLite pragma) says so with ``@pytest.mark.only_on("sqlite")``.

    The same mark keeps a few slow tests on SQLite alone, to hold `make test` within its time
    budget: each takes 30-130 s per backend here, and what it checks does not depend on the
    database. They are the browser walks through every page in Belarusian and Russian
    (people_browser, languages_browser and the accessibility checks), the kept-alive
    connection and no-plaintext-on-disk tests of gunicorn, the time-stamping job's real pauses
    between tries, the long run of the multipart fuzzer, and time-stamping through the private
    Tor network (its named exit clients start once per session). The database code those pages
    call is covered on PostgreSQL by the Flask-client tests of the same views, the API's
    schemathesis run, the shorter browser tests and the two end-to-end stories, which run on
    both.
    """
    return str(request.param)


@pytest.fixture(scope="session")
def postgres_databases(postgres_server: PostgresServer) -> PostgresDatabases:
    """Fresh migrated databases in this process's cluster, copied from one template."""
    return PostgresDatabases(postgres_server)


def _fresh_database(request: pytest.FixtureRequest, backend: str) -> Iterator[dict[str, str]]:
    if backend != "postgresql":
        yield settings_for("")
        return
    # Looked up here, not declared, so a SQLite-only run never starts PostgreSQL.
    databases: PostgresDatabases = request.getfixturevalue("postgres_databases")
    name, url = databases.create()
    yield settings_for(url)
    databases.drop(name)


@pytest.fixture
def database_settings(
    request: pytest.FixtureRequest, database_backend: str
) -> Iterator[dict[str, str]]:
    """instance.json settings for a fresh, empty database on ``database_backend``.

    Empty for SQLite (the default file in the data dir); ``{"database_url": ...}`` naming a new
    database with the current schema for PostgreSQL. Pass them in ``instance_settings``.
    """
    yield from _fresh_database(request, database_backend)


@pytest.fixture(scope="module")
def module_database_settings(
    request: pytest.FixtureRequest, database_backend: str
) -> Iterator[dict[str, str]]:
    """``database_settings`` for a module-scoped instance (shared by a module's tests)."""
    yield from _fresh_database(request, database_backend)


@pytest.fixture
def instance(
    tmp_path: Path, submission_keypair: KeyPair, database_settings: dict[str, str]
) -> Iterator[Instance]:
    """A freshly initialised dev-mode instance (TESTING KDF) in a temp dir, on each backend."""
    settings = init_instance(
        tmp_path / "data",
        submission_keypair.public_armored,
        dev_mode=True,
        organization_name="Skrynka Test",
        instance_settings={"kdf": "testing", **database_settings},
        env={},
    )
    opened = open_instance(settings)
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def tsa_ca(tmp_path_factory: pytest.TempPathFactory) -> TsaPki:
    """A test PKI: a root CA and a TSA certificate with the critical timeStamping EKU."""
    return make_test_ca(tmp_path_factory.mktemp("tsa-ca"))


@pytest.fixture
def tsa(tsa_ca: TsaPki) -> Iterator[TimestampAuthority]:
    """A real RFC 3161 authority (`openssl ts -reply`) on a loopback port."""
    authority = TimestampAuthority(tsa_ca)
    yield authority
    authority.stop()


@pytest.fixture
def stamping_instance(instance: Instance, tsa: TimestampAuthority) -> Instance:
    """``instance`` with time-stamping on, pointed at ``tsa`` (dev mode: no tor on loopback)."""
    settings = replace(instance.settings, tsa_urls=tsa.url, tsa_ca_file=str(tsa.ca.root_pem),
                       timestamp_interval_minutes=60)
    return replace(instance, settings=settings)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL server on a loopback port; ``.create_database(name)`` gives a URL."""
    server = start_postgres()
    yield server
    server.stop()


@pytest.fixture
def make_gunicorn(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """``make_gunicorn("source_app:create_app()", data_dir, env=None) -> base URL``.

    Runs real gunicorn (gthread workers) on a free loopback port with SKRYNKA_DATA_DIR set;
    every server started is stopped at teardown. Its log is in the test's tmp dir.
    """
    runner = GunicornRunner(tmp_path)
    yield runner.start
    runner.stop_all()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """test-artifacts/: screenshots and logs worth keeping after a run."""
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    return ARTIFACTS_DIR


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's chromium driven by Playwright, headless, for the whole session."""
    from playwright.sync_api import sync_playwright

    if not os.access(CHROMIUM, os.X_OK):
        raise RuntimeError(f"{CHROMIUM} is missing: install the Debian package chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def nojs_page(browser: Any, request: pytest.FixtureRequest, artifacts_dir: Path) -> Iterator[Any]:
    """A page in a fresh context with JavaScript disabled, as at Tor Browser's Safest level.

    A screenshot lands in test-artifacts/ when the test fails.
    """
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        safe_name = "".join(c if c.isalnum() or c in "-_." else "_" for c in request.node.nodeid)
        page.screenshot(path=str(artifacts_dir / f"{safe_name}.png"), full_page=True)
    context.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    # Keep each phase's report on the item so fixtures can react to a failed test.
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
