"""/metadata and /public-key: what SecureDrop-compatible tools read about an instance."""

from flask import Flask
from flask.testing import FlaskClient

from core.instance import Instance
from tests.support.keys import KeyPair


def test_metadata_describes_the_instance(
    app: Flask, client: FlaskClient, instance: Instance
) -> None:
    response = client.get("/metadata")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    document = response.get_json()
    assert document["organization_name"] == "Skrynka Test"
    assert document["allow_document_uploads"] is True
    assert document["gpg_fpr"] == instance.submission_fingerprint
    assert document["sd_version"]
    assert document["supported_languages"] == ["be", "ru", "en"]
    assert document["v3_source_url"] is None
    # Nothing about the machine: no operating system or release.
    assert "server_os" not in document


def test_metadata_shows_the_source_onion_address_once_it_exists(
    client: FlaskClient, instance: Instance
) -> None:
    service = instance.settings.onion_dir / "source"
    service.mkdir(parents=True, mode=0o700)
    address = "a" * 56 + ".onion"
    (service / "hostname").write_text(address + "\n")
    assert client.get("/metadata").get_json()["v3_source_url"] == f"http://{address}"


def test_public_key_is_the_submission_public_key(
    client: FlaskClient, submission_keypair: KeyPair
) -> None:
    response = client.get("/public-key")
    assert response.status_code == 200
    assert response.mimetype == "application/pgp-keys"
    assert response.text.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
    assert "PRIVATE" not in response.text
    import subprocess

    shown = subprocess.run(
        ["gpg", "--batch", "--with-colons", "--show-keys"],
        input=response.data,
        capture_output=True,
        check=True,
    ).stdout.decode()
    assert f"fpr:::::::::{submission_keypair.fingerprint}:" in shown
