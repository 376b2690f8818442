"""The custody log: append-only JSON lines, hash-chained and signed by the workstation key.

Each line is one entry:

    {"seq": 7, "time": "...Z", "actor": "anna", "action": "copy",
     "item": "<item id>", "item_sha256": "<hex>", "details": {...},
     "prev": "<hash of entry 6>", "hash": "<hex>", "signature": "<base64>"}

`hash` is the SHA-256 of the entry's canonical bytes (UTF-8 JSON of every key except `hash` and
`signature`, keys sorted, no spaces) and `signature` is the Ed25519 signature of those same
bytes. Because `prev` is inside what is hashed and signed, editing, removing or reordering an
entry breaks the chain at that entry; a signed copy of the last entry's seq and hash
(`custody.head`) catches a log cut short at its end.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from crypto.errors import BadSignature
from crypto.signing import Signer, verify_signature
from workstation.errors import CustodyBroken
from workstation.store import fsync_dir, utc_now, write_json_atomic

# "unreadable": a reply in an imported bundle that did not decrypt (kept out of the store).
ACTIONS = frozenset(
    {"import", "view", "copy", "render", "export", "delete", "verify", "timestamp", "fixity",
     "unreadable", "case", "assess", "confirm", "metadata", "perceptual-hash", "acknowledge",
     "incident"}
)
GENESIS = "0" * 64
ENTRY_KEYS = frozenset(
    {"seq", "time", "actor", "action", "item", "item_sha256", "details", "prev", "hash",
     "signature"}
)

Entry = dict[str, Any]


def canonical_bytes(value: dict[str, Any]) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def signed_part(entry: Entry) -> bytes:
    return canonical_bytes({k: v for k, v in entry.items() if k not in ("hash", "signature")})


def check_entry(entry: Entry, public_key: bytes) -> None:
    """Check one entry's own hash and signature (not its place in a chain)."""
    raw_seq = entry.get("seq")
    seq = raw_seq if isinstance(raw_seq, int) else -1
    if set(entry) != ENTRY_KEYS:
        raise CustodyBroken(seq, f"unexpected or missing fields {sorted(set(entry) ^ ENTRY_KEYS)}")
    if entry["action"] not in ACTIONS:
        raise CustodyBroken(seq, f"unknown action {entry['action']!r}")
    body = signed_part(entry)
    if hashlib.sha256(body).hexdigest() != entry["hash"]:
        raise CustodyBroken(seq, "entry content does not match its hash (edited)")
    try:
        signature = base64.b64decode(str(entry["signature"]), validate=True)
        verify_signature(public_key, body, signature)
    except (BadSignature, binascii.Error, ValueError) as exc:
        raise CustodyBroken(seq, "signature is not by this workstation's key") from exc


def parse_lines(lines: Iterable[bytes]) -> Iterator[Entry]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError as exc:
            raise CustodyBroken(number, "line is not JSON") from exc
        if not isinstance(entry, dict):
            raise CustodyBroken(number, "line is not a JSON object")
        yield entry


def check_chain(entries: Iterable[Entry], public_key: bytes) -> tuple[int, str]:
    """Check a complete log from entry 1; return the last (seq, hash)."""
    expected_seq = 1
    prev = GENESIS
    for entry in entries:
        if entry.get("seq") != expected_seq:
            raise CustodyBroken(
                expected_seq,
                f"expected entry {expected_seq}, found {entry.get('seq')!r}"
                " (an entry was removed or reordered)",
            )
        check_entry(entry, public_key)
        if entry["prev"] != prev:
            raise CustodyBroken(expected_seq, "prev does not match the hash of the entry before it")
        prev = str(entry["hash"])
        expected_seq += 1
    return expected_seq - 1, prev


class CustodyLog:
    """Appends signed entries to one store's custody log."""

    def __init__(self, log_path: Path, head_path: Path, signer: Signer) -> None:
        self.log_path = log_path
        self.head_path = head_path
        self.signer = signer

    def entries(self) -> list[Entry]:
        with self.log_path.open("rb") as handle:
            return list(parse_lines(handle))

    def _tail(self) -> tuple[int, str]:
        entries = self.entries()
        if not entries:
            return 0, GENESIS
        return int(entries[-1]["seq"]), str(entries[-1]["hash"])

    def prepare(self, actor: str, records: Iterable[tuple[str, str | None, str | None,
                                                           dict[str, Any]]]) -> list[Entry]:
        """Sign entries that would follow the log's current end, without writing them.

        `records` are (action, item, item_sha256, details). The entries are complete and
        signed, so a package can carry them, but the log claims nothing until
        `commit(entries)` writes them; a command that fails in between leaves no trace.
        """
        seq, prev = self._tail()
        prepared: list[Entry] = []
        for action, item, item_sha256, details in records:
            if action not in ACTIONS:
                raise ValueError(f"unknown custody action {action!r}")
            entry: Entry = {
                "seq": seq + 1,
                "time": utc_now(),
                "actor": actor,
                "action": action,
                "item": item,
                "item_sha256": item_sha256,
                "details": details,
                "prev": prev,
            }
            body = signed_part(entry)
            entry["hash"] = hashlib.sha256(body).hexdigest()
            entry["signature"] = base64.b64encode(self.signer.sign(body)).decode("ascii")
            prepared.append(entry)
            seq, prev = seq + 1, str(entry["hash"])
        return prepared

    def commit(self, entries: list[Entry]) -> None:
        """Append prepared entries in one write; refuse if the log moved on since `prepare`."""
        if not entries:
            return
        if self._tail() != (int(entries[0]["seq"]) - 1, str(entries[0]["prev"])):
            raise CustodyBroken(
                int(entries[0]["seq"]),
                "the log changed while these entries were being prepared (another command"
                " wrote to it)",
            )
        data = b"".join(canonical_bytes(entry) + b"\n" for entry in entries)
        # One O_APPEND write + fsync: the batch is on disk whole before anything depends on it.
        fd = os.open(self.log_path, os.O_WRONLY | os.O_APPEND)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        self._write_head(int(entries[-1]["seq"]), str(entries[-1]["hash"]))

    def append(
        self,
        actor: str,
        action: str,
        item: str | None,
        item_sha256: str | None,
        details: dict[str, Any] | None = None,
    ) -> Entry:
        [entry] = self.prepare(actor, [(action, item, item_sha256, details or {})])
        self.commit([entry])
        return entry

    def _write_head(self, seq: int, entry_hash: str) -> None:
        head = {"seq": seq, "hash": entry_hash}
        signature = base64.b64encode(self.signer.sign(canonical_bytes(head))).decode("ascii")
        write_json_atomic(self.head_path, {**head, "signature": signature})
        fsync_dir(self.head_path.parent)

    def history_of(self, item_id: str) -> list[Entry]:
        return [entry for entry in self.entries() if entry.get("item") == item_id]


def verify_custody(log_path: Path, head_path: Path, public_key: bytes) -> int:
    """Verify the whole log and its signed head; return the number of entries."""
    with log_path.open("rb") as handle:
        seq, last_hash = check_chain(parse_lines(handle), public_key)
    if not head_path.exists():
        if seq == 0:
            return 0
        raise CustodyBroken(seq, "custody.head is missing, so the end of the log cannot be checked")
    head = json.loads(head_path.read_bytes())
    try:
        signature = base64.b64decode(str(head["signature"]), validate=True)
        verify_signature(
            public_key, canonical_bytes({"seq": head["seq"], "hash": head["hash"]}), signature
        )
    except (BadSignature, binascii.Error, ValueError, KeyError) as exc:
        raise CustodyBroken(seq, "custody.head signature is not by this workstation's key") from exc
    if head["seq"] != seq or head["hash"] != last_hash:
        raise CustodyBroken(
            min(int(head["seq"]), seq) + 1,
            f"log ends at entry {seq} but the signed head names entry {head['seq']}"
            " (entries removed from the end, or the head replaced)",
        )
    return seq
