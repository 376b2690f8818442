"""What staff do with evidence, written once for the web interface and the API.

Each function takes a :class:`StaffActor` (the request's database session, the instance, the
audit log, the signed-in journalist and the channel), does its change, writes its audit entries
(one per item or source, action from :class:`AuditAction`, channel in the entry's detail) and
commits both together: an action is logged and done, or neither. The front ends find the
objects, turn their requests into these calls and the outcome into HTML or JSON.

Handing over ciphertext (one file or a bundle) checks every file against its recorded SHA-256
first. A damaged file is refused: whatever the request had changed is rolled back, one
``*_refused`` entry per damaged file is committed, and the :class:`StoredFileDamaged` error is
raised again for the front end to explain. Other failures (a file gone, an empty selection)
propagate unchanged, with nothing recorded.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from core.acknowledgements import (
    ItemOutcome,
    ItemResult,
    check_acknowledgement,
    match_items,
    read_pinned_workstation_key,
)
from core.audit import AuditLog
from core.audit_actions import AuditAction, Channel
from core.bundle import BundleStream, VerifiedFile, open_verified_file, stream_bundle
from core.deletion import DeletionSummary, delete_conversation, delete_items, delete_source
from core.errors import AcknowledgementError, StoredFileDamaged
from core.instance import Instance
from core.models import Journalist, Reply, Source, Submission
from core.replies import check_client_reply, store_reply
from core.retention import delete_submissions_acknowledged
from core.seen import mark_seen, mark_unseen

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StaffActor:
    """Who acts, through which channel, in which transaction."""

    db: Session
    instance: Instance
    audit: AuditLog
    journalist: Journalist
    channel: Channel

    def record(
        self,
        action: AuditAction,
        *,
        object: str | None = None,
        ciphertext_sha256: str | None = None,
        detail: str | None = None,
    ) -> None:
        """Add one audit entry in the actor's transaction (the caller commits it)."""
        self.audit.record(
            self.db,
            actor=self.journalist.uuid,
            action=action,
            object=object,
            ciphertext_sha256=ciphertext_sha256,
            detail=self.channel.detail(detail),
        )


def send_reply(
    actor: StaffActor, source: Source, ciphertext: bytes, *, reply_uuid: str | None = None
) -> Reply:
    """Store an encrypted reply, mark it seen by its author, record it and commit.

    Raises what ``store_reply`` raises (``ReplyUuidInUse``, ``ReplyError``) before anything is
    recorded.
    """
    reply = store_reply(
        actor.db,
        actor.instance,
        source=source,
        journalist=actor.journalist,
        ciphertext=ciphertext,
        reply_uuid=reply_uuid,
    )
    # A reply is activity: the source moves up the lists ordered by it.
    source.last_updated = datetime.now(UTC)
    mark_seen(actor.db, actor.journalist, replies=[reply])
    actor.record(AuditAction.REPLY, object=reply.uuid, ciphertext_sha256=reply.sha256)
    actor.db.commit()
    return reply


def send_client_reply(
    actor: StaffActor, source: Source, armored: str, *, reply_uuid: str | None = None
) -> Reply:
    """Store a reply an API client encrypted itself, once gpg shows the source can read it.

    It must be one armored message to exactly the source's reply key and the submission key
    (``core.replies.check_client_reply``), so a reply nobody can read never exists. Raises
    ``ReplyNotReadable`` (a ``ReplyError``) for anything else, then what ``send_reply`` raises.
    """
    check_client_reply(actor.instance, source, armored)
    return send_reply(actor, source, armored.encode("utf-8"), reply_uuid=reply_uuid)


def deliver_file(actor: StaffActor, item: Submission | Reply) -> VerifiedFile:
    """Check one stored file, record its download and commit; the caller sends and closes it.

    Recorded as the response starts: the client may still disconnect mid-file. The web
    channel also marks the item seen (and a submission downloaded); see ``Channel``.
    """
    try:
        verified = open_verified_file(actor.instance, item)
    except StoredFileDamaged as exc:
        refuse_damaged(actor, exc, AuditAction.DOWNLOAD_REFUSED)
        raise
    try:
        actor.record(AuditAction.DOWNLOAD, object=item.uuid, ciphertext_sha256=item.sha256)
        if actor.channel.marks_delivered_items_seen:
            _mark_delivered(actor, [item])
        actor.db.commit()
    except BaseException:
        verified.handle.close()
        raise
    return verified


def deliver_bundle(actor: StaffActor, items: Sequence[Submission | Reply]) -> BundleStream:
    """Check every file, record one ``bundle`` entry per item and commit; return the stream.

    Committed once every file has been checked and before the first byte is sent. The caller
    streams the bundle and closes it. Raises ``BundleError`` subclasses for a selection that
    cannot be bundled, with nothing recorded.
    """
    try:
        stream = stream_bundle(actor.instance, items)
    except StoredFileDamaged as exc:
        refuse_damaged(actor, exc, AuditAction.BUNDLE_REFUSED)
        raise
    try:
        for item in items:
            actor.record(
                AuditAction.BUNDLE,
                object=item.uuid,
                ciphertext_sha256=item.sha256,
                detail=stream.name if actor.channel is Channel.WEB else None,
            )
            if isinstance(item, Submission):
                # Whatever the channel: a downloaded bundle is what reaches the workstation, and
                # until one holds an item, "download unread" keeps offering it (core.inbox).
                item.bundled = True
        if actor.channel.marks_delivered_items_seen:
            _mark_delivered(actor, items)
        actor.db.commit()
    except BaseException:
        stream.close()
        raise
    return stream


def _mark_delivered(actor: StaffActor, items: Sequence[Submission | Reply]) -> None:
    for item in items:
        if isinstance(item, Submission):
            item.downloaded = True
    mark_seen(
        actor.db,
        actor.journalist,
        submissions=[i for i in items if isinstance(i, Submission)],
        replies=[i for i in items if isinstance(i, Reply)],
    )


def refuse_damaged(actor: StaffActor, error: StoredFileDamaged, action: AuditAction) -> None:
    """Roll back the request's changes, then commit one refusal entry per damaged file."""
    actor.db.rollback()
    for damaged in error.damaged:
        logger.warning(
            "Refused to send item %s: its stored ciphertext no longer matches its SHA-256",
            damaged.item_uuid,
        )
        actor.record(
            action,
            object=damaged.item_uuid,
            ciphertext_sha256=damaged.expected_sha256,
            detail=f"{'receipt' if damaged.receipt_of else 'ciphertext'} damaged, "
            f"found sha256 {damaged.found_sha256}",
        )
    actor.db.commit()


def set_star(actor: StaffActor, sources: Sequence[Source], starred: bool) -> None:
    """Star or unstar sources; only a source whose star changes gets an entry. Commits."""
    action = AuditAction.STAR if starred else AuditAction.UNSTAR
    for source in sources:
        if source.is_starred != starred:
            source.is_starred = starred
            actor.record(action, object=source.uuid)
    actor.db.commit()


def mark_items_seen(
    actor: StaffActor, submissions: Sequence[Submission], replies: Sequence[Reply]
) -> None:
    """Mark items seen by the actor, one ``mark_seen`` entry each. Commits."""
    mark_seen(actor.db, actor.journalist, submissions, replies)
    items: list[Submission | Reply] = [*submissions, *replies]
    for item in items:
        actor.record(AuditAction.MARK_SEEN, object=item.uuid)
    actor.db.commit()


def mark_items_unseen(
    actor: StaffActor, submissions: Sequence[Submission], replies: Sequence[Reply]
) -> None:
    """Forget that the actor saw these items (others' marks stay), one entry each. Commits."""
    mark_unseen(actor.db, actor.journalist, submissions, replies)
    items: list[Submission | Reply] = [*submissions, *replies]
    for item in items:
        actor.record(AuditAction.MARK_UNSEEN, object=item.uuid)
    actor.db.commit()


def delete_selected_items(
    actor: StaffActor, submissions: Sequence[Submission], replies: Sequence[Reply]
) -> DeletionSummary:
    """Record and delete these submissions and replies (rows, then files). Commits."""
    for submission in submissions:
        actor.record(
            AuditAction.DELETE_SUBMISSION,
            object=submission.uuid,
            ciphertext_sha256=submission.sha256,
        )
    for reply in replies:
        actor.record(AuditAction.DELETE_REPLY, object=reply.uuid, ciphertext_sha256=reply.sha256)
    return delete_items(actor.db, actor.instance, submissions, replies)


def delete_sources(actor: StaffActor, sources: Sequence[Source], *, whole_source: bool) -> None:
    """Delete each source's conversation, or the sources themselves (each committed alone)."""
    action = AuditAction.DELETE_SOURCE if whole_source else AuditAction.DELETE_CONVERSATION
    for source in sources:
        actor.record(action, object=source.uuid)
        if whole_source:
            delete_source(actor.db, actor.instance, source)
        else:
            delete_conversation(actor.db, actor.instance, source)


@dataclass(frozen=True)
class AcknowledgementOutcome:
    """Per acknowledged item, what the server did; ``bundle`` is the manifest's SHA-256."""

    bundle: str
    results: tuple[ItemResult, ...]

    def count(self, outcome: ItemOutcome) -> int:
        return sum(1 for result in self.results if result.outcome is outcome)


def accept_acknowledgement(actor: StaffActor, data: bytes) -> AcknowledgementOutcome:
    """Check a workstation's acknowledgement and act on exactly the items it names.

    A file the pinned workstation key did not sign (forged, altered, another key, malformed) is
    refused whole: one ``acknowledgement_refused`` entry is committed (a refused upload may mean
    a stolen staff credential) and the ``AcknowledgementError`` is raised again. Otherwise each
    submission whose uuid and ciphertext SHA-256 both match gets an ``acknowledge`` entry and,
    with a retention period of 0, is deleted at once (``delete_acknowledged``); the rest are
    reported and left alone. Commits.
    """
    try:
        acknowledgement = check_acknowledgement(
            data, read_pinned_workstation_key(actor.instance.settings)
        )
    except AcknowledgementError as exc:
        actor.db.rollback()
        actor.record(AuditAction.ACKNOWLEDGEMENT_REFUSED, detail=str(exc)[:500])
        actor.db.commit()
        raise
    found = match_items(actor.db, acknowledgement)
    bundle = acknowledgement.bundle_manifest_sha256
    for submission in found.matched:
        actor.record(
            AuditAction.ACKNOWLEDGE,
            object=submission.uuid,
            ciphertext_sha256=submission.sha256,
            detail=f"bundle {bundle}",
        )
    matched_uuids = [submission.uuid for submission in found.matched]
    if actor.instance.settings.retention_days == 0:
        delete_submissions_acknowledged(
            actor.db,
            actor.instance,
            actor.audit,
            list(found.matched),
            actor=actor.journalist.uuid,
            detail=actor.channel.detail("acknowledged, retention 0 days"),
        )
        done = ItemOutcome.DELETED
    else:
        done = ItemOutcome.HELD
    actor.db.commit()
    results = {result.uuid: result for result in found.others}
    results.update({uuid: ItemResult(uuid, done) for uuid in matched_uuids})
    return AcknowledgementOutcome(
        bundle, tuple(results[item.uuid] for item in acknowledgement.items)
    )
