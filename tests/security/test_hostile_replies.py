"""Replies a stolen staff token or a broken client could send, against both apps under gunicorn.

A reply the source cannot read must never be stored (the API checks its packets with gpg), and
whatever is stored must never take the source's page down or a worker's memory with it: each
reply is decrypted on its own, and gpg is stopped once a reply's plaintext passes the cap.
"""

import json
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import psutil
import pytest
import requests
from sqlalchemy import func, select

from core.instance import Instance
from core.models import Journalist, Reply, Source
from core.replies import store_reply
from core.staff_sessions import open_session
from tests.source_app.http_source import HttpSource
from tests.support.keys import KeyPair, make_key_pair
from tests.support.staff import StaffAccount

SOURCE_APP = "source_app:create_app()"
JOURNALIST_APP = "journalist_app:create_app()"
MIB = 1024 * 1024


class Encryptor:
    """The plain gpg command line, as a client (or an attacker with a token) would use it."""

    def __init__(self, home: Path) -> None:
        self.home = home

    def run(self, *args: str, stdin: bytes = b"") -> bytes:
        result = subprocess.run(
            ["gpg", "--homedir", str(self.home), "--batch", "--trust-model", "always", *args],
            input=stdin,
            capture_output=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr.decode()
        return result.stdout

    def key_file(self, armored: str) -> str:
        fd, name = tempfile.mkstemp(suffix=".asc", dir=self.home)
        with os.fdopen(fd, "w") as handle:
            handle.write(armored)
        return name

    def encrypt(self, plaintext: bytes, keys: list[str], *extra: str) -> str:
        recipients = [arg for key in keys for arg in ("--recipient-file", self.key_file(key))]
        return self.run("--armor", *extra, "--encrypt", *recipients, stdin=plaintext).decode()


@pytest.fixture
def encryptor() -> Iterator[Encryptor]:
    home = Path(tempfile.mkdtemp(prefix="skr-enc-", dir="/tmp"))
    os.chmod(home, 0o700)
    yield Encryptor(home)
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False)
    subprocess.run(["rm", "-rf", str(home)], check=False)


@pytest.fixture(scope="module")
def stranger_key(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    return make_key_pair(tmp_path_factory.mktemp("stranger") / "gnupg", "Someone else")


@pytest.fixture
def servers(instance: Instance, make_gunicorn: Callable[..., str]) -> tuple[str, str]:
    data_dir = instance.settings.data_dir
    return make_gunicorn(SOURCE_APP, data_dir), make_gunicorn(JOURNALIST_APP, data_dir)


def api_token(instance: Instance, account: StaffAccount) -> dict[str, str]:
    with instance.sessions() as db:
        journalist = db.scalars(
            select(Journalist).where(Journalist.username == account.username)
        ).one()
        token, _ = open_session(db, journalist, kind="api", lifetime=timedelta(hours=1))
        db.commit()
    return {"Authorization": f"Token {token}", "Content-Type": "application/json"}


def reply_count(instance: Instance) -> int:
    with instance.sessions() as db:
        return int(db.scalar(select(func.count()).select_from(Reply)) or 0)


def the_source(api: str, headers: dict[str, str]) -> dict[str, object]:
    [source] = requests.get(f"{api}/api/v1/sources", headers=headers, timeout=30).json()["sources"]
    return dict(source)


def worker_peak_rss(base_url: str) -> int:
    """The highest resident size (VmHWM) of the gunicorn worker serving ``base_url``."""
    port = int(base_url.rsplit(":", 1)[1])
    for process in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if "gunicorn" in cmdline and f":{port}" in cmdline:
            for child in process.children():
                status = Path(f"/proc/{child.pid}/status").read_text()
                for line in status.splitlines():
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) * 1024
    raise AssertionError(f"no gunicorn worker for {base_url}")


def test_replies_the_source_could_not_read_are_refused_by_the_api(
    instance: Instance,
    servers: tuple[str, str],
    staff_account: StaffAccount,
    submission_keypair: KeyPair,
    stranger_key: KeyPair,
    encryptor: Encryptor,
) -> None:
    source_url, api = servers
    visitor = HttpSource(source_url)
    visitor.create()
    assert visitor.submit("A first message, so that staff can see this source.").ok
    headers = api_token(instance, staff_account)
    source = the_source(api, headers)
    source_key = source["key"]["public"]  # type: ignore[index]
    submission_key = submission_keypair.public_armored
    literal = encryptor.run("--armor", "--store", stdin=b"read me").decode()
    symmetric = encryptor.run(
        "--armor", "--symmetric", "--passphrase", "x", "--pinentry-mode", "loopback",
        stdin=b"read me",
    ).decode()
    binary_inside_armor = encryptor.encrypt(b"x", [source_key, submission_key])
    # A good message wrapped in a compressed packet: gpg would inflate it before decrypting.
    recipients = [a for k in (source_key, submission_key)
                  for a in ("--recipient-file", encryptor.key_file(k))]
    inner = encryptor.run("--encrypt", *recipients, stdin=b"x")
    compressed_outside = encryptor.run(
        "--armor", "--compress-algo", "zlib", "-z", "9", "--store", stdin=inner
    ).decode()
    hostile = {
        "junk after the armor line": "-----BEGIN PGP MESSAGE-----\n\nnot a message at all\n"
        "-----END PGP MESSAGE-----\n",
        "only the source's key": encryptor.encrypt(b"half", [source_key]),
        "only the submission key": encryptor.encrypt(b"half", [submission_key]),
        "a third recipient": encryptor.encrypt(
            b"leak", [source_key, submission_key, stranger_key.public_armored]
        ),
        "a stranger instead of the source": encryptor.encrypt(
            b"wrong", [stranger_key.public_armored, submission_key]
        ),
        "hidden recipients": encryptor.encrypt(
            b"who", [source_key, submission_key], "--throw-keyids"
        ),
        "plain literal data": literal,
        "a passphrase instead of keys": symmetric,
        "two messages in one": binary_inside_armor + binary_inside_armor,
        "a compressed packet around the message": compressed_outside,
    }
    for attack, armored in hostile.items():
        response = requests.post(
            f"{api}{source['replies_url']}",
            data=json.dumps({"reply": armored}),
            headers=headers,
            timeout=30,
        )
        assert response.status_code == 400, (attack, response.text)
        assert "Encrypt it" in response.json()["message"], attack
        assert reply_count(instance) == 0, attack
    good = encryptor.encrypt("Дзякуй, мы атрымалі.".encode(), [source_key, submission_key])
    stored = requests.post(
        f"{api}{source['replies_url']}",
        data=json.dumps({"reply": good}),
        headers=headers,
        timeout=30,
    )
    assert stored.status_code == 201, stored.text
    assert "Дзякуй, мы атрымалі." in visitor.http.get(f"{source_url}/lookup", timeout=30).text


def test_an_unreadable_reply_and_a_compression_bomb_leave_the_page_and_the_worker_whole(
    instance: Instance,
    servers: tuple[str, str],
    staff_account: StaffAccount,
    submission_keypair: KeyPair,
    stranger_key: KeyPair,
    encryptor: Encryptor,
) -> None:
    source_url, api = servers
    visitor = HttpSource(source_url)
    visitor.create()
    assert visitor.submit("A first message, so that staff can see this source.").ok
    headers = api_token(instance, staff_account)
    source = the_source(api, headers)
    keys = [source["key"]["public"], submission_keypair.public_armored]  # type: ignore[index]
    before = visitor.http.get(f"{source_url}/lookup", timeout=30)
    assert before.status_code == 200
    baseline = worker_peak_rss(source_url)
    # Compression inside the encryption is invisible to the server: this passes the API's check.
    bomb = encryptor.encrypt(bytes(256 * MIB), keys, "--compress-algo", "zlib", "-z", "9")
    assert len(bomb) < 2 * MIB
    for text in ("first reply", None, "third reply"):
        armored = bomb if text is None else encryptor.encrypt(text.encode(), keys)
        response = requests.post(
            f"{api}{source['replies_url']}",
            data=json.dumps({"reply": armored}),
            headers=headers,
            timeout=60,
        )
        assert response.status_code == 201, response.text
    # A reply stored before the API checked packets (or planted on the server): wrong key.
    with instance.sessions() as db:
        row = db.scalars(select(Source)).one()
        author = db.scalars(select(Journalist)).one()
        planted = encryptor.encrypt(b"for someone else", [stranger_key.public_armored])
        store_reply(db, instance, source=row, journalist=author, ciphertext=planted.encode())
        db.commit()
    page = visitor.http.get(f"{source_url}/lookup", timeout=120)
    assert page.status_code == 200
    assert "first reply" in page.text
    assert "third reply" in page.text
    assert page.text.count("One reply could not be read.") == 2
    assert 'name="msg"' in page.text  # the submit form is still there
    assert page.text.count('name="reply_uuid"') == 4  # and every reply can be deleted
    assert worker_peak_rss(source_url) - baseline < 64 * MIB
