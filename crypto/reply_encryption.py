"""Encrypting a staff reply to a source's reply key and to the submission key.

A source's reply public key lives in the database, not in the server's keyring: importing one
key per source would grow the keyring to thousands of keys and make every gpg call slower.
``gpg --recipient-file`` encrypts to a key read from a file without importing it, so the key is
written to a short-lived file (public material, but kept on the RAM-backed dir anyway) next to
the submission key's fingerprint in the keyring.
"""

import os
import tempfile
from pathlib import Path

from crypto._gpg import run_gpg, status_lines
from crypto.encryption import is_nearly_full
from crypto.errors import GpgFailed, InvalidSubmissionKey, NoSpaceForOutput, SubmissionKeyMissing
from crypto.submission_key import parse_fingerprint
from crypto.types import Fingerprint

# Replies are short text; gpg compression would only add a compression oracle.
_OPTIONS = ("--compress-algo", "none", "--status-fd", "2")
_MAX_KEY_CHARS = 64 * 1024
_ARMOR_HEADER = "-----BEGIN PGP PUBLIC KEY BLOCK-----"


def encrypt_reply_to_keys(
    gnupg_home: Path,
    submission_fingerprint: Fingerprint,
    reply_public_key: str,
    plaintext: bytes,
    work_dir: Path,
) -> bytes:
    """Return binary OpenPGP ciphertext of ``plaintext`` for both keys.

    ``reply_public_key`` is the source's armored public key; ``work_dir`` holds its temporary
    file (use the RAM-backed dir). Raises ``InvalidSubmissionKey`` if that key is not an armored
    public key, ``SubmissionKeyMissing`` if gpg cannot use either key, ``GpgFailed`` otherwise.
    """
    fingerprint = parse_fingerprint(submission_fingerprint)
    if len(reply_public_key) > _MAX_KEY_CHARS or _ARMOR_HEADER not in reply_public_key:
        raise InvalidSubmissionKey(
            "The source's reply key is not an armored OpenPGP public key; the database row "
            "is damaged: restore it from backup."
        )
    fd, key_name = tempfile.mkstemp(prefix="skr-reply-", suffix=".asc", dir=work_dir)
    key_path = Path(key_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(reply_public_key.encode("ascii", "strict"))
        result = run_gpg(
            gnupg_home,
            [
                *_OPTIONS,
                "--recipient",
                fingerprint,
                "--recipient-file",
                str(key_path),
                "--encrypt",
            ],
            stdin=plaintext,
        )
    except UnicodeEncodeError as exc:
        raise InvalidSubmissionKey(
            "The source's reply key is not ASCII armor; the database row is damaged."
        ) from exc
    finally:
        key_path.unlink(missing_ok=True)
    if result.returncode != 0 or not result.stdout:
        statuses = {keyword for keyword, _ in status_lines(result.stderr)}
        if statuses & {"INV_RECP", "NO_RECP", "KEYEXPIRED", "KEYREVOKED"}:
            raise SubmissionKeyMissing(
                "gpg cannot encrypt the reply: the submission key is missing, expired or revoked "
                "in the server's keyring, or the source's reply key is unusable; run "
                "`skrynka check`."
            )
        if is_nearly_full(gnupg_home):
            # The ciphertext comes back in memory, but gpg still writes into its home (lock
            # files, the random seed): on a full data disk that is what fails first.
            raise NoSpaceForOutput(str(gnupg_home))
        raise GpgFailed(
            f"gpg failed to encrypt a reply (exit status {result.returncode}); run `skrynka check`."
        )
    return result.stdout
