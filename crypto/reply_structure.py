"""Checking that a reply an API client encrypted is what a source can read, before it is stored.

An API client (or a thief holding a staff token) sends a reply it encrypted itself. The server
cannot decrypt it, but it can read the packets around the encrypted data: gpg ``--list-packets
--list-only`` prints the public-key packets and the encrypted-data packet without trying to
decrypt (so no passphrase prompt, no agent, no decompression). A reply is accepted only if it is
exactly this: one armored message holding one public-key packet for an encryption key of the
source's reply key, one for an encryption key of the submission key, and then one
integrity-protected encrypted-data packet. Anything else (a compressed or literal packet at the
top, a symmetric-key packet, a hidden or third recipient, an old packet without integrity
protection, trailing data) is refused with :class:`UnacceptableReply`, so a reply the source
cannot read never exists and cannot break the source's page or a transfer bundle.

What lies inside the encrypted packet (compression, size) only the key holders can see; the
source's page therefore also caps what it reads when it decrypts (:mod:`crypto.reply_key`).
"""

import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

from crypto._gpg import ephemeral_home, run_gpg, status_lines
from crypto.errors import GpgFailed, InvalidSubmissionKey, UnacceptableReply

ARMOR_BEGIN = "-----BEGIN PGP MESSAGE-----"
ARMOR_END = "-----END PGP MESSAGE-----"
_PACKET = re.compile(r"^:([a-z0-9 ]+ packet):(.*)$")
_KEYID = re.compile(r"keyid ([0-9A-F]{16})\b")
# gpg's --with-colons record types for a key and its subkeys; field 12 holds the usage letters.
_KEY_RECORDS = ("pub", "sub")


def encryption_key_ids(armored_key: str | bytes, work_dir: Path) -> frozenset[str]:
    """The long key ids of every key or subkey in ``armored_key`` that may encrypt.

    Read with ``--import-options show-only`` in an ephemeral home, so nothing is imported.
    Raises :class:`InvalidSubmissionKey` if gpg finds no such key in it.
    """
    data = armored_key.encode("ascii", "replace") if isinstance(armored_key, str) else armored_key
    with ephemeral_home(work_dir) as home:
        result = run_gpg(
            home,
            ["--with-colons", "--import-options", "show-only", "--import"],
            stdin=data,
        )
    ids = set()
    for line in result.stdout.decode("utf-8", "replace").splitlines():
        fields = line.split(":")
        if len(fields) > 11 and fields[0] in _KEY_RECORDS and "e" in fields[11].lower():
            ids.add(fields[4].upper())
    if not ids:
        raise InvalidSubmissionKey(
            "The key holds no key that can encrypt; the database row of the source (or the "
            "submission key) is damaged: run `skrynka check`."
        )
    return frozenset(ids)


def check_reply_structure(
    armored: str, recipients: Sequence[frozenset[str]], work_dir: Path
) -> None:
    """Refuse ``armored`` unless it is one encrypted message to exactly one key of each set.

    ``recipients`` holds, per required recipient (the source's reply key, the submission key),
    the key ids from :func:`encryption_key_ids`. Raises :class:`UnacceptableReply` naming what
    is wrong, :class:`GpgFailed` if gpg cannot run.
    """
    text = armored.strip()
    if not text.startswith(ARMOR_BEGIN) or not text.endswith(ARMOR_END):
        raise UnacceptableReply("it is not one ASCII-armored OpenPGP message")
    if text.count(ARMOR_BEGIN) != 1 or text.count(ARMOR_END) != 1:
        raise UnacceptableReply("it holds more than one armored block")
    try:
        data = text.encode("ascii")
    except UnicodeEncodeError as exc:
        raise UnacceptableReply("the armor holds characters that are not ASCII") from exc
    packets = _list_packets(data, work_dir)
    if not packets:
        raise UnacceptableReply("gpg found no OpenPGP packets in it")
    *keys, last = packets
    kind, details = last
    if kind not in ("encrypted data packet", "aead encrypted packet"):
        raise UnacceptableReply(
            f"it must end in one encrypted-data packet, not a {kind} (compressed, signed or "
            "plain replies are refused)"
        )
    if kind == "encrypted data packet" and "mdc_method" not in details:
        raise UnacceptableReply("its encrypted data has no integrity protection")
    others = [k for k, _ in keys if k != "pubkey enc packet"]
    if others:
        raise UnacceptableReply(
            f"it holds a {others[0]}; only public-key packets may precede the encrypted data"
        )
    key_ids = [_key_id(details) for _, details in keys]
    if len(key_ids) != len(recipients):
        raise UnacceptableReply(
            f"it is encrypted to {len(key_ids)} key(s); it must be encrypted to exactly the "
            "source's reply key and the submission key"
        )
    unmatched = list(recipients)
    for key_id in key_ids:
        match = next((wanted for wanted in unmatched if key_id in wanted), None)
        if match is None:
            raise UnacceptableReply(
                f"it is encrypted to key {key_id or '(hidden)'}, which is neither the source's "
                "reply key nor the submission key"
            )
        unmatched.remove(match)


def _list_packets(data: bytes, work_dir: Path) -> list[tuple[str, str]]:
    """``[(packet kind, the rest of its lines)]`` as gpg lists them, without decrypting."""
    with ephemeral_home(work_dir) as home:
        # From a file: gpg reads a whole file the same way and we keep stdin free of surprises.
        fd, name = tempfile.mkstemp(prefix="reply-", suffix=".asc", dir=home)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        result = run_gpg(home, ["--list-only", "--list-packets", name])
    statuses = {keyword for keyword, _ in status_lines(result.stderr)}
    if "NODATA" in statuses:
        raise UnacceptableReply("gpg found no OpenPGP data in it")
    if result.returncode not in (0, 2):
        raise GpgFailed(f"gpg could not list a reply's packets (exit status {result.returncode})")
    if result.returncode != 0:
        raise UnacceptableReply("gpg could not read its packets (damaged or not OpenPGP)")
    packets: list[tuple[str, str]] = []
    for line in result.stdout.decode("utf-8", "replace").splitlines():
        found = _PACKET.match(line)
        if found:
            packets.append((found.group(1), found.group(2)))
        elif packets and not line.startswith("#"):
            kind, details = packets[-1]
            packets[-1] = (kind, f"{details}\n{line}")
    return packets


def _key_id(details: str) -> str:
    found = _KEYID.search(details)
    key_id = found.group(1) if found else ""
    # An all-zero key id is a hidden recipient (--throw-keyids): nobody can say whose it is.
    return "" if set(key_id) <= {"0"} else key_id
