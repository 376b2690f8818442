"""`skrynka-workstation desk`: a real waitress server on 127.0.0.1 only, one launch URL."""

from __future__ import annotations

import http.cookiejar
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.support.workstation import Workstation
from workstation_app.command import main

COMMAND = Path(sys.executable).with_name("skrynka-workstation")


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "localhost", "127.0.0.2"])  # noqa: S104
def test_the_desk_refuses_any_address_but_127_0_0_1(
    workstation: Workstation, host: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["desk", "--store", str(workstation.store), "--host", host, "--port", "0"])
    err = capsys.readouterr().err
    assert code == 2
    assert "listens only on 127.0.0.1" in err
    assert "Traceback" not in err


def test_a_busy_port_is_reported_plainly(
    workstation: Workstation, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["desk", "--store", str(workstation.store), "--port", str(port)])
    assert code == 2
    assert "already running" in capsys.readouterr().err


def test_a_missing_store_is_reported_plainly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["desk", "--store", str(tmp_path / "none"), "--port", "0"]) == 6
    assert "no evidence store" in capsys.readouterr().err


@pytest.fixture
def running_desk(workstation: Workstation) -> Iterator[tuple[subprocess.Popen[str], str]]:
    process = subprocess.Popen(
        [str(COMMAND), "desk", "--store", str(workstation.store), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "SKRYNKA_WORKSTATION_STORE": ""},
    )
    assert process.stdout is not None
    url = ""
    for _ in range(10):
        line = process.stdout.readline()
        if "/launch/" in line:
            url = line.strip()
            break
    assert url.startswith("http://127.0.0.1:"), url or process.stderr.read()
    yield process, url
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        # A loaded machine may be slow to stop it; the test's verdict is already in.
        process.kill()
        process.wait()


def _opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))


def _status(opener: urllib.request.OpenerDirector, url: str) -> tuple[int, str, str]:
    try:
        with opener.open(url, timeout=10) as response:
            return response.status, response.geturl(), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, url, error.read().decode()


@pytest.mark.slow
def test_the_printed_url_opens_the_desk_once_and_nothing_else_does(
    running_desk: tuple[subprocess.Popen[str], str],
) -> None:
    process, url = running_desk
    base = url.split("/launch/")[0]
    browser = _opener()

    status, landed, page = _status(browser, url)
    assert (status, landed) == (200, f"{base}/who")
    assert "Who is working?" in page

    assert _status(_opener(), url)[0] == 403  # used once: nobody else gets in with it
    assert _status(_opener(), f"{base}/")[0] == 403  # no cookie
    assert _status(browser, f"{base}/who")[0] == 200  # the officer's session goes on

    listening = [c for c in psutil.Process(process.pid).net_connections("inet")
                 if c.status == psutil.CONN_LISTEN]
    assert [c.laddr.ip for c in listening] == ["127.0.0.1"]
