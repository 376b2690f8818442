"""Fixity: re-reading every original and working copy and checking them against the store.

`check_fixity` reads each file once, in large chunks, and feeds the chunks to SHA-256 and SHA-512
in two threads of their own (crypto.digest's hash lanes; hashlib releases the GIL), so the two
digests cost about one pass of the slower one. Each file's size, SHA-256 and SHA-512 are
compared with what the store recorded when it was made (`item.json` of an original, `copy.json`
of a working copy). A missing or unreadable file is a failure like a changed one; nothing stops
the run early, so one report names every problem.

`record_fixity` appends one signed `fixity` custody entry summarising the run: when it started
and ended, every original and copy checked, the bytes read, and each failure with the hashes
expected and found. deploy/skrynka-workstation-fixity.timer runs `skrynka-workstation fixity`
weekly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crypto.digest import PlaintextDigest, PlaintextHasher
from workstation.catalogue import list_items
from workstation.custody import CustodyLog, Entry
from workstation.store import EvidenceStore, utc_now
from workstation.working_copy import list_working_copies

READ_BYTES = 8 * 1024 * 1024


@dataclass
class FixityReport:
    started_at: str
    finished_at: str = ""
    originals: list[str] = field(default_factory=list)
    copies: list[str] = field(default_factory=list)
    bytes_read: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def as_details(self) -> dict[str, Any]:
        return {
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "originals_checked": self.originals,
            "copies_checked": self.copies,
            "bytes_read": self.bytes_read,
            "failed": self.failures,
        }


def hash_file(path: Path) -> PlaintextDigest:
    """Size, SHA-256 and SHA-512 of a file in one read (see the module doc)."""
    hasher = PlaintextHasher()
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            # The whole file is read once, front to back: tell the kernel to read ahead.
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
            while chunk := os.read(fd, READ_BYTES):
                hasher.update(chunk)
        finally:
            os.close(fd)
    except BaseException:
        hasher.close()
        raise
    return hasher.digest()


def _check(path: Path, expected: dict[str, Any], what: str, report: FixityReport) -> None:
    try:
        found = hash_file(path)
    except OSError as exc:
        report.failures.append({"what": what, "path": str(path), "problem":
                                f"cannot be read ({exc.strerror or exc})"})
        return
    report.bytes_read += found.size
    wrong = [key for key in ("size", "sha256", "sha512") if getattr(found, key) != expected[key]]
    if wrong:
        report.failures.append({
            "what": what, "path": str(path),
            "problem": f"{', '.join(wrong)} changed",
            "expected": {key: expected[key] for key in wrong},
            "found": {key: getattr(found, key) for key in wrong},
        })


def check_fixity(store: EvidenceStore) -> FixityReport:
    report = FixityReport(started_at=utc_now())
    for item in list_items(store):
        report.originals.append(item.item_id)
        _check(item.content_path,
               {"size": item.size, "sha256": item.sha256, "sha512": item.sha512},
               f"original {item.item_id}", report)
        for copy in list_working_copies(store, item.item_id):
            report.copies.append(copy.copy_sha256)
            _check(copy.path,
                   {"size": copy.record["size"], "sha256": copy.copy_sha256,
                    "sha512": copy.record["copy_sha512"]},
                   f"working copy {copy.copy_sha256} of {item.item_id}", report)
    report.finished_at = utc_now()
    return report


def record_fixity(custody: CustodyLog, actor: str, report: FixityReport) -> Entry:
    return custody.append(actor, "fixity", None, None, report.as_details())
