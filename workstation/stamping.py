"""Stamping across the air gap: the custody log's head, and renewals of the tokens the store holds.

Only a hash crosses the gap. The flow:

1. `write_request` makes a one-line *stamp request* and remembers it in
   `DIR/stamps/pending/<sha256 of the line>/`:
   - custody head: ``skrynka-custody-head v1 seq=<n> hash=<hex>``, the last entry of the log;
   - renewal (RFC 4998's idea of an evidence record): ``skrynka-renewal v1 sha512=<hex>``, the
     SHA-512 of a renewal document (`renewal.json`, kept in the store) that lists the SHA-512 of
     every token the store holds (bundle tokens, earlier head stamps and renewals) and of every
     original. Stamping it again before a TSA certificate expires, or when SHA-256 weakens,
     extends every earlier proof: the new token shows that the old tokens (and the originals'
     SHA-512) existed while the old certificates and hashes were still sound.
2. Staff carry the request file to the journalist interface ("Timestamp a hash"), which has it
   stamped (SHA-512 imprint) and gives back a `.tsr` file.
3. `record_token` finds the pending request the token stamps, verifies it against the trusted
   TSA roots, and records a signed `timestamp` custody entry with the verdict. A verified token
   moves the request to `DIR/stamps/<purpose>-<n>/` with `token.tsr`; a token that does not
   verify (untrusted or expired TSA certificate) is recorded as refused and the request stays
   pending; a token for no pending request changes nothing and says so.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crypto.errors import TimestampTokenInvalid, TimestampTokenMismatch
from crypto.timestamp_token import verify_token
from formats.stamp_request import CUSTODY_HEAD, RENEWAL, custody_head_line, renewal_line
from workstation.custody import CustodyLog
from workstation.errors import StampTokenRefused, StampTokenUnmatched
from workstation.store import (
    EvidenceStore,
    fsync_dir,
    utc_now,
    write_bytes_atomic,
    write_json_atomic,
)
from workstation.timestamps import trusted_roots

HEAD = CUSTODY_HEAD
RENEWAL_FORMAT = "skrynka-timestamp-renewal"
RENEWAL_VERSION = 1
REQUEST_SUFFIX = ".stamp-request"
MAX_TOKEN_BYTES = 256 * 1024


@dataclass(frozen=True)
class StampRequest:
    purpose: str
    message: bytes
    document: bytes | None = None

    @property
    def key(self) -> str:
        return hashlib.sha256(self.message).hexdigest()


@dataclass(frozen=True)
class StampRecord:
    purpose: str
    directory: Path
    gen_time: str
    tsa_subject: str
    message: str


def stamps_dir(store: EvidenceStore) -> Path:
    return store.root / "stamps"


def pending_dir(store: EvidenceStore) -> Path:
    return stamps_dir(store) / "pending"


def head_request(custody: CustodyLog) -> StampRequest:
    entries = custody.entries()
    if not entries:
        raise StampTokenUnmatched("the custody log is empty; there is no head to stamp yet")
    last = entries[-1]
    return StampRequest(HEAD, custody_head_line(int(last["seq"]), str(last["hash"])))


def _sha512_file(path: Path) -> str:
    digest = hashlib.sha512()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def renewal_request(store: EvidenceStore, reason: str) -> StampRequest:
    """A renewal document over every token and original the store holds, and its request."""
    tokens = sorted(
        [*store.originals_dir.glob("*/timestamps/*/token-*.tsr"),
         *stamps_dir(store).glob("*/token.tsr")]
    )
    originals = []
    for item_json in sorted(store.originals_dir.glob("*/item.json")):
        record = json.loads(item_json.read_bytes())
        originals.append({"id": record["id"], "sha512": record["sha512"]})
    document = {
        "format": RENEWAL_FORMAT,
        "version": RENEWAL_VERSION,
        "created_at": utc_now(),
        "reason": reason,
        "tokens": [
            {"file": str(path.relative_to(store.root)), "sha512": _sha512_file(path)}
            for path in tokens
        ],
        "originals": originals,
    }
    data = (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
    return StampRequest(RENEWAL, renewal_line(data), data)


def write_request(store: EvidenceStore, request: StampRequest, out_dir: Path) -> Path:
    """Remember the request in the store and write the file staff carry to the server."""
    if not out_dir.is_dir():
        raise StampTokenUnmatched(f"{out_dir} is not a directory; create it on the medium first")
    pending = pending_dir(store) / request.key
    pending.mkdir(parents=True, exist_ok=True)
    write_json_atomic(pending / "request.json", {"purpose": request.purpose,
                                                 "requested_at": utc_now()}, mode=0o444)
    write_bytes_atomic(pending / "message.txt", request.message, mode=0o444)
    if request.document is not None:
        write_bytes_atomic(pending / "renewal.json", request.document, mode=0o444)
    out = out_dir / f"{request.purpose}-{request.key[:12]}{REQUEST_SUFFIX}"
    write_bytes_atomic(out, request.message, mode=0o644)
    return out


def _pending_requests(store: EvidenceStore) -> list[tuple[Path, dict[str, Any], bytes]]:
    found = []
    directory = pending_dir(store)
    for pending in sorted(directory.iterdir()) if directory.is_dir() else []:
        try:
            meta = json.loads((pending / "request.json").read_bytes())
            message = (pending / "message.txt").read_bytes()
        except (OSError, ValueError):
            continue
        found.append((pending, meta, message))
    return found


def _next_name(store: EvidenceStore, purpose: str, message: bytes) -> str:
    if purpose == HEAD:
        seq = re.search(rb"seq=(\d+)", message)
        return f"{HEAD}-{int(seq.group(1)) if seq else 0}"
    count = len(list(stamps_dir(store).glob(f"{RENEWAL}-*")))
    return f"{RENEWAL}-{count + 1}"


def record_token(store: EvidenceStore, custody: CustodyLog, token_file: Path, actor: str
                 ) -> StampRecord:
    """Verify a returned token against its pending request and record the verdict."""
    try:
        token = token_file.read_bytes()[:MAX_TOKEN_BYTES + 1]
    except OSError as exc:
        raise StampTokenUnmatched(f"{token_file} cannot be read ({exc.strerror})") from exc
    roots = trusted_roots(store)
    for pending, meta, message in _pending_requests(store):
        purpose = str(meta.get("purpose"))
        try:
            facts = verify_token(token, message, roots)
        except TimestampTokenMismatch:
            continue
        except TimestampTokenInvalid as exc:
            custody.append(actor, "timestamp", None, None, {
                "purpose": purpose, "message": message.decode("ascii", "replace").strip(),
                "verdict": "refused", "reason": exc.reason,
                "token_sha256": hashlib.sha256(token).hexdigest(),
            })
            raise StampTokenRefused(exc.reason) from exc
        name = _next_name(store, purpose, message)
        target = stamps_dir(store) / name
        write_bytes_atomic(pending / "token.tsr", token, mode=0o444)
        gen_time = facts.gen_time.strftime("%Y-%m-%dT%H:%M:%SZ")
        custody.append(actor, "timestamp", None, None, {
            "purpose": purpose, "message": message.decode("ascii").strip(),
            "verdict": "verified", "gen_time": gen_time, "tsa_subject": facts.tsa_subject,
            "tsa_certificate_not_after": facts.tsa_not_after.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "token_sha256": hashlib.sha256(token).hexdigest(), "stored_as": f"stamps/{name}",
        })
        os.rename(pending, target)
        fsync_dir(target.parent)
        return StampRecord(purpose, target, gen_time, facts.tsa_subject,
                           message.decode("ascii").strip())
    raise StampTokenUnmatched(
        f"{token_file.name} stamps none of the pending requests (a token for other data, or"
        " for a request already recorded); nothing was recorded"
    )


def nearest_expiry(store: EvidenceStore) -> list[tuple[str, str]]:
    """(TSA certificate not-after, where) of every verified token, soonest first."""
    found: list[tuple[str, str]] = []
    for proof in store.originals_dir.glob("*/timestamps/*/proof.json"):
        for token in json.loads(proof.read_bytes()).get("tokens", []):
            if token.get("tsa_certificate_not_after"):
                found.append((token["tsa_certificate_not_after"],
                              str(proof.parent.relative_to(store.root))))
    for entry in custody_timestamp_entries(store):
        after = entry.get("tsa_certificate_not_after")
        if after:
            found.append((str(after), str(entry.get("stored_as"))))
    return sorted(found)


def custody_timestamp_entries(store: EvidenceStore) -> list[dict[str, Any]]:
    entries = []
    with store.custody_log_path.open("rb") as handle:
        for line in handle:
            if b'"timestamp"' in line:
                entry = json.loads(line)
                if entry.get("action") == "timestamp" and entry["details"].get(
                        "verdict") == "verified":
                    entries.append(entry["details"])
    return entries
