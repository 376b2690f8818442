"""Acknowledgements: the workstation says which ciphertexts it holds; the server forgets them.

The flow: `check_acknowledgement` reads the uploaded file (formats.acknowledgement), requires the
workstation key pinned on this server (`pin_workstation_key`, a file in the data directory) to
be the one the file names, and checks the Ed25519 signature over the exact signed bytes. Any
failure raises `AcknowledgementRefused` before a single row is looked at: a stolen staff
token can upload only what the workstation signed. `match_items` then compares every
acknowledged item with the server's submissions by uuid AND ciphertext SHA-256; only items that
match both become deletable, everything else is reported and left alone. The staff action
(core.staff_actions.accept_acknowledgement) records and deletes; core.retention deletes what
was acknowledged earlier once the retention period has passed. Which items were acknowledged,
and when, is the audit log's ``acknowledge`` entries (object = uuid, with the ciphertext's
SHA-256), so no table is needed and the record cannot be edited unnoticed.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit_actions import AuditAction
from core.errors import AcknowledgementRefused, NoWorkstationKey, WorkstationKeyInvalid
from core.models import AuditEntry, Reply, Submission
from core.settings import Settings
from crypto.errors import BadSignature
from crypto.signing import PUBLIC_KEY_BYTES, fingerprint_of, verify_signature
from formats.acknowledgement import Acknowledgement, parse_signed_acknowledgement
from formats.errors import FormatError

_HEX_KEY = re.compile(r"[0-9a-fA-F]{64}")


class ItemOutcome(StrEnum):
    """What became of one acknowledged item on this server."""

    DELETED = "deleted"
    HELD = "held"  # acknowledged; deleted when the retention period has passed
    ALREADY_ACKNOWLEDGED = "already_acknowledged"
    UNKNOWN = "unknown"  # no such item here (never was, or already deleted)
    MISMATCH = "hash_mismatch"  # same uuid, other ciphertext: left alone
    REPLY_KEPT = "reply_kept"  # replies stay until the source has read them

    @property
    def explanation(self) -> str:
        return {
            ItemOutcome.DELETED: "deleted from the server",
            ItemOutcome.HELD: "acknowledged; deleted when the retention period has passed",
            ItemOutcome.ALREADY_ACKNOWLEDGED: "acknowledged before; nothing changed",
            ItemOutcome.UNKNOWN: "not on this server (already deleted, or never here); "
            "nothing changed",
            ItemOutcome.MISMATCH: "the server's ciphertext has another SHA-256; left alone",
            ItemOutcome.REPLY_KEPT: "a reply; kept so the source can read it",
        }[self]


@dataclass(frozen=True)
class ItemResult:
    uuid: str
    outcome: ItemOutcome


@dataclass(frozen=True)
class MatchedItems:
    """The submissions an acknowledgement names exactly, and what became of the rest."""

    matched: tuple[Submission, ...]
    others: tuple[ItemResult, ...]


def parse_workstation_key(data: bytes) -> bytes:
    """The 32-byte key from a file holding it raw, as 64 hex digits or as base64."""
    if len(data) == PUBLIC_KEY_BYTES:
        return data
    text = data.decode("ascii", errors="replace").strip()
    if _HEX_KEY.fullmatch(text):
        return bytes.fromhex(text)
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) == PUBLIC_KEY_BYTES:
        return raw
    raise WorkstationKeyInvalid(
        f"a workstation key is {PUBLIC_KEY_BYTES} bytes, raw, as hex or as base64"
    )


def read_workstation_key_file(path: Path) -> bytes:
    """Read and parse a key file named by an administrator."""
    try:
        return parse_workstation_key(path.read_bytes())
    except OSError as exc:
        raise WorkstationKeyInvalid(f"{path} cannot be read ({exc.strerror})") from exc


def pin_workstation_key(settings: Settings, key: bytes) -> str:
    """Store the key the server trusts (replacing any earlier one); return its fingerprint."""
    fingerprint = fingerprint_of(key)
    path = settings.workstation_key_path
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, key)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)
    return fingerprint


def read_pinned_workstation_key(settings: Settings) -> bytes | None:
    """The pinned key, or None if none was pinned. A damaged file is refused."""
    try:
        key = settings.workstation_key_path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise WorkstationKeyInvalid(
            f"{settings.workstation_key_path} cannot be read ({exc.strerror})"
        ) from exc
    if len(key) != PUBLIC_KEY_BYTES:
        raise WorkstationKeyInvalid(f"{settings.workstation_key_path} is damaged")
    return key


def check_acknowledgement(data: bytes, pinned_key: bytes | None) -> Acknowledgement:
    """The acknowledgement in ``data`` if the pinned workstation key signed it; else raise."""
    if pinned_key is None:
        raise NoWorkstationKey()
    try:
        signed = parse_signed_acknowledgement(data)
    except FormatError as exc:
        raise AcknowledgementRefused(str(exc)) from exc
    acknowledgement = signed.acknowledgement
    if acknowledgement.workstation_key != fingerprint_of(pinned_key):
        raise AcknowledgementRefused(
            f"It names workstation key {acknowledgement.workstation_key[:16]}…, not the one "
            f"pinned here ({fingerprint_of(pinned_key)[:16]}…)."
        )
    try:
        verify_signature(pinned_key, signed.signed_bytes, signed.signature)
    except BadSignature as exc:
        raise AcknowledgementRefused(
            "Its signature is not the pinned workstation's: it was changed or forged."
        ) from exc
    return acknowledgement


def acknowledged_at(
    db: Session, uuids: Iterable[str] | None = None
) -> dict[tuple[str, str], datetime]:
    """When each (uuid, ciphertext SHA-256) was first acknowledged, from the audit log.

    ``uuids`` limits the answer to those items; None reads every acknowledgement.
    """
    query = (
        select(AuditEntry.object, AuditEntry.ciphertext_sha256, AuditEntry.created_at)
        .where(AuditEntry.action == AuditAction.ACKNOWLEDGE.value)
        .order_by(AuditEntry.seq)
    )
    if uuids is not None:
        wanted = list(uuids)
        if not wanted:
            return {}
        query = query.where(AuditEntry.object.in_(wanted))
    first: dict[tuple[str, str], datetime] = {}
    for uuid, sha256, moment in db.execute(query).all():
        if uuid is not None and sha256 is not None:
            first.setdefault((uuid, sha256), moment)
    return first


def match_items(db: Session, acknowledgement: Acknowledgement) -> MatchedItems:
    """Split the acknowledged items into exact matches and the reasons for the rest."""
    uuids = [item.uuid for item in acknowledgement.items]
    rows = db.scalars(select(Submission).where(Submission.uuid.in_(uuids)))
    submissions = {submission.uuid: submission for submission in rows}
    replies = set(db.scalars(select(Reply.uuid).where(Reply.uuid.in_(uuids))))
    earlier = acknowledged_at(db, uuids)
    matched: list[Submission] = []
    others: list[ItemResult] = []
    for item in acknowledgement.items:
        submission = submissions.get(item.uuid)
        if submission is None:
            outcome = ItemOutcome.REPLY_KEPT if item.uuid in replies else ItemOutcome.UNKNOWN
            others.append(ItemResult(item.uuid, outcome))
        elif submission.sha256 != item.ciphertext_sha256:
            others.append(ItemResult(item.uuid, ItemOutcome.MISMATCH))
        elif (item.uuid, item.ciphertext_sha256) in earlier:
            others.append(ItemResult(item.uuid, ItemOutcome.ALREADY_ACKNOWLEDGED))
        else:
            matched.append(submission)
    return MatchedItems(tuple(matched), tuple(others))
