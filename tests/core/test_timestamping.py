"""Trusted timestamps on the server: Merkle trees over received ciphertext and receipts, RFC 3161
tokens on their roots from a real authority (`openssl ts -reply` on loopback), checked again
here by `openssl ts -verify` alone."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from core.audit import verify_audit_log
from core.instance import Instance
from core.models import AuditEntry, Submission, TimestampLeaf, TimestampToken, TimestampTree
from core.timestamping import (
    NOT_IN_TREE,
    STAMPED,
    WAITING_FOR_TOKEN,
    item_proofs,
    run_timestamping,
    stamp_states,
)
from core.tsa import TsaClient, tsa_client_from
from crypto.merkle import leaf_hash, root_from_path
from tests.support.staff import make_source
from tests.support.tsa import TimestampAuthority, make_test_ca, openssl_verify


def client_of(instance: Instance) -> TsaClient:
    client = tsa_client_from(instance.settings)
    assert client is not None
    return client


def run(instance: Instance, now: datetime | None = None):  # type: ignore[no-untyped-def]
    return run_timestamping(instance, client_of(instance), now=now, sleep=lambda _s: None,
                            delays=(0.0,))


def actions(instance: Instance) -> list[str]:
    with instance.sessions() as db:
        return [e.action for e in db.scalars(select(AuditEntry).order_by(AuditEntry.seq))]


def test_a_tree_covers_every_ciphertext_and_receipt_and_its_token_verifies_with_openssl(
    stamping_instance: Instance, tsa: TimestampAuthority, tmp_path: Path
) -> None:
    instance = stamping_instance
    make_source(instance, "first", files=(("a.jpg", b"jpeg" * 100),))
    make_source(instance, "second")
    report = run(instance)
    assert len(report.trees_built) == 1
    assert report.tokens == [(report.trees_built[0], tsa.url)]
    with instance.sessions() as db:
        tree = db.scalars(select(TimestampTree)).one()
        submissions = list(db.scalars(select(Submission)))
        expected = sorted([s.sha256 for s in submissions]
                          + [s.receipt_sha256 for s in submissions if s.receipt_sha256])
        leaves = list(db.scalars(select(TimestampLeaf).order_by(TimestampLeaf.position)))
        assert sorted(leaf.file_sha256 for leaf in leaves) == expected
        assert tree.size == len(leaves) == 6
        for leaf in leaves:
            path = [bytes.fromhex(p) for p in leaf.path.split(",") if p]
            root = root_from_path(leaf_hash(bytes.fromhex(leaf.file_sha256)), leaf.position,
                                  tree.size, path)
            assert root.hex() == tree.root
        token = db.scalars(select(TimestampToken)).one()
        (tmp_path / "token.tsr").write_bytes(token.response)
        (tmp_path / "root.bin").write_bytes(bytes.fromhex(tree.root))
        states = stamp_states(db, [s.id for s in submissions])
    assert set(states.values()) == {STAMPED}
    checked = openssl_verify(tmp_path / "token.tsr", tmp_path / "root.bin", tsa.ca.root_pem)
    assert checked.returncode == 0, checked.stderr
    assert "Verification: OK" in checked.stdout
    # The same token does not verify for any other root.
    (tmp_path / "other.bin").write_bytes(hashlib.sha256(b"other").digest())
    assert openssl_verify(tmp_path / "token.tsr", tmp_path / "other.bin",
                          tsa.ca.root_pem).returncode != 0
    assert actions(instance)[-2:] == ["timestamp_tree", "timestamp_token"]
    with instance.sessions() as db:
        assert verify_audit_log(db, instance.signer.public_key).ok


def test_items_received_after_a_tree_wait_for_the_next_interval(
    stamping_instance: Instance,
) -> None:
    instance = stamping_instance
    make_source(instance, "early")
    start = datetime.now(UTC)
    run(instance, start)
    make_source(instance, "late")
    with instance.sessions() as db:
        late = db.scalars(select(Submission).order_by(Submission.id.desc())).first()
        assert late is not None
        assert stamp_states(db, [late.id]) == {late.id: NOT_IN_TREE}
    # Same interval slot: nothing new is built.
    assert run(instance, start).trees_built == []
    later = run(instance, start + timedelta(minutes=61))
    assert len(later.trees_built) == 1
    with instance.sessions() as db:
        assert stamp_states(db, [late.id]) == {late.id: STAMPED}
        assert len(item_proofs(db, [late.id])) == 1


def test_enough_waiting_submissions_make_a_tree_before_the_interval_ends(
    stamping_instance: Instance,
) -> None:
    instance = replace(stamping_instance, settings=replace(
        stamping_instance.settings, timestamp_max_submissions=2))
    make_source(instance, "one")
    start = datetime.now(UTC)
    run(instance, start)
    make_source(instance, "two")
    assert run(instance, start).trees_built == []
    make_source(instance, "three")
    report = run(instance, start)
    assert len(report.trees_built) == 1
    with instance.sessions() as db:
        newest = db.get(TimestampTree, report.trees_built[0])
        assert newest is not None
        assert newest.size == 4  # two messages, each with its receipt


def test_a_tsa_that_is_down_is_recorded_and_retried_without_touching_submissions(
    stamping_instance: Instance, tsa: TimestampAuthority
) -> None:
    instance = stamping_instance
    make_source(instance, "while the authority is down")
    tsa.down = True
    report = run(instance)
    assert len(report.trees_built) == 1
    assert report.tokens == []
    [(tree_id, url, reason)] = report.failures
    assert url == tsa.url
    assert "HTTP 503" in reason
    # Submissions go on while the authority is down.
    make_source(instance, "still accepted")
    with instance.sessions() as db:
        tree = db.get(TimestampTree, tree_id)
        assert tree is not None
        assert tree.failed_attempts == 1
        assert "HTTP 503" in (tree.last_error or "")
        ids = list(db.scalars(select(Submission.id)))
        states = stamp_states(db, ids)
        assert sorted(states.values()) == sorted([NOT_IN_TREE, WAITING_FOR_TOKEN])
        failed = db.scalars(select(AuditEntry).where(AuditEntry.action == "timestamp_failed")
                            ).one()
        assert failed.object == f"tree:{tree_id}"
        assert "could not be reached" in (failed.detail or "")
    tsa.down = False
    again = run(instance)
    assert (tree_id, tsa.url) in again.tokens


def test_a_token_that_does_not_chain_to_the_configured_roots_is_not_stored(
    stamping_instance: Instance, tmp_path: Path
) -> None:
    stranger = TimestampAuthority(make_test_ca(tmp_path / "stranger", label="Stranger"))
    try:
        instance = replace(stamping_instance, settings=replace(
            stamping_instance.settings, tsa_urls=stranger.url))
        make_source(instance, "hello")
        report = run(instance)
        [(_tree, _url, reason)] = report.failures
        assert "was refused" in reason
        assert "does not chain to a trusted TSA root" in reason
        with instance.sessions() as db:
            assert db.scalars(select(TimestampToken)).all() == []
    finally:
        stranger.stop()


def test_a_damaged_file_is_left_out_of_the_tree_and_reported(
    stamping_instance: Instance,
) -> None:
    instance = stamping_instance
    make_source(instance, "damaged later")
    make_source(instance, "intact")
    with instance.sessions() as db:
        first = db.scalars(select(Submission).order_by(Submission.id)).first()
        assert first is not None
        path = instance.store.path_of(first.source.filesystem_id, first.filename)
        first_uuid = first.uuid
    path.chmod(0o600)
    path.write_bytes(b"replaced on the server")
    report = run(instance)
    assert report.skipped_damaged == [first_uuid]
    with instance.sessions() as db:
        tree = db.scalars(select(TimestampTree)).one()
        assert tree.size == 2
    assert "timestamp_skipped" in actions(instance)


def test_a_second_run_while_one_holds_the_lock_does_nothing(stamping_instance: Instance) -> None:
    from core.timestamping import run_lock

    make_source(stamping_instance, "hello")
    with run_lock(stamping_instance.settings.timestamp_lock_path) as held:
        assert held
        assert run(stamping_instance).busy
    assert not run(stamping_instance).busy


def test_a_dead_socks_port_is_a_clear_failure_not_a_traceback(
    stamping_instance: Instance, tmp_path: Path,
) -> None:
    make_source(stamping_instance, "no tor running")
    settings = replace(stamping_instance.settings, tsa_socks_proxy=f"unix:{tmp_path}/none")
    client = tsa_client_from(settings)
    assert client is not None
    report = run_timestamping(replace(stamping_instance, settings=settings), client,
                              sleep=lambda _s: None, delays=())
    [(_tree, _url, reason)] = report.failures
    assert "tor's SOCKS port does not answer" in reason


def test_an_authority_that_fails_is_not_retried_for_every_other_tree_in_the_same_run(
    stamping_instance: Instance, tsa: TimestampAuthority,
) -> None:
    instance = replace(stamping_instance, settings=replace(
        stamping_instance.settings, timestamp_max_submissions=1))
    for text in ("one", "two", "three"):
        make_source(instance, text)
    tsa.down = True
    report = run(instance)
    assert len(report.trees_built) == 3
    assert len(report.failures) == 1
    tsa.down = False
    assert len(run(instance).tokens) == 3
