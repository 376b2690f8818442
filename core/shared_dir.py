"""The directory several app servers share, and proof that they are one instance.

With `shared_dir` set (several app servers behind one Onionbalance front, docs/operations.md),
each machine has its own data dir but the ciphertext store lives in the shared directory. Every
machine must then hold the same secrets: a machine with other secrets (its own `skrynka init`
instead of a copy of the first data dir) would not find sources by their codenames, would not
read the session cookies the others issued, and would sign with another key.

So the first app server to start writes a *marker* into the shared directory: the instance id,
the submission key fingerprint and a SHA-256 over the three secrets (a digest of 80 random
bytes, which tells nothing about them). `check_shared_dir` compares this machine's values with
it and names every difference; `claim_shared_dir` writes it when it is missing (O_EXCL, so two
machines starting at once cannot both write it: the loser reads the winner's). A damaged marker
is a problem to fix, never silently replaced.
"""

import hashlib
import json
import os
from pathlib import Path

from core.settings import Settings

MARKER_NAME = "skrynka-shared.json"
MARKER_FORMAT = "skrynka-shared-dir"


def marker_path(settings: Settings) -> Path | None:
    return None if settings.shared_dir is None else settings.shared_dir / MARKER_NAME


def secrets_digest(settings: Settings) -> str:
    """SHA-256 over this machine's session key, codename salt and signing key."""
    digest = hashlib.sha256(b"skrynka shared secrets\n")
    for path in (settings.session_key_path, settings.codename_salt_path, settings.signing_key_path):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def expected_marker(settings: Settings) -> dict[str, str]:
    return {
        "format": MARKER_FORMAT,
        "instance_id": settings.instance_id,
        "submission_key_fingerprint": settings.submission_key_fingerprint,
        "secrets_sha256": secrets_digest(settings),
    }


def check_shared_dir(settings: Settings) -> list[str]:
    """Every way this machine differs from the instance that claimed the shared directory."""
    path = marker_path(settings)
    if path is None or settings.shared_dir is None:
        return []
    if not settings.shared_dir.is_dir():
        return [
            f"The shared directory {settings.shared_dir} (SKRYNKA_SHARED_DIR) does not exist; "
            "mount the shared file system there, or create it (mode 0700) on the first machine."
        ]
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if not settings.store_dir.exists():
            return [
                f"{settings.shared_dir} holds no store yet: on the first machine, move its "
                f"store/ and tmp/ from {settings.data_dir} into {settings.shared_dir}."
            ]
        return []  # the first app server to start writes it
    except OSError as exc:
        return [f"{path} cannot be read ({exc.strerror}); check its owner and mode."]
    try:
        marker = json.loads(text)
    except ValueError:
        marker = None
    if not isinstance(marker, dict) or marker.get("format") != MARKER_FORMAT:
        return [
            f"{path} is damaged; remove it only after checking that every app server's data "
            "dir is a copy of the same instance (the next start writes it again)."
        ]
    try:
        mine = expected_marker(settings)
    except OSError:
        return []  # the secrets themselves are reported missing by check_instance
    problems = []
    if marker.get("instance_id") != mine["instance_id"]:
        problems.append(
            f"The shared directory {settings.shared_dir} belongs to instance "
            f"{marker.get('instance_id')}, this data dir to {mine['instance_id']}: make this "
            "machine's data dir a copy of the first machine's (instance.json, secrets/, gnupg/) "
            "instead of running `skrynka init` again."
        )
    elif marker.get("secrets_sha256") != mine["secrets_sha256"]:
        problems.append(
            f"This machine's secrets ({settings.secrets_dir}) differ from those of the other app "
            f"servers sharing {settings.shared_dir}: copy secrets/ from the first machine, or "
            "sources will not be recognised here."
        )
    if marker.get("submission_key_fingerprint") != mine["submission_key_fingerprint"]:
        problems.append(
            f"This machine encrypts to submission key {mine['submission_key_fingerprint']}, the "
            f"other app servers to {marker.get('submission_key_fingerprint')}: copy instance.json "
            "and gnupg/ from the first machine."
        )
    return problems


def claim_shared_dir(settings: Settings) -> None:
    """Write the marker if no app server has yet (call after check_shared_dir found nothing)."""
    path = marker_path(settings)
    if path is None:
        return
    data = (json.dumps(expected_marker(settings), indent=2) + "\n").encode("utf-8")
    temporary = path.with_name(f".{MARKER_NAME}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        # link() fails if the marker exists: another machine claimed it first, and its marker
        # (checked on the next start) stays.
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink(missing_ok=True)
