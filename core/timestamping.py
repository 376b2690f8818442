"""Trusted timestamps on what the server received, revealing nothing about it.

The flow of one run (`run_timestamping`, started by `skrynka timestamp run` from a systemd timer,
so a slow or dead authority never touches the web workers):

1. Trees. Submissions not yet in a tree are "pending". When the current interval slot
   (`timestamp_interval_minutes`, counted from the Unix epoch, so tree times do not follow
   arrivals) has no tree yet and something is pending, or when `timestamp_max_submissions` are
   pending, `build_tree` re-hashes each pending ciphertext and encrypted receipt from the store
   (a file that no longer matches its recorded SHA-256 is left out and reported), computes the
   Merkle tree (crypto.merkle), and stores the tree with every leaf's inclusion path in one
   transaction, with a `timestamp_tree` audit entry. At most `timestamp_max_submissions` go
   into one tree; more make several.
2. Tokens. For every tree that lacks a token from a configured authority, the root (32 raw
   bytes) is sent to it through tor (core.tsa), tried up to three times with a pause between.
   A verified token is stored with a `timestamp_token` audit entry; when every try failed, the
   tree records the failure, a `timestamp_failed` entry names the authority and the reason, and
   that authority's remaining trees wait for the next run, which tries again. No database
   transaction is open while the network is used.

Because the plaintext hashes exist only inside the encrypted receipts, a root (or a token)
discloses nothing about content; after decryption, plaintext hash -> receipt -> ciphertext hash
-> root -> token shows the evidence existed at the token's time.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.orm import Session

from core.audit import AuditLog
from core.errors import CiphertextStoreError, TimestampError
from core.instance import Instance
from core.models import Submission, TimestampLeaf, TimestampToken, TimestampTree
from core.settings import tsa_url_list
from core.tsa import TsaClient
from crypto.merkle import all_paths, leaf_hash, tree_root

ACTOR = "timestamping"
RETRY_DELAYS_SECONDS = (5.0, 30.0)
HASH_CHUNK = 1024 * 1024

# What staff see for an item (journalist interface, API extension field).
STAMPED = "stamped"
WAITING_FOR_TOKEN = "waiting for a token"  # noqa: S105 (a state, not a secret)
NOT_IN_TREE = "not yet in a tree"


@dataclass
class RunReport:
    trees_built: list[int] = field(default_factory=list)
    tokens: list[tuple[int, str]] = field(default_factory=list)
    failures: list[tuple[int, str, str]] = field(default_factory=list)
    skipped_damaged: list[str] = field(default_factory=list)
    busy: bool = False


@dataclass(frozen=True)
class LeafProof:
    index: int
    file_sha256: str
    path: list[str]


@dataclass(frozen=True)
class ItemProof:
    """A submission's place in a stamped tree, as the transfer bundle carries it."""

    tree: TimestampTree
    ciphertext: LeafProof
    receipt: LeafProof | None


def pending_query() -> ColumnElement[bool]:
    return ~exists().where(TimestampLeaf.submission_id == Submission.id)


def count_pending(db: Session) -> int:
    return int(db.scalar(select(func.count(Submission.id)).where(pending_query())) or 0)


def count_unstamped(db: Session) -> int:
    """Submissions with no token yet: not in a tree, or in a tree still waiting for one."""
    stamped = exists().where(
        TimestampLeaf.submission_id == Submission.id,
        exists().where(TimestampToken.tree_id == TimestampLeaf.tree_id),
    )
    return int(db.scalar(select(func.count(Submission.id)).where(~stamped)) or 0)


def _slot(moment: datetime, minutes: int) -> int:
    return int(moment.timestamp()) // (minutes * 60)


def tree_due(db: Session, instance: Instance, now: datetime) -> bool:
    """Whether a tree should be built now (see the module doc, step 1)."""
    pending = count_pending(db)
    if pending == 0:
        return False
    if pending >= instance.settings.timestamp_max_submissions:
        return True
    last = db.scalar(select(func.max(TimestampTree.built_at)))
    if last is None:
        return True
    minutes = instance.settings.timestamp_interval_minutes
    return _slot(last, minutes) != _slot(now, minutes)


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _checked_leaves(instance: Instance, submission: Submission
                    ) -> list[tuple[str, str]] | None:
    """(role, sha256) of the submission's files as they are on disk; None if one changed."""
    wanted = [("ciphertext", submission.filename, submission.sha256)]
    if submission.receipt_filename and submission.receipt_sha256:
        wanted.append(("receipt", submission.receipt_filename, submission.receipt_sha256))
    leaves = []
    for role, filename, recorded in wanted:
        try:
            found = _sha256_of(instance.store.path_of(submission.source.filesystem_id, filename))
        except (OSError, CiphertextStoreError):
            return None
        if found != recorded:
            return None
        leaves.append((role, found))
    return leaves


def build_tree(db: Session, instance: Instance, audit: AuditLog, submissions: Sequence[Submission],
               now: datetime, report: RunReport) -> TimestampTree | None:
    """Store one tree over ``submissions`` (in the caller's transaction); None if none usable."""
    rows: list[tuple[Submission, str, str]] = []
    for submission in submissions:
        checked = _checked_leaves(instance, submission)
        if checked is None:
            report.skipped_damaged.append(submission.uuid)
            audit.record(db, actor=ACTOR, action="timestamp_skipped", object=submission.uuid,
                         ciphertext_sha256=submission.sha256,
                         detail="a stored file no longer matches its recorded SHA-256, so it "
                                "was left out of the tree; run `skrynka check`")
            continue
        rows.extend((submission, role, sha) for role, sha in checked)
    if not rows:
        return None
    leaves = [leaf_hash(bytes.fromhex(sha)) for _, _, sha in rows]
    paths = all_paths(leaves)
    root = tree_root(leaves).hex()
    tree = TimestampTree(root=root, size=len(rows), built_at=now, failed_attempts=0)
    db.add(tree)
    db.flush()
    for position, ((submission, role, sha), path) in enumerate(zip(rows, paths, strict=True)):
        db.add(TimestampLeaf(tree_id=tree.id, position=position, submission_id=submission.id,
                             role=role, file_sha256=sha, path=",".join(p.hex() for p in path)))
    audit.record(db, actor=ACTOR, action="timestamp_tree", object=f"tree:{tree.id}",
                 detail=f"Merkle root {root} over {len(rows)} files of "
                        f"{len({s.id for s, _, _ in rows})} submissions")
    report.trees_built.append(tree.id)
    return tree


def build_due_trees(instance: Instance, audit: AuditLog, now: datetime, report: RunReport
                    ) -> None:
    limit = instance.settings.timestamp_max_submissions
    with instance.sessions() as db:
        if not tree_due(db, instance, now):
            return
        while True:
            batch = list(db.scalars(
                select(Submission).where(pending_query())
                .order_by(Submission.id).limit(limit)
            ))
            if not batch:
                break
            build_tree(db, instance, audit, batch, now, report)
            db.commit()
            if len(batch) < limit:
                break


def _trees_missing(db: Session, url: str) -> list[tuple[int, str]]:
    have = exists().where(TimestampToken.tree_id == TimestampTree.id,
                          TimestampToken.tsa_url == url)
    return [(row.id, row.root) for row in
            db.execute(select(TimestampTree.id, TimestampTree.root).where(~have)
                       .order_by(TimestampTree.id))]


def stamp_trees(instance: Instance, client: TsaClient, audit: AuditLog, report: RunReport,
                sleep: Callable[[float], None], delays: Sequence[float]) -> None:
    for url in client.urls:
        with instance.sessions() as db:
            missing = _trees_missing(db, url)
        for tree_id, root in missing:
            error: TimestampError | None = None
            for attempt in range(len(delays) + 1):
                try:
                    token = client.stamp(url, bytes.fromhex(root))
                except TimestampError as exc:
                    error = exc
                    if attempt < len(delays):
                        sleep(delays[attempt])
                    continue
                error = None
                with instance.sessions() as db:
                    db.add(TimestampToken(tree_id=tree_id, tsa_url=url, response=token.response,
                                          gen_time=token.facts.gen_time,
                                          obtained_at=datetime.now(UTC)))
                    audit.record(db, actor=ACTOR, action="timestamp_token",
                                 object=f"tree:{tree_id}",
                                 detail=f"token from {url}, time "
                                        f"{token.facts.gen_time.isoformat()}, serial "
                                        f"{token.facts.serial_number}")
                    db.commit()
                report.tokens.append((tree_id, url))
                break
            if error is not None:
                with instance.sessions() as db:
                    tree = db.get(TimestampTree, tree_id)
                    if tree is not None:
                        tree.failed_attempts += 1
                        tree.last_error = str(error)
                        tree.last_attempt_at = datetime.now(UTC)
                    audit.record(db, actor=ACTOR, action="timestamp_failed",
                                 object=f"tree:{tree_id}", detail=str(error))
                    db.commit()
                report.failures.append((tree_id, url, str(error)))
                # The authority is down or refusing: leave its other trees for the next run
                # instead of spending every retry of this one on them.
                break


@contextmanager
def run_lock(lock_path: Path) -> Iterator[bool]:
    """Hold ``lock_path`` (Settings.timestamp_lock_path); yields False if another run holds it."""
    fd = os.open(lock_path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def run_timestamping(
    instance: Instance,
    client: TsaClient,
    *,
    now: datetime | None = None,
    sleep: Callable[[float], None] = time.sleep,
    delays: Sequence[float] = RETRY_DELAYS_SECONDS,
) -> RunReport:
    """One run: build the trees that are due, then ask for every missing token."""
    report = RunReport()
    audit = AuditLog(instance.signer)
    with run_lock(instance.settings.timestamp_lock_path) as held:
        if not held:
            report.busy = True
            return report
        build_due_trees(instance, audit, (now or datetime.now(UTC)).astimezone(UTC), report)
        stamp_trees(instance, client, audit, report, sleep, delays)
    return report


def configured(instance: Instance) -> bool:
    return bool(tsa_url_list(instance.settings))


def stamp_states(db: Session, submission_ids: Sequence[int]) -> dict[int, str]:
    """For each submission id: STAMPED, WAITING_FOR_TOKEN or NOT_IN_TREE."""
    states = dict.fromkeys(submission_ids, NOT_IN_TREE)
    if not submission_ids:
        return states
    rows = db.execute(
        select(TimestampLeaf.submission_id,
               exists().where(TimestampToken.tree_id == TimestampLeaf.tree_id))
        .where(TimestampLeaf.submission_id.in_(list(submission_ids)))
    )
    for submission_id, has_token in rows:
        states[submission_id] = STAMPED if has_token else WAITING_FOR_TOKEN
    return states


def item_proofs(db: Session, submission_ids: Sequence[int]) -> dict[int, ItemProof]:
    """The proofs of those submissions whose tree has at least one token."""
    proofs: dict[int, ItemProof] = {}
    if not submission_ids:
        return proofs
    leaves = db.scalars(
        select(TimestampLeaf).where(TimestampLeaf.submission_id.in_(list(submission_ids)))
        .where(exists().where(TimestampToken.tree_id == TimestampLeaf.tree_id))
        .order_by(TimestampLeaf.submission_id, TimestampLeaf.position)
    )
    by_submission: dict[int, dict[str, TimestampLeaf]] = {}
    for leaf in leaves:
        by_submission.setdefault(leaf.submission_id, {})[leaf.role] = leaf
    for submission_id, roles in by_submission.items():
        main = roles.get("ciphertext")
        if main is None:
            continue
        receipt = roles.get("receipt")
        proofs[submission_id] = ItemProof(
            tree=main.tree,
            ciphertext=_leaf_proof(main),
            receipt=None if receipt is None else _leaf_proof(receipt),
        )
    return proofs


def _leaf_proof(leaf: TimestampLeaf) -> LeafProof:
    return LeafProof(index=leaf.position, file_sha256=leaf.file_sha256,
                     path=[p for p in leaf.path.split(",") if p])
