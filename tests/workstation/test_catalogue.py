"""What the store holds, read back: items by content address, their submissions and consent."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from tests.support.workstation import (
    MESSAGE_TEXT,
    PHOTO_NAME,
    MakeBundle,
    Workstation,
    first_submission,
)
from tests.workstation.bundles import Sent, canonical, consent_document
from tests.workstation.media import jpeg_with_gps
from workstation.catalogue import consent_of, consent_records, find_item, list_items, load_item
from workstation.errors import AmbiguousItem, ItemNotFound
from workstation.store import EvidenceStore, open_store

SOURCE_UUID = str(uuid.uuid5(uuid.NAMESPACE_URL, "brave tortoise"))


def imported(workstation: Workstation, make_bundle: MakeBundle, sent: list[Sent]) -> EvidenceStore:
    code, _out, err = workstation.run("import", str(make_bundle(sent)))
    assert code == 0, err
    return open_store(workstation.store)


def test_imported_items_are_listed_with_their_submissions(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    sent = first_submission(["platform", "un"])
    store = imported(workstation, make_bundle, sent)
    items = {item.kind: item for item in list_items(store)}
    assert set(items) == {"message", "file"}
    photo, message = items["file"], items["message"]
    assert photo.display_name == PHOTO_NAME
    assert message.display_name == f"message-{message.item_id[:12]}"
    assert message.content_path.read_bytes() == MESSAGE_TEXT
    assert message.item_id == message.sha256
    assert len(message.sha512) == 128
    [submission] = photo.submissions
    assert submission.submission_uuid == sent[1].submission_uuid
    assert (submission.source_uuid, submission.source_designation) == (SOURCE_UUID,
                                                                        "brave tortoise")
    assert submission.intake["relation"] == "survivor"
    assert submission.embedded_consent["destinations"] == ["platform", "un"]


def test_the_same_bytes_from_two_sources_are_one_item_with_two_submissions(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    photo = jpeg_with_gps()
    store = imported(workstation, make_bundle, [
        Sent("file", photo, name="a.jpg", source="brave tortoise"),
        Sent("file", photo, name="forwarded.jpg", source="quiet heron"),
    ])
    [item] = list_items(store)
    assert sorted(s.source_designation for s in item.submissions) == ["brave tortoise",
                                                                       "quiet heron"]
    assert load_item(item.directory) == item


def test_an_item_is_found_by_id_prefix_or_submission_uuid(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    sent = first_submission(["platform"])
    store = imported(workstation, make_bundle, sent)
    photo = next(item for item in list_items(store) if item.kind == "file")
    assert find_item(store, photo.item_id) == photo
    assert find_item(store, photo.item_id[:6].upper()) == photo
    assert find_item(store, f"  {sent[1].submission_uuid}  ") == photo
    with pytest.raises(ItemNotFound, match="at least 6 characters"):
        find_item(store, photo.item_id[:5])
    with pytest.raises(ItemNotFound):
        find_item(store, "../" + photo.item_id)


def test_a_prefix_shared_by_two_items_asks_for_more(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path / "evidence")
    store.create_layout()
    for item_id in ("abcdef" + "1" * 58, "abcdef" + "2" * 58):
        directory = store.original_dir(item_id)
        directory.mkdir()
        (directory / "item.json").write_text(json.dumps({
            "id": item_id, "kind": "message", "size": 1, "sha256": item_id, "sha512": "0" * 128,
            "original_name": None, "first_imported_at": "2026-11-27T05:11:16.055418Z"}))
    with pytest.raises(AmbiguousItem, match="matches 2 items"):
        find_item(store, "abcdef")
    assert find_item(store, "abcdef1").item_id.endswith("1" * 58)
    assert [item.submissions for item in list_items(store)] == [(), ()]


def test_the_latest_consent_record_decides(workstation: Workstation,
                                          make_bundle: MakeBundle) -> None:
    imported(workstation, make_bundle, first_submission(["platform", "un", "court"]))
    withdrawal = canonical(consent_document(["platform"], "2026-12-24T09:00:00.000000Z"))
    store = imported(workstation, make_bundle, [Sent("consent", withdrawal)])
    records = consent_records(store, SOURCE_UUID)
    assert len(records) == 3  # two receipts and the later consent item
    latest = consent_of(store, SOURCE_UUID)
    assert latest is not None
    assert latest.recorded_at == "2026-12-24T09:00:00.000000Z"
    assert latest.destinations == {"platform"}
    assert latest.origin.startswith("consent item ")


def test_an_unreadable_consent_item_counts_as_this_platform_only(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    imported(workstation, make_bundle, first_submission(["platform", "un", "court"]))
    # Sent later than the broad consent: an unreadable withdrawal must not leave it standing.
    store = imported(workstation, make_bundle, [
        Sent("consent", b"\x00 not json", received_at="2026-12-24T09:00:00.000000Z")])
    latest = consent_of(store, SOURCE_UUID)
    assert latest is not None
    assert latest.destinations == {"platform"}
    assert latest.problem == "not a JSON object"


def test_a_source_without_records_has_no_consent(workstation: Workstation,
                                                make_bundle: MakeBundle) -> None:
    store = imported(workstation, make_bundle, [Sent("message", b"no consent asked")])
    assert consent_records(store, SOURCE_UUID) == []
    assert consent_of(store, SOURCE_UUID) is None
    assert consent_of(store, str(uuid.uuid4())) is None
