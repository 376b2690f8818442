"""Settings: one frozen value built at start-up and validated with one message.

Where a value comes from, weakest first: the defaults below, the "settings" object of
DATA_DIR/instance.json, the 0600 file DATA_DIR/database.url (the database URL alone, as it may
hold a password), SKRYNKA_* environment variables, keyword overrides from code. Every
problem found is collected, so an operator fixes them all in one go instead of one per restart.
"""

import json
import os
import re
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from core.bridges import parse_bridge_lines
from core.errors import SettingsError
from crypto import kdf as kdf_params
from crypto.kdf import KdfParams

MIB = 1024 * 1024
ENV_PREFIX = "SKRYNKA_"
INSTANCE_FILE = "instance.json"
WORKSTATION_KEY_FILE = "workstation-key.pub"
# The database URL may hold a password, so it lives in its own 0600 file, not in instance.json.
DATABASE_URL_FILE = "database.url"
# A year: past that, "retention" would mean keeping everything, which the setting exists to stop.
MAX_RETENTION_DAYS = 365
INSTANCE_FORMAT = "skrynka-instance"
INSTANCE_FORMAT_VERSION = 1
# Languages of the source interface (source_app.i18n has a catalog for each).
SOURCE_LOCALES = ("be", "ru", "en")
KDF_NAMES: dict[str, KdfParams] = {
    "production": kdf_params.PRODUCTION,
    "testing": kdf_params.TESTING,
}


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    # Empty means the SQLite file DATA_DIR/db.sqlite (filled in by load_settings).
    database_url: str = ""
    source_port: int = 8080
    journalist_port: int = 8081
    # Large enough for phone videos, small enough that one source cannot fill the disk at once.
    max_upload_bytes: int = 500 * MIB
    # Argon2id cost of a codename login; the cheap TESTING value is refused outside dev mode.
    kdf: KdfParams = kdf_params.PRODUCTION
    kdf_name: str = "production"
    # Short sessions limit what a seized, unlocked device shows.
    source_session_minutes: int = 120
    journalist_session_minutes: int = 120
    # 0 means "as long as a source session": a 300 MiB upload over Tor can take most of an hour.
    csrf_time_limit_seconds: int = 0
    # Set only by `skrynka demo`, `skrynka dev-data` and the tests, in instance.json.
    dev_mode: bool = False
    # Ephemeral GNUPGHOMEs holding an unwrapped reply key must never reach a disk.
    ram_dir: Path = Path("/dev/shm")  # noqa: S108 (a RAM-backed dir is the point)
    # The source interface's language until a source picks one; never guessed from headers,
    # which Tor Browser makes the same (English) for everybody.
    source_default_locale: str = "en"
    # obfs4 or WebTunnel bridge lines shown to sources, one per line (core.bridges checks them).
    source_bridge_lines: str = ""
    # Staff sign-in throttling: attempts allowed per account within the window.
    login_attempt_limit: int = 5
    login_attempt_window_seconds: int = 60
    # gunicorn: threaded workers, because one slow Tor upload holds a thread for its whole length.
    workers: int = 2
    threads: int = 8
    worker_timeout_seconds: int = 3600
    # Days an acknowledged submission stays after the workstation confirmed it holds it; 0 deletes
    # it as soon as the acknowledgement is uploaded. A seized server holds only this much.
    retention_days: int = 0
    instance_id: str = ""
    submission_key_fingerprint: str = ""
    # Trusted timestamps (core.timestamping): RFC 3161 authorities, comma-separated http(s)
    # URLs; empty switches time-stamping off. Requests go through tor's SOCKS port, so the
    # authorities never learn the server's address.
    tsa_urls: str = ""
    # PEM file of the root certificates the authorities' tokens must chain to.
    tsa_ca_file: str = ""
    # tor's SOCKS port: "unix:/run/tor/socks" or "127.0.0.1:9050". Only dev-mode instances may
    # leave it empty (and then reach the authorities directly, as the tests do on loopback).
    tsa_socks_proxy: str = ""
    # A tree at least this often while anything waits, and sooner once this many submissions
    # wait: a day keeps a token as coarse as a bundle's received_on date.
    timestamp_interval_minutes: int = 1440
    timestamp_max_submissions: int = 1000
    tsa_timeout_seconds: int = 60
    # The administrator's OpenPGP key that backups are encrypted to (server.backup_key).
    backup_key_fingerprint: str = ""
    # Several app servers behind one onion address (docs/operations.md): a directory on a file
    # system every app server mounts, holding the ciphertext store and its temp files (they
    # must share one file system for atomic renames and for the flock that tells a live upload
    # from a dead one). Unset: both live in the data dir.
    shared_dir: Path | None = None
    # The Onionbalance front's onion address when this app server is one of its instances;
    # its tor then accepts introductions made to that address.
    onionbalance_front: str = ""
    # The raw "settings" object of instance.json, kept so tools can show where a value came from.
    instance_overrides: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def instance_file(self) -> Path:
        return self.data_dir / INSTANCE_FILE

    @property
    def gnupg_home(self) -> Path:
        return self.data_dir / "gnupg"

    @property
    def store_dir(self) -> Path:
        return (self.shared_dir or self.data_dir) / "store"

    @property
    def tmp_dir(self) -> Path:
        return (self.shared_dir or self.data_dir) / "tmp"

    @property
    def secrets_dir(self) -> Path:
        return self.data_dir / "secrets"

    @property
    def onion_dir(self) -> Path:
        return self.data_dir / "onion"

    @property
    def tor_dir(self) -> Path:
        return self.data_dir / "tor"

    @property
    def logo_path(self) -> Path:
        # With several app servers, the logo an administrator uploads through one of them is
        # the one sources see on every one: it lives beside the shared store.
        return (self.shared_dir or self.data_dir) / "logo.png"

    @property
    def timestamp_lock_path(self) -> Path:
        """The lock one timestamping run holds; shared with the other app servers when there
        are several, so their timers never seal or stamp the same entries twice at once."""
        return (self.shared_dir or self.data_dir) / "timestamp.lock"

    @property
    def demo_workstation_dir(self) -> Path:
        return self.data_dir / "demo-workstation"

    @property
    def workstation_key_path(self) -> Path:
        """The workstation's Ed25519 public key (32 raw bytes) that signs acknowledgements."""
        return self.data_dir / WORKSTATION_KEY_FILE

    @property
    def session_key_path(self) -> Path:
        return self.secrets_dir / "session.key"

    @property
    def codename_salt_path(self) -> Path:
        return self.secrets_dir / "codename.salt"

    @property
    def signing_key_path(self) -> Path:
        return self.secrets_dir / "signing.key"

    @property
    def source_session_seconds(self) -> int:
        return self.source_session_minutes * 60

    @property
    def journalist_session_seconds(self) -> int:
        return self.journalist_session_minutes * 60

    @property
    def uses_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def default_database_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'db.sqlite'}"


def read_instance_file(data_dir: Path) -> dict[str, Any]:
    """The parsed instance.json, or {} if there is none yet. Raises SettingsError if unreadable."""
    path = data_dir / INSTANCE_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise SettingsError([f"{path} cannot be read ({exc.strerror}); check its owner."]) from exc
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(
            [f"{path} is not valid JSON ({exc}); restore it from your backup."]
        ) from exc
    if not isinstance(document, dict) or document.get("format") != INSTANCE_FORMAT:
        raise SettingsError([f"{path} is not a Skrynka instance file; restore it from backup."])
    return document


def read_database_url_file(data_dir: Path, problems: list[str]) -> str | None:
    """The URL in DATA_DIR/database.url, or None if there is none; faults go to ``problems``.

    The file must be a regular file only its owner can read: the URL may carry a password.
    """
    path = data_dir / DATABASE_URL_FILE
    try:
        info = path.lstat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        problems.append(f"{path} cannot be read ({exc.strerror}); check its owner.")
        return None
    if not stat.S_ISREG(info.st_mode):
        problems.append(f"{path} must be a regular file (not a link).")
        return None
    if info.st_mode & 0o077:
        problems.append(
            f"{path} is readable by other users (mode {stat.S_IMODE(info.st_mode):o}); "
            f"run `chmod 600 {path}`: it may hold the database password."
        )
        return None
    try:
        url = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{path} cannot be read ({exc}); write the URL on one line.")
        return None
    if not url:
        problems.append(f"{path} is empty; write the database URL into it or remove it.")
        return None
    return url


def _parse_int(text: str) -> int:
    return int(str(text).strip(), 10)


def _parse_path(text: str) -> Path:
    return Path(str(text))


def _parse_str(text: str) -> str:
    return str(text)


# The settings an operator may set, with the parser of their text form. Environment variable
# names are SKRYNKA_ + the upper-cased field name; instance.json uses the field names.
_CONFIGURABLE: dict[str, Callable[[str], Any]] = {
    "data_dir": _parse_path,
    "database_url": _parse_str,
    "source_port": _parse_int,
    "journalist_port": _parse_int,
    "max_upload_bytes": _parse_int,
    "kdf": _parse_str,
    "source_session_minutes": _parse_int,
    "journalist_session_minutes": _parse_int,
    "csrf_time_limit_seconds": _parse_int,
    "ram_dir": _parse_path,
    "source_default_locale": _parse_str,
    "source_bridge_lines": _parse_str,
    "login_attempt_limit": _parse_int,
    "login_attempt_window_seconds": _parse_int,
    "workers": _parse_int,
    "threads": _parse_int,
    "worker_timeout_seconds": _parse_int,
    "retention_days": _parse_int,
    "tsa_urls": _parse_str,
    "tsa_ca_file": _parse_str,
    "tsa_socks_proxy": _parse_str,
    "timestamp_interval_minutes": _parse_int,
    "timestamp_max_submissions": _parse_int,
    "tsa_timeout_seconds": _parse_int,
    "shared_dir": _parse_path,
    "onionbalance_front": _parse_str,
}
# Fields that only instance.json (written by `skrynka init`) or code may set: an environment
# variable must not turn a production instance into a dev one.
_INSTANCE_ONLY = (
    "dev_mode",
    "instance_id",
    "submission_key_fingerprint",
    "backup_key_fingerprint",
)

_POSITIVE = (
    "max_upload_bytes",
    "source_session_minutes",
    "journalist_session_minutes",
    "login_attempt_limit",
    "login_attempt_window_seconds",
    "workers",
    "threads",
    "worker_timeout_seconds",
    "timestamp_interval_minutes",
    "timestamp_max_submissions",
    "tsa_timeout_seconds",
)


def env_name(field_name: str) -> str:
    return ENV_PREFIX + field_name.upper()


def load_settings(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build and validate the settings; raise one SettingsError naming every problem.

    ``env`` defaults to ``os.environ``. ``overrides`` take field names and typed values
    (``data_dir=Path(...)``, ``kdf="testing"`` or a KdfParams, ``dev_mode=True``).
    """
    environment: Mapping[str, str] = os.environ if env is None else env
    problems: list[str] = []
    known = {f.name for f in fields(Settings)}
    for name in overrides:
        if name not in known:
            raise TypeError(f"load_settings() got an unknown setting {name!r}")

    raw_data_dir = overrides.get("data_dir", environment.get(env_name("data_dir")))
    if raw_data_dir is None or str(raw_data_dir) == "":
        raise SettingsError(
            [
                "No data directory given: pass --data-dir DIR or set SKRYNKA_DATA_DIR "
                "(create one with `skrynka init`)."
            ]
        )
    data_dir = Path(raw_data_dir).expanduser().absolute()

    document = read_instance_file(data_dir)
    file_settings = document.get("settings", {})
    if not isinstance(file_settings, dict):
        problems.append(f'{data_dir / INSTANCE_FILE}: "settings" must be a JSON object.')
        file_settings = {}

    values: dict[str, Any] = {}
    # instance.json first, then the environment over it.
    for key, raw in file_settings.items():
        if key not in _CONFIGURABLE or key == "data_dir":
            problems.append(f"{data_dir / INSTANCE_FILE}: unknown setting {key!r}.")
            continue
        _parse_into(values, key, raw, f"{key} in {data_dir / INSTANCE_FILE}", problems)
    url_from_file = read_database_url_file(data_dir, problems)
    if url_from_file is not None:
        values["database_url"] = url_from_file
    for var, raw in environment.items():
        if not var.startswith(ENV_PREFIX):
            continue
        key = var[len(ENV_PREFIX) :].lower()
        if key == "data_dir":
            continue
        if key not in _CONFIGURABLE:
            problems.append(
                f"Unknown environment variable {var}: remove it or fix its spelling "
                f"(known: {', '.join(sorted(env_name(k) for k in _CONFIGURABLE))})."
            )
            continue
        _parse_into(values, key, raw, var, problems)
    for key in _INSTANCE_ONLY:
        if key in document:
            values[key] = document[key]
    for key, value in overrides.items():
        if key != "data_dir":
            values[key] = value
    values["data_dir"] = data_dir
    values["instance_overrides"] = dict(file_settings)

    kdf_value = values.pop("kdf", "production")
    if isinstance(kdf_value, KdfParams):
        values["kdf"] = kdf_value
        values["kdf_name"] = next(
            (name for name, p in KDF_NAMES.items() if p == kdf_value), "custom"
        )
    elif str(kdf_value) in KDF_NAMES:
        values["kdf"] = KDF_NAMES[str(kdf_value)]
        values["kdf_name"] = str(kdf_value)
    else:
        problems.append(
            f"{env_name('kdf')} must be one of {', '.join(KDF_NAMES)}, not {kdf_value!r}."
        )

    if not values.get("database_url"):
        values["database_url"] = default_database_url(data_dir)

    problems.extend(_check_types(values))
    if problems:
        raise SettingsError(problems)
    settings = Settings(**values)
    problems.extend(_check_values(settings))
    if problems:
        raise SettingsError(problems)
    if settings.csrf_time_limit_seconds == 0:
        settings = replace(settings, csrf_time_limit_seconds=settings.source_session_seconds)
    return settings


def _parse_into(
    values: dict[str, Any], key: str, raw: Any, where: str, problems: list[str]
) -> None:
    parser = _CONFIGURABLE[key]
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        problems.append(f"{where} must be a string or a number, not {raw!r}.")
        return
    try:
        values[key] = parser(str(raw))
    except ValueError:
        problems.append(f"{where} must be a whole number, not {raw!r}.")


def _check_types(values: Mapping[str, Any]) -> list[str]:
    problems = []
    for f in fields(Settings):
        if f.name not in values:
            continue
        value = values[f.name]
        expected: type | tuple[type, ...]
        if f.name in ("data_dir", "ram_dir"):
            expected = Path
        elif f.name == "shared_dir":
            expected = (Path, type(None))
        elif f.name in ("dev_mode",):
            expected = bool
        elif f.name in (
            "database_url",
            "kdf_name",
            "instance_id",
            "submission_key_fingerprint",
            "backup_key_fingerprint",
            "source_default_locale",
            "tsa_urls",
            "tsa_ca_file",
            "tsa_socks_proxy",
            "source_bridge_lines",
            "onionbalance_front",
        ):
            expected = str
        elif f.name == "kdf":
            expected = KdfParams
        elif f.name == "instance_overrides":
            expected = dict
        else:
            expected = int
        if expected is int and isinstance(value, bool):
            problems.append(f"{f.name} must be a whole number, not {value!r}.")
        elif not isinstance(value, expected):
            problems.append(f"{f.name} has the wrong type ({type(value).__name__}).")
    return problems


def tsa_url_list(s: Settings) -> list[str]:
    """The configured time-stamping authorities, in the operator's order."""
    return [url.strip() for url in s.tsa_urls.split(",") if url.strip()]


def check_timestamp_settings(s: Settings) -> list[str]:
    """Problems with the time-stamping settings (none when time-stamping is off)."""
    problems: list[str] = []
    urls = tsa_url_list(s)
    if not urls:
        return problems
    for url in urls:
        if not re.fullmatch(r"https?://[A-Za-z0-9.\-\[\]:]+(/[^\s]*)?", url):
            problems.append(
                f"{env_name('tsa_urls')}: {url!r} is not an http:// or https:// URL of a "
                "time-stamping authority."
            )
    if not s.tsa_ca_file:
        problems.append(
            f"{env_name('tsa_ca_file')} is not set: name the PEM file of the root certificates "
            "your time-stamping authorities publish."
        )
    else:
        try:
            text = Path(s.tsa_ca_file).read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{env_name('tsa_ca_file')}: {s.tsa_ca_file} cannot be read ({exc}).")
        else:
            if "-----BEGIN CERTIFICATE-----" not in text:
                problems.append(
                    f"{env_name('tsa_ca_file')}: {s.tsa_ca_file} holds no PEM certificate."
                )
    proxy = s.tsa_socks_proxy
    if not proxy:
        if not s.dev_mode:
            problems.append(
                f"{env_name('tsa_socks_proxy')} is not set: time-stamp requests must go through "
                "tor (for example unix:/run/tor/socks, see docs/operations.md)."
            )
    elif not (
        (proxy.startswith("unix:/") and len(proxy) > 6)
        or re.fullmatch(r"127\.0\.0\.1:\d{1,5}|\[::1\]:\d{1,5}|localhost:\d{1,5}", proxy)
    ):
        problems.append(
            f"{env_name('tsa_socks_proxy')} must be tor's SOCKS socket on this machine "
            f"(unix:/run/tor/socks or 127.0.0.1:PORT), not {proxy!r}."
        )
    return problems


def _check_values(s: Settings) -> list[str]:
    problems = []
    for port_name in ("source_port", "journalist_port"):
        port = getattr(s, port_name)
        if not 1 <= port <= 65535:
            problems.append(f"{env_name(port_name)} must be a TCP port (1-65535), not {port}.")
    if s.source_port == s.journalist_port:
        problems.append(
            f"{env_name('source_port')} and {env_name('journalist_port')} are both "
            f"{s.source_port}: the two interfaces need different ports."
        )
    for name in _POSITIVE:
        if getattr(s, name) <= 0:
            problems.append(f"{env_name(name)} must be greater than 0, not {getattr(s, name)}.")
    if s.csrf_time_limit_seconds < 0:
        problems.append(
            f"{env_name('csrf_time_limit_seconds')} must be 0 (as long as a session) or more."
        )
    if not 0 <= s.retention_days <= MAX_RETENTION_DAYS:
        problems.append(
            f"{env_name('retention_days')} must be 0 (delete as soon as acknowledged) to "
            f"{MAX_RETENTION_DAYS} days, not {s.retention_days}."
        )
    if s.kdf_name != "production" and not s.dev_mode:
        problems.append(
            f"{env_name('kdf')}={s.kdf_name} makes codenames cheap to guess; it is allowed only "
            "on dev-mode instances (created by `skrynka demo` or the tests)."
        )
    if s.source_default_locale not in SOURCE_LOCALES:
        problems.append(
            f"{env_name('source_default_locale')} must be one of {', '.join(SOURCE_LOCALES)}, "
            f"not {s.source_default_locale!r}."
        )
    _bridges, bridge_problems = parse_bridge_lines(str(s.source_bridge_lines))
    problems.extend(f"{env_name('source_bridge_lines')}: {p}" for p in bridge_problems)
    if not s.ram_dir.is_absolute():
        problems.append(f"{env_name('ram_dir')} must be an absolute path, not {s.ram_dir}.")
    problems.extend(check_timestamp_settings(s))
    problems.extend(check_balance_settings(s))
    try:
        url = make_url(s.database_url)
    except ArgumentError:
        problems.append(
            f"{env_name('database_url')} is not a database URL "
            "(examples: sqlite:////srv/skrynka/db.sqlite, "
            "postgresql+psycopg://skrynka@localhost/skrynka)."
        )
    else:
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            problems.append(
                f"{env_name('database_url')} uses {url.get_backend_name()!r}; "
                "Skrynka supports sqlite and postgresql."
            )
    return problems


# A v3 onion address as an operator writes it; its checksum is checked where tor is met (onion).
_ONION_ADDRESS = re.compile(r"[a-z2-7]{56}\.onion")


def check_balance_settings(s: Settings) -> list[str]:
    """Problems with the settings for several app servers (none when they are unset)."""
    problems: list[str] = []
    if s.shared_dir is not None and not s.shared_dir.is_absolute():
        problems.append(f"{env_name('shared_dir')} must be an absolute path, not {s.shared_dir}.")
    if not s.onionbalance_front:
        return problems
    if not _ONION_ADDRESS.fullmatch(s.onionbalance_front):
        problems.append(
            f"{env_name('onionbalance_front')} must be the front's v3 onion address (56 "
            f"letters a-z and digits 2-7, then .onion), not {s.onionbalance_front!r}; "
            "`skrynka onion balance-config` prints it."
        )
    if s.shared_dir is None:
        problems.append(
            f"{env_name('onionbalance_front')} is set but {env_name('shared_dir')} is not: every "
            "app server behind the front must keep ciphertext in one shared directory."
        )
    if s.uses_sqlite:
        problems.append(
            f"{env_name('onionbalance_front')} is set but the database is SQLite, which only "
            f"one machine can use: set {env_name('database_url')} to the PostgreSQL database "
            "all app servers share."
        )
    return problems
