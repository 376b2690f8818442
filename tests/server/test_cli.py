"""The `skrynka` command as an operator uses it: init, check, demo, serve and stop."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import requests

from core.instance import Instance
from crypto.encryption import encrypt_bytes
from crypto.signing import Signer
from crypto.types import Fingerprint
from server.cli import ask_default_language, main
from server.serve import answers_http
from tests.source_app.http_source import HttpSource
from tests.support.keys import KeyPair, export_secret_armored, import_into, stop_agent
from tests.support.ports import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
TINY_APP = "tests.support.tiny_app:create_app()"


@pytest.fixture
def key_file(tmp_path: Path, submission_keypair: KeyPair) -> Path:
    path = tmp_path / "submission.asc"
    path.write_text(submission_keypair.public_armored)
    return path


@pytest.fixture
def no_skrynka_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("SKRYNKA_"):
            monkeypatch.delenv(name)


@pytest.fixture
def database_env(
    monkeypatch: pytest.MonkeyPatch, no_skrynka_env: None, database_settings: dict[str, str]
) -> None:
    """SKRYNKA_DATABASE_URL naming a fresh database on each backend (none for SQLite)."""
    if "database_url" in database_settings:
        monkeypatch.setenv("SKRYNKA_DATABASE_URL", database_settings["database_url"])


def test_init_then_check_says_ok(
    tmp_path: Path, key_file: Path, capsys: pytest.CaptureFixture[str], database_env: None
) -> None:
    data = tmp_path / "data"
    assert main(["init", "--data-dir", str(data), "--submission-key", str(key_file)]) == 0
    assert "Created a Skrynka instance" in capsys.readouterr().out
    assert main(["check", "--data-dir", str(data)]) == 0
    assert capsys.readouterr().out == "ok\n"
    # --data-dir also works before the sub-command.
    assert main(["--data-dir", str(data), "check"]) == 0


@pytest.mark.parametrize("language", ["be", "ru", "en"])
def test_init_sets_the_language_sources_see_first(
    tmp_path: Path,
    key_file: Path,
    capsys: pytest.CaptureFixture[str],
    no_skrynka_env: None,
    language: str,
) -> None:
    data = tmp_path / "data"
    argv = ["init", "--data-dir", str(data), "--submission-key", str(key_file)]
    assert main([*argv, "--default-language", language]) == 0
    assert f"Sources first see the site in: {language}" in capsys.readouterr().out
    document = json.loads((data / "instance.json").read_text())
    assert document["settings"]["source_default_locale"] == language


def test_init_asks_for_the_language_until_the_answer_is_one_it_knows(
    capsys: pytest.CaptureFixture[str],
) -> None:
    answers = iter(["de", " RU "])
    assert ask_default_language(lambda _prompt: next(answers), interactive=True) == "ru"
    assert "Please answer one of be, ru, en." in capsys.readouterr().out
    assert ask_default_language(lambda _prompt: "", interactive=True) == "be"
    assert ask_default_language(interactive=False) == "be"


def test_init_refuses_an_unknown_language_and_creates_nothing(
    tmp_path: Path, key_file: Path, no_skrynka_env: None
) -> None:
    data = tmp_path / "data"
    argv = ["init", "--data-dir", str(data), "--submission-key", str(key_file)]
    with pytest.raises(SystemExit):
        main([*argv, "--default-language", "de"])
    assert not data.exists()


def test_check_keys_prints_what_the_workstation_pins(
    tmp_path: Path,
    key_file: Path,
    submission_keypair: KeyPair,
    capsys: pytest.CaptureFixture[str],
    no_skrynka_env: None,
) -> None:
    data = tmp_path / "data"
    main(["init", "--data-dir", str(data), "--submission-key", str(key_file)])
    capsys.readouterr()
    assert main(["check", "--keys", "--data-dir", str(data)]) == 0
    lines = dict(line.split(":", 1) for line in capsys.readouterr().out.splitlines()[1:])
    signer = Signer((data / "secrets" / "signing.key").read_bytes())
    assert lines["server signing public key"].strip() == signer.public_key.hex()
    assert lines["server signing key fingerprint"].strip() == signer.fingerprint
    assert lines["submission key fingerprint"].strip() == submission_keypair.fingerprint


def test_check_lists_every_problem_and_fails(
    tmp_path: Path, key_file: Path, capsys: pytest.CaptureFixture[str], no_skrynka_env: None
) -> None:
    data = tmp_path / "data"
    main(["init", "--data-dir", str(data), "--submission-key", str(key_file)])
    (data / "secrets" / "signing.key").unlink()
    os.chmod(data / "store", 0o755)  # noqa: S103 (the mistake under test)
    capsys.readouterr()
    assert main(["check", "--data-dir", str(data)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert any("signing.key is missing" in line for line in lines)
    assert any("chmod 700" in line for line in lines)


def test_init_refuses_a_secret_key_and_leaves_nothing(
    tmp_path: Path,
    submission_keypair: KeyPair,
    capsys: pytest.CaptureFixture[str],
    no_skrynka_env: None,
) -> None:
    secret = tmp_path / "secret.asc"
    secret.write_text(export_secret_armored(submission_keypair))
    data = tmp_path / "data"
    assert main(["init", "--data-dir", str(data), "--submission-key", str(secret)]) == 1
    assert "SECRET key" in capsys.readouterr().err
    assert not data.exists()


def test_init_names_an_unreadable_key_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_skrynka_env: None
) -> None:
    missing = tmp_path / "nope.asc"
    assert main(["init", "--data-dir", str(tmp_path / "d"), "--submission-key", str(missing)]) == 1
    assert "Cannot read the submission key file" in capsys.readouterr().err


def test_a_missing_data_dir_is_explained(
    capsys: pytest.CaptureFixture[str], no_skrynka_env: None
) -> None:
    assert main(["check"]) == 1
    assert "--data-dir" in capsys.readouterr().err


def test_no_command_prints_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: skrynka" in capsys.readouterr().err


class Running:
    """A `skrynka` process started by a test; always stopped at teardown."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", *args],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )

    def wait_answering(self, *ports: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not all(answers_http(p) for p in ports):
            if self.process.poll() is not None or time.monotonic() > deadline:
                output = self.stop_output()
                pytest.fail(f"skrynka did not start serving:\n{output}")
            time.sleep(0.2)

    def stop_output(self) -> str:
        if self.process.poll() is None:
            self.process.kill()
        out, _ = self.process.communicate(timeout=60)
        return out


@pytest.fixture
def running() -> Iterator[list[Running]]:
    started: list[Running] = []
    yield started
    for item in started:
        if item.process.poll() is None:
            for child in psutil.Process(item.process.pid).children(recursive=True):
                child.kill()
            item.process.kill()
            item.process.wait()


def serve_args(data: Path, source: int, journalist: int, app: str = TINY_APP) -> list[str]:
    return [
        "--data-dir",
        str(data),
        "--source-port",
        str(source),
        "--journalist-port",
        str(journalist),
        "--source-app",
        app,
        "--journalist-app",
        app,
    ]


@pytest.mark.slow
def test_serve_without_tor_answers_on_both_ports_and_stops_on_sigterm(
    instance: Instance, running: list[Running], tmp_path: Path
) -> None:
    data = instance.settings.data_dir
    source, journalist = free_port(), free_port()
    server = Running(["serve", "--no-tor", *serve_args(data, source, journalist)])
    running.append(server)
    server.wait_answering(source, journalist)
    for port in (source, journalist):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
            # The apps were started for this instance's data dir.
            assert response.read().decode() == str(data)
    gunicorns = psutil.Process(server.process.pid).children(recursive=True)
    assert len(gunicorns) >= 4  # two masters, at least one worker each
    listening = {
        c.laddr
        for g in gunicorns
        for c in g.net_connections(kind="tcp")
        if c.status == psutil.CONN_LISTEN
    }
    assert {a.ip for a in listening} == {"127.0.0.1"}

    started = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=45) == 0
    assert time.monotonic() - started < 30
    assert not any(g.is_running() and g.status() != psutil.STATUS_ZOMBIE for g in gunicorns)
    assert not answers_http(source)
    assert not answers_http(journalist)
    output = server.stop_output()
    assert f"source interface: loopback port {source}" in output


MARKER_PATH = "/where-the-source-went-5c1e"
MARKER_AGENT = "Mozilla/5.0 (SourceMarker 5c1e) Gecko/20100101 Firefox/128.0"


@pytest.mark.slow
def test_serve_logs_no_client_address_request_path_or_user_agent(
    instance: Instance, running: list[Running]
) -> None:
    data = instance.settings.data_dir
    source, journalist = free_port(), free_port()
    ports = ["--source-port", str(source), "--journalist-port", str(journalist)]
    server = Running(["serve", "--no-tor", "--data-dir", str(data), *ports])
    running.append(server)
    server.wait_answering(source, journalist)

    visitor = HttpSource(f"http://127.0.0.1:{source}")
    visitor.http.headers["User-Agent"] = MARKER_AGENT
    assert visitor.http.get(visitor.base_url + "/", timeout=30).status_code == 200
    assert visitor.http.get(visitor.base_url + MARKER_PATH, timeout=30).status_code == 404
    visitor.create()
    assert visitor.submit("a message for the log test", ("report.txt", b"evidence")).ok
    staff = requests.Session()
    staff.headers["User-Agent"] = MARKER_AGENT
    base = f"http://127.0.0.1:{journalist}"
    assert staff.get(base + "/login", timeout=30).status_code == 200
    assert staff.get(base + MARKER_PATH, timeout=30).status_code == 404
    # Garbage instead of HTTP: gunicorn's own "Invalid request from ip=..." line.
    with socket.create_connection(("127.0.0.1", source), timeout=10) as connection:
        connection.sendall(b"NONSENSE " + MARKER_PATH.encode() + b" HTTP/9\r\n\r\n")
        connection.recv(4096)

    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=45) == 0
    output = server.stop_output()
    assert "Listening on loopback port" in output  # gunicorn's log was captured
    assert "Invalid request (details withheld)" in output
    assert "127.0.0.1" not in output
    assert MARKER_PATH.strip("/") not in output
    assert "SourceMarker" not in output
    assert "Mozilla" not in output
    for path in ("/generate", "/create", "/lookup", "/submit", "/login"):
        assert path not in output, path


def test_serve_refuses_an_unhealthy_instance_before_starting(
    instance: Instance, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = instance.settings
    settings.codename_salt_path.unlink()
    port = free_port()
    code = main(["serve", "--no-tor", *serve_args(settings.data_dir, port, free_port())])
    assert code == 1
    assert "codename.salt is missing" in capsys.readouterr().err
    assert not answers_http(port)


@pytest.mark.slow
def test_demo_creates_an_instance_whose_ciphertext_the_demo_key_opens(
    tmp_path: Path, running: list[Running]
) -> None:
    data = tmp_path / "demo-data"
    source, journalist = free_port(), free_port()
    demo = Running(["demo", *serve_args(data, source, journalist)])
    running.append(demo)
    demo.wait_answering(source, journalist)
    demo.process.send_signal(signal.SIGINT)
    assert demo.process.wait(timeout=45) == 0
    output = demo.stop_output()
    assert "THIS IS NOT A REAL INSTANCE" in output

    workstation = data / "demo-workstation"
    # The banner and the saved notes name the journalist port asked for, not the default.
    address = f"Journalist interface: http://127.0.0.1:{journalist}/"
    assert address in output
    assert address in (workstation / "DEMO.txt").read_text()
    assert ":8081" not in output
    assert ":8081" not in (workstation / "DEMO.txt").read_text()
    assert "AIR-GAPPED WORKSTATION" in (workstation / "README.txt").read_text()
    assert (workstation / "submission-key.secret.asc").stat().st_mode & 0o077 == 0
    assert main(["check", "--data-dir", str(data)]) == 0  # no secret key on the server side

    fingerprint = Fingerprint(
        json.loads((data / "instance.json").read_text())["submission_key_fingerprint"]
    )
    ciphertext = encrypt_bytes(data / "gnupg", [fingerprint], b"demo round trip")
    # As the README in demo-workstation/ says: import the secret key into a scratch keyring.
    scratch = Path(tempfile.mkdtemp(prefix="ws-"))
    try:
        import_into(scratch, (workstation / "submission-key.secret.asc").read_text())
        decrypted = subprocess.run(
            ["gpg", "--homedir", str(scratch), "--batch", "--decrypt"],
            input=ciphertext,
            capture_output=True,
            check=True,
        ).stdout
    finally:
        stop_agent(scratch)
        shutil.rmtree(scratch)
    assert decrypted == b"demo round trip"

    # A second run serves the same instance instead of making a new one.
    again = Running(["demo", *serve_args(data, source, journalist)])
    running.append(again)
    again.wait_answering(source)
    again.process.send_signal(signal.SIGTERM)
    assert again.process.wait(timeout=45) == 0
    assert "Creating a demo instance" not in again.stop_output()
    assert json.loads((data / "instance.json").read_text())["submission_key_fingerprint"] == (
        fingerprint
    )


@pytest.mark.tor
@pytest.mark.slow
def test_serve_publishes_the_source_onion_and_stops_its_tor_on_sigterm(
    instance: Instance, running: list[Running]
) -> None:
    source, journalist = free_port(), free_port()
    args = serve_args(instance.settings.data_dir, source, journalist)
    # An offline tor: the service is created locally; nothing is uploaded to the network.
    server = Running(["serve", *args, "--tor-option", "DisableNetwork 1"])
    running.append(server)
    server.wait_answering(source, journalist, timeout=90)
    deadline = time.monotonic() + 60
    tors: list[psutil.Process] = []
    while not tors and time.monotonic() < deadline:
        children = psutil.Process(server.process.pid).children(recursive=True)
        tors = [c for c in children if c.name() == "tor"]
        time.sleep(0.2)
    assert tors, "serve launched no tor"
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=60) == 0
    output = server.stop_output()
    assert re.search(r"source onion service: +http://[a-z2-7]{56}\.onion", output), output
    assert "not published until a staff device is authorised" in output
    psutil.wait_procs(tors, timeout=15)
    assert not any(t.is_running() and t.status() != psutil.STATUS_ZOMBIE for t in tors)
