"""What the store holds: items (originals), the submissions that brought them, consent records.

An item is identified by the SHA-256 of its plaintext (its content address). The same bytes
sent twice (a photo forwarded by two sources) are one item with two submission records, each
keeping its own receipt, source and consent.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workstation.consent import StoredConsent, latest_consent, read_consent
from workstation.errors import AmbiguousItem, ItemNotFound
from workstation.store import EvidenceStore, read_json

MIN_PREFIX = 6


@dataclass(frozen=True)
class Submission:
    submission_uuid: str
    source_uuid: str
    source_designation: str
    kind: str
    received_on: str
    receipt: dict[str, Any] | None
    record: dict[str, Any]

    @property
    def intake(self) -> Any:
        return None if self.receipt is None else self.receipt.get("intake")

    @property
    def embedded_consent(self) -> Any:
        return None if self.receipt is None else self.receipt.get("consent")


@dataclass(frozen=True)
class Item:
    item_id: str
    kind: str
    size: int
    sha256: str
    sha512: str
    original_name: str | None
    first_imported_at: str
    directory: Path
    submissions: tuple[Submission, ...]

    @property
    def content_path(self) -> Path:
        return self.directory / "content"

    @property
    def display_name(self) -> str:
        if self.original_name:
            return self.original_name
        return f"{self.kind}-{self.item_id[:12]}"


def load_item(directory: Path) -> Item:
    meta = read_json(directory / "item.json")
    submissions = []
    sub_dir = directory / "submissions"
    for path in sorted(sub_dir.glob("*.json")) if sub_dir.is_dir() else []:
        record = read_json(path)
        submissions.append(
            Submission(
                submission_uuid=str(record["submission_uuid"]),
                source_uuid=str(record["source_uuid"]),
                source_designation=str(record["source_designation"]),
                kind=str(record["kind"]),
                received_on=str(record["received_on"]),
                receipt=record.get("receipt"),
                record=record,
            )
        )
    return Item(
        item_id=str(meta["id"]),
        kind=str(meta["kind"]),
        size=int(meta["size"]),
        sha256=str(meta["sha256"]),
        sha512=str(meta["sha512"]),
        original_name=meta.get("original_name"),
        first_imported_at=str(meta["first_imported_at"]),
        directory=directory,
        submissions=tuple(sorted(submissions, key=lambda s: (s.received_on, s.submission_uuid))),
    )


def list_items(store: EvidenceStore) -> list[Item]:
    items = [
        load_item(path)
        for path in sorted(store.originals_dir.iterdir())
        if (path / "item.json").is_file()
    ]
    return sorted(items, key=lambda item: (item.first_imported_at, item.item_id))


def find_item(store: EvidenceStore, reference: str) -> Item:
    """Resolve an item id, a unique id prefix (≥ 6 hex) or a submission uuid."""
    ref = reference.strip().lower()
    if len(ref) >= MIN_PREFIX and all(c in "0123456789abcdef" for c in ref):
        matches = [p for p in store.originals_dir.glob(f"{ref}*") if (p / "item.json").is_file()]
        if len(matches) == 1:
            return load_item(matches[0])
        if len(matches) > 1:
            raise AmbiguousItem(reference, len(matches))
    for path in store.originals_dir.glob(f"*/submissions/{ref}.json"):
        return load_item(path.parent.parent)
    raise ItemNotFound(reference)


def consent_records(
    store: EvidenceStore, source_uuid: str, items: Iterable[Item] | None = None
) -> list[StoredConsent]:
    """Every consent record of one source: separate records and those inside receipts.

    `items` may name the items to look through for receipts (those of this source, from the
    catalogue index); without it every item of the store is read.
    """
    records: list[StoredConsent] = []
    for meta_path in sorted(store.consent_dir.glob("*.meta.json")):
        meta = read_json(meta_path)
        if meta.get("source_uuid") != source_uuid:
            continue
        raw_path = meta_path.with_name(meta_path.name.replace(".meta.json", ".json"))
        try:
            document: Any = json.loads(raw_path.read_bytes())
        except ValueError:
            document = None
        records.append(
            read_consent(
                document,
                source_uuid,
                origin=f"consent item {meta['uuid']}",
                fallback_time=str(meta.get("received_at") or meta.get("received_on", "")),
            )
        )
    for item in list_items(store) if items is None else items:
        for sub in item.submissions:
            if sub.source_uuid == source_uuid and sub.embedded_consent is not None:
                receipt = sub.receipt or {}
                records.append(
                    read_consent(
                        sub.embedded_consent,
                        source_uuid,
                        origin=f"receipt of submission {sub.submission_uuid}",
                        fallback_time=str(receipt.get("received_at", sub.received_on)),
                    )
                )
    return records


def consent_of(store: EvidenceStore, source_uuid: str) -> StoredConsent | None:
    return latest_consent(consent_records(store, source_uuid))
