"""Every securedrop-sdk 0.4.0 method against the real journalist app under gunicorn.

The instance is seeded by `skrynka dev-data` logic (5 sources, the development accounts). One
sign-in per account for the whole module: a TOTP code is accepted once, so signing in twice in
the same 30 s step with one account would be (rightly) refused.
"""

import hashlib
import http.client
import re
import subprocess
import uuid as uuid_module
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sdclientapi import API, AuthError, ReplyError, WrongUUIDError
from sdclientapi.sdlocalobjects import Source, Submission

from core.instance import open_instance
from core.settings import load_settings
from core.two_factor import totp_code
from devtools.devdata import DEV_OTP_SECRET, DEV_PASSPHRASE
from source_app import create_app as create_source_app
from tests.source_app.pages import SourceClient
from tests.support.keys import KeyPair

pytestmark = pytest.mark.slow


def current_code() -> str:
    return totp_code(DEV_OTP_SECRET, datetime.now(UTC))


@pytest.fixture(scope="module")
def api(live_server: str) -> API:
    client = API(live_server + "/", "journalist", DEV_PASSPHRASE, current_code(), proxy=False)
    assert client.authenticate() is True
    return client


def encrypt_to(text: str, keys: list[str], work: Path) -> str:
    """Encrypt with the plain gpg command line, as a client would: armored, to both keys."""
    home = work / f"client-gpg-{uuid_module.uuid4().hex[:8]}"
    home.mkdir(mode=0o700)
    args: list[str] = []
    for index, key in enumerate(keys):
        (home / f"{index}.asc").write_text(key)
        args += ["--recipient-file", str(home / f"{index}.asc")]
    result = subprocess.run(
        ["gpg", "--homedir", str(home), "--batch", "--armor", *args, "--encrypt"],
        input=text.encode(),
        capture_output=True,
        check=True,
    )
    return result.stdout.decode()


def test_authenticate_fills_in_the_token_and_names(api: API) -> None:
    assert api.token
    assert api.token_expiration is not None
    assert api.token_journalist_uuid
    assert api.first_name is None
    assert api.last_name is None


def test_bad_credentials_raise_auth_error(live_server: str) -> None:
    wrong = API(live_server + "/", "journalist", "wrong passphrase words here", "123456")
    with pytest.raises(AuthError):
        wrong.authenticate()
    nobody = API(live_server + "/", "nobody", DEV_PASSPHRASE, "123456")
    with pytest.raises(AuthError):
        nobody.authenticate()
    unsigned = API(live_server + "/", "journalist", DEV_PASSPHRASE, "123456")
    with pytest.raises(AuthError):
        unsigned.get_sources()


def test_users_and_current_user(api: API) -> None:
    users = api.get_users()
    assert sorted(u.username for u in users) == ["dellsberg", "journalist"]
    me = api.get_current_user()
    assert me["username"] == "journalist"
    assert me["is_admin"] is True
    assert me["uuid"] == api.token_journalist_uuid
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", me["last_login"])


def test_sources_and_one_source(api: API) -> None:
    sources = api.get_sources()
    assert len(sources) >= 4
    first = sources[0]
    assert first.key["type"] == "PGP"
    assert re.fullmatch(r"[0-9A-F]{40}", first.key["fingerprint"])
    assert first.key["public"].startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
    again = api.get_source(Source(uuid=first.uuid))
    assert again.journalist_designation == first.journalist_designation
    assert api.get_source_from_string(first.uuid).uuid == first.uuid
    with pytest.raises(WrongUUIDError):
        api.get_source(Source(uuid="no-such-source"))
    with pytest.raises(WrongUUIDError):
        api.get_source_from_string(str(uuid_module.uuid4()))


def test_star_unstar_and_flag(api: API) -> None:
    source = api.get_sources()[0]
    assert api.add_star(source) is True
    assert api.get_source(source).is_starred is True
    assert api.remove_star(source) is True
    assert api.get_source(source).is_starred is False
    assert api.flag_source(source) is True
    missing = Source(uuid="no-such-source")
    for method in (api.add_star, api.remove_star, api.flag_source):
        with pytest.raises(WrongUUIDError):
            method(missing)


def test_submissions_and_downloads(api: API, tmp_path: Path, submission_keypair: KeyPair) -> None:
    source = api.get_sources()[0]
    submissions = api.get_submissions(source)
    assert len(submissions) == 4
    assert sum(s.is_file() for s in submissions) == 2
    everything = api.get_all_submissions()
    assert {s.uuid for s in submissions} <= {s.uuid for s in everything}
    one = api.get_submission(submissions[0])
    assert (one.uuid, one.filename, one.size) == (
        submissions[0].uuid,
        submissions[0].filename,
        submissions[0].size,
    )
    by_string = api.get_submission_from_string(submissions[1].uuid, source.uuid)
    assert by_string.filename == submissions[1].filename
    for submission in submissions:
        etag, path = api.download_submission(submission, str(tmp_path))
        data = Path(path).read_bytes()
        assert etag == "sha256:" + hashlib.sha256(data).hexdigest()
        assert len(data) == submission.size
        decrypted = subprocess.run(
            ["gpg", "--homedir", str(submission_keypair.secret_home), "--batch", "--decrypt"],
            input=data,
            capture_output=True,
            check=True,
        ).stdout
        assert decrypted
    with pytest.raises(WrongUUIDError):
        api.get_submissions(Source(uuid="no-such-source"))
    ghost = Submission(uuid="no-such-submission")
    ghost.source_uuid = source.uuid
    for method in (api.get_submission, api.download_submission, api.delete_submission):
        with pytest.raises(WrongUUIDError):
            method(ghost)


def test_etag_header_is_spelled_etag_on_the_wire(api: API, live_server: str) -> None:
    submission = api.get_all_submissions()[0]
    address = urlsplit(live_server)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    connection.request(
        "GET", submission.download_url, headers={"Authorization": f"Token {api.token}"}
    )
    response = connection.getresponse()
    body = response.read()
    connection.close()
    names = [name for name, _ in response.getheaders()]
    assert "Etag" in names
    assert dict(response.getheaders())["Etag"] == "sha256:" + hashlib.sha256(body).hexdigest()
    assert "Set-Cookie" not in names


def test_replies_from_a_client_are_read_by_the_source(
    api: API, live_data_dir: Path, tmp_path: Path, submission_keypair: KeyPair
) -> None:
    """Encrypt with plain gpg to the API's key and the submission key; the source reads it."""
    codename_file = live_data_dir / "codenames.txt"
    codename = codename_file.read_text().splitlines()[0]
    instance = open_instance(load_settings(data_dir=live_data_dir))
    try:
        source_app = create_source_app(instance=instance)
        source_app.config["TESTING"] = True
        visitor = SourceClient(source_app.test_client())
        assert visitor.login(codename).status_code in (302, 303)
        target = _source_of_codename(api, instance, codename)
        text = f"Thank you, we read your files. Marker {uuid_module.uuid4().hex}"
        armored = encrypt_to(
            text, [target.key["public"], submission_keypair.public_armored], tmp_path
        )
        chosen = str(uuid_module.uuid4())
        reply = api.reply_source(target, armored, chosen)
        assert reply.uuid == chosen
        assert reply.filename.endswith("-reply.gpg")
        page = visitor.lookup().text
        assert text in page
    finally:
        instance.close()
    listed = api.get_replies_from_source(target)
    assert chosen in [r.uuid for r in listed]
    fetched = api.get_reply_from_source(target, chosen)
    assert fetched.journalist_username == "journalist"
    etag, path = api.download_reply(fetched, str(tmp_path))
    assert Path(path).read_bytes() == armored.encode()
    assert etag == "sha256:" + hashlib.sha256(armored.encode()).hexdigest()
    assert chosen in [r.uuid for r in api.get_all_replies()]


def _source_of_codename(api: API, instance, codename: str) -> Source:  # type: ignore[no-untyped-def]
    from core.models import Source as SourceRow
    from core.sources import authenticate_source

    login = authenticate_source(instance, codename)
    with instance.sessions() as db:
        uuid = db.get(SourceRow, login.id).uuid
    return api.get_source_from_string(uuid)


def test_plaintext_reply_and_reused_uuid_are_refused(
    api: API, tmp_path: Path, submission_keypair: KeyPair
) -> None:
    source = api.get_sources()[1]
    with pytest.raises(ReplyError):
        api.reply_source(source, "this is not encrypted")
    with pytest.raises(ReplyError):
        # Encrypted to the source only: the workstation could never read the conversation.
        api.reply_source(source, encrypt_to("once", [source.key["public"]], tmp_path))
    armored = encrypt_to("once", [source.key["public"], submission_keypair.public_armored],
                         tmp_path)
    chosen = str(uuid_module.uuid4())
    assert api.reply_source(source, armored, chosen).uuid == chosen
    with pytest.raises(ReplyError):
        api.reply_source(source, armored, chosen)
    with pytest.raises(WrongUUIDError):
        api.get_replies_from_source(Source(uuid="no-such-source"))
    with pytest.raises(WrongUUIDError):
        api.get_reply_from_source(source, "no-such-reply")


def test_seen(api: API) -> None:
    submissions = api.get_all_submissions()
    files = [s.uuid for s in submissions if s.is_file()][:2]
    messages = [s.uuid for s in submissions if not s.is_file()][:2]
    replies = [r.uuid for r in api.get_all_replies()][:2]
    answer = api.seen(files, messages, replies)
    assert "resources marked seen" in answer
    me = api.token_journalist_uuid
    refreshed = {s.uuid: s for s in api.get_all_submissions()}
    assert all(me in refreshed[u].seen_by and refreshed[u].is_read for u in files + messages)
    with pytest.raises(WrongUUIDError):
        api.seen([str(uuid_module.uuid4())], [], [])


def test_deletions(api: API) -> None:
    sources = api.get_sources()
    victim = sources[-1]
    submissions = api.get_submissions(victim)
    assert api.delete_submission(submissions[0]) is True
    assert submissions[0].uuid not in [s.uuid for s in api.get_submissions(victim)]
    # The SDK builds this URL from a field it never sets (source_uuid stays empty), so the
    # request names no source: a 404, as against SecureDrop.
    with pytest.raises(WrongUUIDError):
        api.delete_submission_from_string(submissions[1].uuid, victim.uuid)
    replies = api.get_replies_from_source(victim)
    assert api.delete_reply(replies[0]) is True
    with pytest.raises(WrongUUIDError):
        api.delete_reply(replies[0])
    assert api.delete_conversation(victim.uuid) is True
    assert api.get_submissions(victim) == []
    assert api.get_source(victim).uuid == victim.uuid
    with pytest.raises(WrongUUIDError):
        api.delete_conversation("no-such-source")
    assert api.delete_source(victim) is True
    with pytest.raises(WrongUUIDError):
        api.get_source(victim)
    second = sources[-2]
    assert api.delete_source_from_string(second.uuid) is True
    with pytest.raises(WrongUUIDError):
        api.delete_source_from_string(second.uuid)


def test_logout_revokes_the_token(live_server: str) -> None:
    other = API(live_server + "/", "dellsberg", DEV_PASSPHRASE, current_code(), proxy=False)
    assert other.authenticate() is True
    assert other.get_current_user()["username"] == "dellsberg"
    assert other.logout() is True
    with pytest.raises(AuthError):
        other.get_sources()
