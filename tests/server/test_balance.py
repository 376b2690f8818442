"""An app server behind an Onionbalance front: what `serve` and `check` refuse, all at once, and
`skrynka onion balance-config` for the front."""

import os
from pathlib import Path

import pytest

from core.settings import Settings, load_settings
from onion.keystore import OnionKeyStore, ServiceRole
from onion.service_key import generate_service_key
from server.balance import balance_problems
from server.cli import main
from tests.support.keys import KeyPair
from tests.support.shared_dir import init_first_machine, update_instance_settings

UNREACHABLE_POSTGRES = "postgresql+psycopg://skrynka@127.0.0.1:1/skrynka"


@pytest.fixture(autouse=True)
def no_skrynka_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("SKRYNKA_"):
            monkeypatch.delenv(name)


def balanced_instance(root: Path, keypair: KeyPair, front: str) -> Settings:
    """A first machine as docs/operations.md sets it up, pointed at a database that is down."""
    data_dir = init_first_machine(root / "data", root / "shared", keypair)
    update_instance_settings(
        data_dir,
        shared_dir=str(root / "shared"),
        onionbalance_front=front,
        database_url=UNREACHABLE_POSTGRES,
    )
    return load_settings({}, data_dir=data_dir)


def test_nothing_to_check_without_a_front(instance) -> None:  # type: ignore[no-untyped-def]
    assert balance_problems(instance.settings, tor_control="127.0.0.1:9051") == []


def test_the_front_must_not_be_this_machines_own_address(
    tmp_path: Path, submission_keypair: KeyPair
) -> None:
    settings = balanced_instance(tmp_path, submission_keypair, generate_service_key().onion_address)
    own = OnionKeyStore(settings.onion_dir).ensure_service_key(ServiceRole.SOURCE)
    settings = load_settings({}, data_dir=settings.data_dir, onionbalance_front=own.onion_address)
    (problem,) = balance_problems(settings)
    assert "this machine's own source address" in problem


def test_a_front_address_with_a_bad_checksum_is_named(
    tmp_path: Path, submission_keypair: KeyPair
) -> None:
    address = generate_service_key().onion_address
    broken = address[:50] + ("a" if address[50] != "a" else "b") + address[51:]
    settings = balanced_instance(tmp_path, submission_keypair, broken)
    (problem,) = balance_problems(settings)
    assert "Onionbalance front address" in problem
    assert "checksum" in problem


def test_serve_names_every_problem_at_once_and_starts_nothing(
    tmp_path: Path, submission_keypair: KeyPair, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = balanced_instance(tmp_path, submission_keypair, generate_service_key().onion_address)
    settings.codename_salt_path.write_bytes(bytes(15))
    code = main(
        ["serve", "--data-dir", str(settings.data_dir), "--tor-control", "unix:/run/tor/control"]
    )
    assert code == 1
    error = capsys.readouterr().err
    assert "codename.salt must hold exactly 16 bytes" in error
    assert "Cannot read the database at" in error
    assert "tor supports only for services in its torrc" in error
    assert not (settings.tor_dir).exists(), "no tor was launched"


def test_balance_config_makes_the_front_then_lists_the_app_servers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    front_dir = tmp_path / "onionbalance"
    assert main(["onion", "balance-config", "--output", str(front_dir)]) == 0
    first = capsys.readouterr().out
    assert "Created the front's key" in first
    front = first.split("Front address (what sources use): http://", 1)[1].split()[0]
    assert f'"onionbalance_front": "{front}"' in first
    assert not (front_dir / "config.yaml").exists()

    instances = [generate_service_key().onion_address for _ in range(2)]
    argv = ["onion", "balance-config", "--output", str(front_dir)]
    assert main([*argv, *(f"--instance={address}" for address in instances)]) == 0
    second = capsys.readouterr().out
    assert "Created the front's key" not in second
    assert f"http://{front}" in second
    config = (front_dir / "config.yaml").read_text()
    assert all(f"address: {address}" in config for address in instances)

    assert main([*argv, "--instance", "not-an-address", "--instance", front]) == 1
    refused = capsys.readouterr().err
    assert "'not-an-address' is not a v3 onion address" in refused
    assert "is the front's own address" in refused
    assert (front_dir / "config.yaml").read_text() == config
