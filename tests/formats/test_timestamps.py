"""The timestamp parts of a version 2 manifest: they round-trip, version 1 is still read, and a
malformed timestamp or tree is an InvalidManifest naming it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from formats.bundle_manifest import (
    Manifest,
    ManifestItem,
    MemberRef,
    encode_manifest,
    parse_manifest,
)
from formats.errors import InvalidManifest
from formats.timestamps import ItemStamp, LeafRef, TokenRef, TreeRecord, token_member_path

HEX = "ab" * 32
ITEM = ManifestItem(
    uuid="3f0c2a4e-1111-4222-8333-944455556666", source_uuid="s", source_designation="brave owl",
    kind="message", ciphertext=MemberRef("items/brave_owl/1-brave_owl-msg.gpg", 10, HEX),
    filename="1-brave_owl-msg.gpg", received_on="2026-12-06",
    receipt=MemberRef("items/brave_owl/1-brave_owl-receipt.gpg", 5, HEX),
    timestamp=ItemStamp(tree=3, ciphertext=LeafRef(0, (HEX,)), receipt=LeafRef(1, (HEX,))),
)
TREE = TreeRecord(id=3, root=HEX, size=2, tokens=(
    TokenRef("https://tsa.example/", token_member_path(3, 1), 1400, HEX),))


def manifest_document(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(encode_manifest(Manifest(
        instance_id="i", created_at=datetime(2026, 12, 6, tzinfo=UTC), signing_key=HEX,
        items=(ITEM,), trees=(TREE,))))
    document.update(changes)
    return document


def test_timestamps_round_trip() -> None:
    parsed = parse_manifest(json.dumps(manifest_document()).encode())
    assert parsed.version == 2
    assert parsed.items[0].timestamp == ITEM.timestamp
    assert parsed.trees == (TREE,)


def test_version_1_reads_without_timestamps_and_refuses_them() -> None:
    document = manifest_document(version=1)
    del document["trees"]
    with pytest.raises(InvalidManifest, match="version 1 manifest carries no timestamps"):
        parse_manifest(json.dumps(document).encode())
    document["items"][0]["timestamp"] = None
    assert parse_manifest(json.dumps(document).encode()).trees == ()


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["items"][0]["timestamp"].update(tree="3"), "tree is not a whole number"),
    (lambda d: d["items"][0]["timestamp"].update(receipt=None), "whether the item has a receipt"),
    (lambda d: d["items"][0]["timestamp"]["ciphertext"].update(path="ab"), "not a list of hashes"),
    (lambda d: d["trees"][0].update(root="XY"), "root is not 64 lower-case hex"),
    (lambda d: d["trees"][0]["tokens"][0].update(path="items/x.tsr"), "is not under timestamps/"),
    (lambda d: d.update(trees=[d["trees"][0], d["trees"][0]]), "tree 3 is listed twice"),
])
def test_malformed_timestamps_are_named(change: Any, message: str) -> None:
    document = manifest_document()
    change(document)
    with pytest.raises(InvalidManifest, match=message):
        parse_manifest(json.dumps(document).encode())
