"""The evidence store: one directory holding everything the workstation keeps.

Layout (see docs/workstation.md for the operator's view):

    DIR/store.json          format marker and settings (gnupg mode, key fingerprints)
    DIR/gnupg/              0700 GNUPGHOME with the submission secret key (empty in smartcard mode)
    DIR/workstation.key     0600 Ed25519 seed of the workstation signing key
    DIR/pinned-server-key   raw 32-byte Ed25519 public key of the server, pinned at init
    DIR/originals/<sha256>/ one original: `content` (0444), `item.json`, `submissions/<uuid>.json`
    DIR/consent/<uuid>.json consent records exactly as decrypted (0444) + `<uuid>.meta.json`
    DIR/copies/<sha256>/<copy sha256>/  working copies and `copy.json`
    DIR/renditions/<sha256>/  the safe rendition made in the sandbox (page PNGs, image, keyframes
                            and video, audio or text, all 0444) and `rendition.json`; made on
                            first use, so older stores have no such directory
    DIR/bundles/<manifest sha256>/      manifest and signature of every imported bundle
    DIR/cases.json          cases and their items
    DIR/custody.log         JSON lines, hash-chained and signed; DIR/custody.head signed tail
    DIR/tmp/                staging; anything here belongs to an interrupted command
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from workstation.errors import EvidenceStoreError, StoreExists, StoreLocked, StoreMissing

STORE_FORMAT = "skrynka-workstation-store"
STORE_VERSION = 1
GNUPG_IN_STORE = "store"
GNUPG_OF_USER = "user"


def utc_now() -> str:
    """ISO 8601 UTC time with microseconds and a Z, as the server writes it."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def write_json_atomic(path: Path, value: Any, mode: int = 0o600) -> None:
    """Write JSON to a temp file, fsync, rename: a crash leaves the old or the new file."""
    data = (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
    write_bytes_atomic(path, data, mode)


def write_bytes_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(temp, mode)
    os.replace(temp, path)
    fsync_dir(path.parent)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_json(path: Path) -> Any:
    with path.open("rb") as handle:
        return json.load(handle)


@dataclass(frozen=True)
class StoreConfig:
    gnupg_mode: str
    server_key_fingerprint: str
    workstation_key_fingerprint: str
    created_at: str


class EvidenceStore:
    """Paths and small persistent state of one evidence store."""

    def __init__(self, root: Path) -> None:
        self.root = root

    # Paths -----------------------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.root / "store.json"

    @property
    def store_gnupg_dir(self) -> Path:
        return self.root / "gnupg"

    @property
    def workstation_key_path(self) -> Path:
        return self.root / "workstation.key"

    @property
    def pinned_server_key_path(self) -> Path:
        return self.root / "pinned-server-key"

    @property
    def originals_dir(self) -> Path:
        return self.root / "originals"

    @property
    def consent_dir(self) -> Path:
        return self.root / "consent"

    @property
    def copies_dir(self) -> Path:
        return self.root / "copies"

    @property
    def bundles_dir(self) -> Path:
        return self.root / "bundles"

    @property
    def cases_path(self) -> Path:
        return self.root / "cases.json"

    @property
    def custody_log_path(self) -> Path:
        return self.root / "custody.log"

    @property
    def custody_head_path(self) -> Path:
        return self.root / "custody.head"

    @property
    def tmp_dir(self) -> Path:
        return self.root / "tmp"

    def original_dir(self, item_id: str) -> Path:
        return self.originals_dir / item_id

    # Life cycle ------------------------------------------------------------------------
    def create_layout(self) -> None:
        """Create the empty directories of a new store; refuse a non-empty directory."""
        if self.root.exists() and any(self.root.iterdir()):
            raise StoreExists(str(self.root))
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        for directory in (
            self.originals_dir,
            self.consent_dir,
            self.copies_dir,
            self.bundles_dir,
            self.tmp_dir,
        ):
            directory.mkdir(mode=0o700)
        self.store_gnupg_dir.mkdir(mode=0o700)
        self.custody_log_path.touch(mode=0o600)

    def write_config(self, config: StoreConfig) -> None:
        write_json_atomic(
            self.config_path,
            {
                "format": STORE_FORMAT,
                "version": STORE_VERSION,
                "gnupg_mode": config.gnupg_mode,
                "server_key_fingerprint": config.server_key_fingerprint,
                "workstation_key_fingerprint": config.workstation_key_fingerprint,
                "created_at": config.created_at,
            },
        )

    def read_config(self) -> StoreConfig:
        if not self.config_path.is_file():
            raise StoreMissing(str(self.root))
        try:
            raw = read_json(self.config_path)
        except (OSError, ValueError) as exc:
            raise EvidenceStoreError(
                f"{self.config_path} cannot be read as JSON ({exc}); restore it from the store's"
                " backup"
            ) from exc
        if not isinstance(raw, dict) or raw.get("format") != STORE_FORMAT or (
            raw.get("version") != STORE_VERSION
        ):
            raise EvidenceStoreError(
                f"{self.config_path} is not a version {STORE_VERSION} evidence store;"
                " use the skrynka-workstation release that created it"
            )
        fields = ("gnupg_mode", "server_key_fingerprint", "workstation_key_fingerprint",
                  "created_at")
        missing = [name for name in fields if not isinstance(raw.get(name), str)]
        if missing:
            raise EvidenceStoreError(
                f"{self.config_path} lacks {', '.join(missing)}; restore it from the store's"
                " backup"
            )
        return StoreConfig(*(raw[name] for name in fields))

    def gnupg_home(self) -> Path:
        """The GNUPGHOME that holds the submission secret key (or the card's stub)."""
        if self.read_config().gnupg_mode == GNUPG_IN_STORE:
            return self.store_gnupg_dir
        # Smartcard mode: the operator's own gpg, which knows the card.
        return Path(os.environ.get("GNUPGHOME") or Path.home() / ".gnupg")

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the store's write lock; commands that change the store run inside it."""
        self.read_config()
        with (self.root / ".lock").open("a") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise StoreLocked(str(self.root)) from exc
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    @contextlib.contextmanager
    def staging_dir(self, prefix: str) -> Iterator[Path]:
        """A private directory inside the store (same filesystem, so renames are atomic)."""
        self.tmp_dir.mkdir(mode=0o700, exist_ok=True)
        path = self.tmp_dir / f"{prefix}-{os.getpid()}-{os.urandom(4).hex()}"
        path.mkdir(mode=0o700)
        try:
            yield path
        finally:
            remove_tree(path)


def remove_abandoned_staging(store: EvidenceStore) -> list[str]:
    """Remove staging directories of commands that died (their process no longer runs)."""
    removed: list[str] = []
    if not store.tmp_dir.is_dir():
        return removed
    for path in sorted(store.tmp_dir.iterdir()):
        parts = path.name.split("-")
        if len(parts) != 3 or not parts[1].isdigit() or not path.is_dir():
            continue
        pid = int(parts[1])
        if pid == os.getpid() or _process_runs(pid):
            continue
        remove_tree(path)
        removed.append(path.name)
    return removed


def _process_runs(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_tree(path: Path) -> None:
    """Remove a directory tree even where files or directories were made read-only."""
    if not path.exists():
        return
    for directory, _dirs, _files in os.walk(path):
        os.chmod(directory, 0o700)
    shutil.rmtree(path)


def open_store(root: Path) -> EvidenceStore:
    store = EvidenceStore(root)
    store.read_config()
    return store
