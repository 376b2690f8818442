"""The transfer-bundle manifest: the bytes the server signs and the strict reading of them."""

import contextlib
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from formats.bundle_manifest import (
    BUNDLE_FORMAT,
    BUNDLE_VERSION,
    Manifest,
    ManifestItem,
    MemberRef,
    build_manifest_entry,
    encode_manifest,
    parse_manifest,
    parse_manifest_document,
    parse_manifest_json,
)
from formats.errors import (
    InvalidManifest,
    UnknownManifestFormat,
    UnsupportedManifestVersion,
)
from tests.formats.strategies import (
    PROPERTY,
    json_values,
    manifests,
    mutated,
    parses_or_refuses,
)

MESSAGE = ManifestItem(
    uuid="0f8e2b9a-5d41-4c3e-8a7b-1e2d3c4b5a69",
    source_uuid="7a1d6f0e-2b3c-4d5e-9f8a-0b1c2d3e4f50",
    source_designation="brave tortoise",
    kind="message",
    ciphertext=MemberRef("items/brave_tortoise/1-brave_tortoise-msg.gpg", 610, "a" * 64),
    filename="1-brave_tortoise-msg.gpg",
    received_on="2026-11-27",
    receipt=MemberRef("items/brave_tortoise/1-brave_tortoise-receipt.gpg", 812, "b" * 64),
)
REPLY = ManifestItem(
    uuid="3c2b1a09-8f7e-4d6c-b5a4-938271605f4e",
    source_uuid=MESSAGE.source_uuid,
    source_designation=MESSAGE.source_designation,
    kind="reply",
    ciphertext=MemberRef("items/brave_tortoise/2-brave_tortoise-reply.gpg", 977, "c" * 64),
    filename="2-brave_tortoise-reply.gpg",
    received_on="2026-11-28",
    receipt=None,
)
MANIFEST = Manifest(
    instance_id="5b3c8a52-93a1-4c57-9f5e-0c6b1a0e2f11",
    created_at=datetime(2026, 11, 28, 9, 0, 0, 1, tzinfo=UTC),
    signing_key="d" * 64,
    items=(MESSAGE, REPLY),
)


def document() -> dict[str, Any]:
    value: dict[str, Any] = json.loads(encode_manifest(MANIFEST))
    return value


def refused(changed: dict[str, Any]) -> InvalidManifest:
    with pytest.raises(InvalidManifest) as caught:
        parse_manifest(json.dumps(changed).encode())
    return caught.value


def test_the_manifest_names_its_format_and_version_first() -> None:
    written = document()
    assert list(written)[:2] == ["format", "version"]
    assert (written["format"], written["version"]) == (BUNDLE_FORMAT, BUNDLE_VERSION)


def test_a_reply_has_a_null_receipt_and_the_day_only() -> None:
    entry = build_manifest_entry(REPLY)
    assert entry["receipt"] is None
    assert entry["received_on"] == "2026-11-28"


def test_created_at_is_written_in_utc() -> None:
    minsk = timezone(timedelta(hours=3))
    local = Manifest(MANIFEST.instance_id, datetime(2026, 11, 28, 12, 0, 0, 1, tzinfo=minsk),
                     MANIFEST.signing_key, ())
    assert json.loads(encode_manifest(local))["created_at"] == "2026-11-28T09:00:00.000001Z"
    assert parse_manifest(encode_manifest(local)).created_at == MANIFEST.created_at


def test_round_trip() -> None:
    assert parse_manifest(encode_manifest(MANIFEST)) == MANIFEST


def test_unknown_keys_are_ignored() -> None:
    changed = document()
    changed["added_later"] = True
    changed["items"][0]["note"] = "added later"
    assert parse_manifest(json.dumps(changed).encode()) == MANIFEST


def test_another_format_is_refused_as_a_format_failure() -> None:
    changed = document()
    changed["format"] = "skrynka-receipt"
    error = refused(changed)
    assert isinstance(error, UnknownManifestFormat)
    assert error.check == "format"
    assert "skrynka-receipt" in error.detail


@pytest.mark.parametrize("version", [3, 0, "1", True, 1.0, None])
def test_another_version_is_refused_with_advice(version: object) -> None:
    changed = document()
    changed["version"] = version
    error = refused(changed)
    assert isinstance(error, UnsupportedManifestVersion)
    assert error.check == "version"
    assert "update the workstation" in str(error)


@pytest.mark.parametrize(
    ("key", "value", "complaint"),
    [
        ("instance_id", "", "instance_id"),
        ("instance_id", 7, "instance_id"),
        ("created_at", "2026-11-28 09:00:00", "created_at"),
        ("created_at", None, "created_at"),
        ("signing_key", "D" * 64, "signing_key"),
        ("items", {"0": {}}, "items is not a list"),
        ("items", None, "items is not a list"),
    ],
)
def test_bad_header_fields_are_refused(key: str, value: object, complaint: str) -> None:
    changed = document()
    changed[key] = value
    error = refused(changed)
    assert error.check == "manifest"
    assert complaint in error.detail


def test_a_missing_field_is_refused_not_a_key_error() -> None:
    for key in ("instance_id", "created_at", "signing_key", "items"):
        changed = document()
        del changed[key]
        refused(changed)


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"uuid": "../../etc"}, "is not a uuid"),
        ({"uuid": None}, "is not a uuid"),
        ({"kind": "photo"}, "unknown kind"),
        ({"kind": ["file"]}, "unknown kind"),
        ({"path": "elsewhere/1-brave_tortoise-msg.gpg"}, "not under items/"),
        ({"size": -1}, "non-negative integer"),
        ({"size": True}, "non-negative integer"),
        ({"size": 1.5}, "non-negative integer"),
        ({"sha256": "A" * 64}, "64 lower-case hex"),
        ({"sha256": "a" * 64 + "\n"}, "64 lower-case hex"),
        ({"filename": "other.gpg"}, "filename does not match its path"),
        ({"source_uuid": 5}, "source_uuid"),
        ({"source_designation": None}, "source_designation"),
        ({"received_on": "2026-11-27T05:11:16Z"}, "received_on"),
        ({"received_on": "2026-02-30"}, "received_on"),
        ({"receipt": None}, "has no receipt"),
        ({"receipt": "items/x"}, "is not an object"),
        ({"receipt": {"path": "items/r", "size": 1}}, "sha256"),
    ],
)
def test_bad_items_are_refused_naming_the_item(change: dict[str, object], complaint: str) -> None:
    changed = document()
    changed["items"][0].update(change)
    error = refused(changed)
    assert complaint in error.detail


def test_a_reply_with_a_receipt_is_refused() -> None:
    changed = document()
    changed["items"][1]["receipt"] = changed["items"][0]["receipt"]
    assert "is a reply but has a receipt" in refused(changed).detail


def test_an_item_listed_twice_is_refused() -> None:
    changed = document()
    changed["items"].append(changed["items"][0])
    assert "listed twice" in refused(changed).detail


def test_a_member_path_listed_twice_is_refused() -> None:
    changed = document()
    changed["items"][0]["receipt"]["path"] = changed["items"][0]["path"]
    assert "listed twice" in refused(changed).detail


def test_an_item_that_is_not_an_object_is_refused() -> None:
    changed = document()
    changed["items"][0] = "item"
    assert "items[0] is not an object" in refused(changed).detail


@pytest.mark.parametrize("data", [b"", b"\xff", b"[1, 2]", b'{"version": NaN}', b"[" * 100000])
def test_bytes_that_are_not_a_json_object_are_refused(data: bytes) -> None:
    with pytest.raises(InvalidManifest) as caught:
        parse_manifest_json(data)
    assert caught.value.check == "manifest"


def test_a_document_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(InvalidManifest):
        parse_manifest_document([])  # type: ignore[arg-type]


@PROPERTY
@given(manifests)
def test_every_valid_manifest_reads_back_as_itself(manifest: Manifest) -> None:
    encoded = encode_manifest(manifest)
    assert parse_manifest(encoded) == manifest
    assert encode_manifest(parse_manifest(encoded)) == encoded


@PROPERTY
@given(st.binary())
def test_arbitrary_bytes_are_read_or_refused_never_crash(data: bytes) -> None:
    parses_or_refuses(parse_manifest, data)


@PROPERTY
@given(json_values)
def test_arbitrary_json_is_read_or_refused_never_crash(value: object) -> None:
    parses_or_refuses(parse_manifest, json.dumps(value).encode())


@PROPERTY
@given(st.data())
def test_a_damaged_manifest_is_refused_with_a_format_error(data: st.DataObject) -> None:
    manifest = data.draw(manifests)
    damaged = data.draw(mutated(encode_manifest(manifest)))
    # Only the manifest's own error comes out: a caller maps its `check` to what it reports.
    with contextlib.suppress(InvalidManifest):
        parse_manifest(damaged)
