"""Settings: defaults, where values come from, and one error naming every problem."""

import json
from pathlib import Path

import pytest

from core.errors import SettingsError
from core.settings import load_settings
from crypto.kdf import PRODUCTION, TESTING


def write_instance(data_dir: Path, **document: object) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    base: dict[str, object] = {"format": "skrynka-instance", "version": 1, "instance_id": "abc"}
    base.update(document)
    (data_dir / "instance.json").write_text(json.dumps(base))


def test_defaults_are_the_documented_ones(tmp_path: Path) -> None:
    settings = load_settings({"SKRYNKA_DATA_DIR": str(tmp_path)})
    assert settings.data_dir == tmp_path
    assert settings.database_url == f"sqlite:///{tmp_path}/db.sqlite"
    assert (settings.source_port, settings.journalist_port) == (8080, 8081)
    assert settings.max_upload_bytes == 500 * 1024 * 1024
    assert settings.kdf == PRODUCTION
    assert settings.source_session_minutes == settings.journalist_session_minutes == 120
    assert settings.csrf_time_limit_seconds == 120 * 60
    assert settings.dev_mode is False
    assert settings.ram_dir == Path("/dev/shm")
    assert (settings.login_attempt_limit, settings.login_attempt_window_seconds) == (5, 60)


def test_paths_hang_off_the_data_dir(tmp_path: Path) -> None:
    settings = load_settings({}, data_dir=tmp_path)
    assert settings.gnupg_home == tmp_path / "gnupg"
    assert settings.store_dir == tmp_path / "store"
    assert settings.tmp_dir == tmp_path / "tmp"
    assert settings.secrets_dir == tmp_path / "secrets"
    assert settings.onion_dir == tmp_path / "onion"
    assert settings.logo_path == tmp_path / "logo.png"


def test_environment_overrides_instance_file_and_code_overrides_both(tmp_path: Path) -> None:
    write_instance(tmp_path, settings={"source_port": 9000, "journalist_port": 9001})
    env = {"SKRYNKA_DATA_DIR": str(tmp_path), "SKRYNKA_JOURNALIST_PORT": "9100"}
    settings = load_settings(env, source_session_minutes=30)
    assert settings.source_port == 9000
    assert settings.journalist_port == 9100
    assert settings.source_session_minutes == 30
    assert settings.csrf_time_limit_seconds == 30 * 60


def test_instance_file_supplies_identity_and_mode(tmp_path: Path) -> None:
    write_instance(
        tmp_path, dev_mode=True, submission_key_fingerprint="A" * 40, settings={"kdf": "testing"}
    )
    settings = load_settings({}, data_dir=tmp_path)
    assert settings.dev_mode is True
    assert settings.instance_id == "abc"
    assert settings.submission_key_fingerprint == "A" * 40
    assert settings.kdf == TESTING


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    env = {
        "SKRYNKA_DATA_DIR": str(tmp_path),
        "SKRYNKA_SOURCE_PORT": "eighty",
        "SKRYNKA_JOURNALIST_PORT": "70000",
        "SKRYNKA_MAX_UPLOAD_BYTES": "0",
        "SKRYNKA_KDF": "testing",
        "SKRYNKA_MAX_UPLAOD_BYTES": "5",
        "SKRYNKA_DATABASE_URL": "not a url",
        "SKRYNKA_RAM_DIR": "relative/dir",
    }
    with pytest.raises(SettingsError) as caught:
        load_settings(env)
    message = str(caught.value)
    assert "SKRYNKA_SOURCE_PORT must be a whole number, not 'eighty'" in message
    assert "SKRYNKA_MAX_UPLAOD_BYTES" in message
    # The unparsable value stops type checks; fix it and the next round shows the rest.
    env["SKRYNKA_SOURCE_PORT"] = "8080"
    env.pop("SKRYNKA_MAX_UPLAOD_BYTES")
    with pytest.raises(SettingsError) as caught:
        load_settings(env)
    problems = caught.value.problems
    assert len(problems) == 5, problems
    message = str(caught.value)
    assert "SKRYNKA_JOURNALIST_PORT must be a TCP port" in message
    assert "SKRYNKA_MAX_UPLOAD_BYTES must be greater than 0" in message
    assert "allowed only on dev-mode instances" in message
    assert "SKRYNKA_DATABASE_URL is not a database URL" in message
    assert "SKRYNKA_RAM_DIR must be an absolute path" in message


def test_testing_kdf_is_refused_on_a_production_instance(tmp_path: Path) -> None:
    write_instance(tmp_path, dev_mode=False)
    with pytest.raises(SettingsError, match="cheap to guess"):
        load_settings({"SKRYNKA_DATA_DIR": str(tmp_path), "SKRYNKA_KDF": "testing"})


def test_dev_mode_cannot_come_from_the_environment(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="Unknown environment variable SKRYNKA_DEV_MODE"):
        load_settings({"SKRYNKA_DATA_DIR": str(tmp_path), "SKRYNKA_DEV_MODE": "1"})


def test_the_two_interfaces_need_different_ports(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="need different ports"):
        load_settings({}, data_dir=tmp_path, source_port=8080, journalist_port=8080)


def test_a_missing_data_dir_says_how_to_make_one() -> None:
    with pytest.raises(SettingsError, match="skrynka init"):
        load_settings({})


def test_a_damaged_instance_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "instance.json").write_text("{not json")
    with pytest.raises(SettingsError, match=r"instance\.json is not valid JSON"):
        load_settings({}, data_dir=tmp_path)


def test_unknown_instance_file_settings_are_reported(tmp_path: Path) -> None:
    write_instance(tmp_path, settings={"max_upload": 5, "source_port": True})
    with pytest.raises(SettingsError) as caught:
        load_settings({}, data_dir=tmp_path)
    assert len(caught.value.problems) == 2
    assert "unknown setting 'max_upload'" in str(caught.value)


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings = load_settings({}, data_dir=tmp_path)
    with pytest.raises(AttributeError):
        settings.max_upload_bytes = 1  # type: ignore[misc]


def test_postgresql_urls_are_accepted(tmp_path: Path) -> None:
    url = "postgresql+psycopg://skrynka:secret@127.0.0.1:5432/skrynka"
    settings = load_settings({"SKRYNKA_DATABASE_URL": url}, data_dir=tmp_path)
    assert settings.database_url == url
    assert not settings.uses_sqlite


def test_the_source_default_language_is_one_with_a_catalog(tmp_path: Path) -> None:
    assert load_settings({}, data_dir=tmp_path).source_default_locale == "en"
    write_instance(tmp_path, settings={"source_default_locale": "be"})
    assert load_settings({}, data_dir=tmp_path).source_default_locale == "be"
    with pytest.raises(SettingsError, match="SKRYNKA_SOURCE_DEFAULT_LOCALE must be one of"):
        load_settings({"SKRYNKA_SOURCE_DEFAULT_LOCALE": "en-US"}, data_dir=tmp_path)


def test_retention_is_validated_at_start(tmp_path: Path) -> None:
    write_instance(tmp_path, settings={"retention_days": 7})
    assert load_settings(env={}, data_dir=tmp_path).retention_days == 7
    assert load_settings(env={}, data_dir=tmp_path / "x").retention_days == 0
    for bad in ("-1", "366", "soon"):
        with pytest.raises(SettingsError, match="RETENTION_DAYS"):
            load_settings(env={"SKRYNKA_RETENTION_DAYS": bad}, data_dir=tmp_path)


def test_the_database_url_file_is_read_and_the_environment_overrides_it(tmp_path: Path) -> None:
    write_instance(tmp_path, settings={"database_url": "sqlite:////from/instance.json"})
    url_file = tmp_path / "database.url"
    url_file.write_text("postgresql+psycopg://skrynka:secret@db/skrynka\n")
    url_file.chmod(0o600)
    assert load_settings(env={}, data_dir=tmp_path).database_url == (
        "postgresql+psycopg://skrynka:secret@db/skrynka"
    )
    overridden = load_settings(
        env={"SKRYNKA_DATABASE_URL": "sqlite:////from/env"}, data_dir=tmp_path
    )
    assert overridden.database_url == "sqlite:////from/env"


def test_a_database_url_file_others_can_read_is_refused(tmp_path: Path) -> None:
    url_file = tmp_path / "database.url"
    url_file.write_text("postgresql+psycopg://skrynka:secret@db/skrynka\n")
    url_file.chmod(0o640)
    with pytest.raises(SettingsError, match="chmod 600"):
        load_settings(env={}, data_dir=tmp_path)
    url_file.chmod(0o600)
    url_file.write_text("  \n")
    with pytest.raises(SettingsError, match="is empty"):
        load_settings(env={}, data_dir=tmp_path)
    url_file.unlink()
    url_file.symlink_to(tmp_path / "elsewhere")
    with pytest.raises(SettingsError, match="not a link"):
        load_settings(env={}, data_dir=tmp_path)


ROOT_PEM = (
    "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
)


def test_timestamping_is_off_by_default_and_needs_nothing(tmp_path: Path) -> None:
    settings = load_settings({}, data_dir=tmp_path)
    assert settings.tsa_urls == ""
    assert settings.timestamp_interval_minutes == 1440
    assert settings.timestamp_max_submissions == 1000


def test_timestamp_settings_are_read_from_the_environment_and_checked(tmp_path: Path) -> None:
    (tmp_path / "roots.pem").write_text(ROOT_PEM)
    env = {
        "SKRYNKA_DATA_DIR": str(tmp_path),
        "SKRYNKA_TSA_URLS": "https://tsa.one.example/tsr, http://tsa.two.example/",
        "SKRYNKA_TSA_CA_FILE": str(tmp_path / "roots.pem"),
        "SKRYNKA_TSA_SOCKS_PROXY": "unix:/run/tor/socks",
        "SKRYNKA_TIMESTAMP_INTERVAL_MINUTES": "60",
    }
    settings = load_settings(env)
    assert settings.tsa_socks_proxy == "unix:/run/tor/socks"
    assert settings.timestamp_interval_minutes == 60


def test_every_timestamp_setting_problem_is_named_at_once(tmp_path: Path) -> None:
    env = {
        "SKRYNKA_DATA_DIR": str(tmp_path),
        "SKRYNKA_TSA_URLS": "ftp://tsa.example/, https://ok.example/tsr",
        "SKRYNKA_TIMESTAMP_MAX_SUBMISSIONS": "0",
    }
    with pytest.raises(SettingsError) as raised:
        load_settings(env)
    problems = "\n".join(raised.value.problems)
    assert "'ftp://tsa.example/' is not an http:// or https:// URL" in problems
    assert "SKRYNKA_TSA_CA_FILE is not set" in problems
    assert "SKRYNKA_TSA_SOCKS_PROXY is not set: time-stamp requests must go through tor" in problems
    assert "SKRYNKA_TIMESTAMP_MAX_SUBMISSIONS must be greater than 0" in problems


@pytest.mark.parametrize("proxy", ["10.0.0.5:9050", "tor.example:9050", "unix:", "9050"])
def test_the_socks_proxy_must_be_a_local_tor(tmp_path: Path, proxy: str) -> None:
    (tmp_path / "roots.pem").write_text(ROOT_PEM)
    env = {"SKRYNKA_DATA_DIR": str(tmp_path), "SKRYNKA_TSA_URLS": "https://tsa.example/",
           "SKRYNKA_TSA_CA_FILE": str(tmp_path / "roots.pem"),
           "SKRYNKA_TSA_SOCKS_PROXY": proxy}
    with pytest.raises(SettingsError, match="must be tor's SOCKS socket on this machine"):
        load_settings(env)


def test_a_ca_file_without_certificates_is_refused(tmp_path: Path) -> None:
    (tmp_path / "roots.pem").write_text("not a certificate")
    env = {"SKRYNKA_DATA_DIR": str(tmp_path), "SKRYNKA_TSA_URLS": "https://tsa.example/",
           "SKRYNKA_TSA_CA_FILE": str(tmp_path / "roots.pem"),
           "SKRYNKA_TSA_SOCKS_PROXY": "127.0.0.1:9050"}
    with pytest.raises(SettingsError, match="holds no PEM certificate"):
        load_settings(env)
