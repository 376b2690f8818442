"""Every workstation error is a WorkstationError whose message tells the operator what to do."""

from __future__ import annotations

import pytest

from workstation.errors import (
    AmbiguousItem,
    BundleRejected,
    CaseError,
    ConsentRecordInvalid,
    CustodyBroken,
    EvidenceStoreError,
    ExportError,
    ItemNotFound,
    KeySetupError,
    MetadataToolError,
    PackageInvalid,
    StoreExists,
    StoreLocked,
    StoreMissing,
    WorkstationError,
)


@pytest.mark.parametrize(
    ("error", "advice"),
    [
        (StoreExists("/evidence"), "choose an empty or new directory"),
        (StoreMissing("/evidence"), "skrynka-workstation init --store DIR"),
        (StoreLocked("/evidence"), "wait for it and retry"),
        (BundleRejected("bundle", "signature", "forged"), "ask intake staff for a fresh download"),
        (ItemNotFound("abc"), "run `skrynka-workstation list`"),
        (AmbiguousItem("abcdef", 2), "give more characters"),
        (CustodyBroken(7, "hash mismatch"), "preserve the store as it is"),
        (ConsentRecordInvalid("receipt of x", "not JSON"), "this platform only"),
        (PackageInvalid("bag", "payload changed"), "ask the sender for a new copy"),
    ],
)
def test_messages_carry_their_advice(error: WorkstationError, advice: str) -> None:
    assert isinstance(error, WorkstationError)
    assert advice in str(error)


@pytest.mark.parametrize(
    "kind", [EvidenceStoreError, KeySetupError, CaseError, MetadataToolError, ExportError]
)
def test_the_plain_errors_share_the_one_base(kind: type[WorkstationError]) -> None:
    assert issubclass(kind, WorkstationError)
    assert str(kind("what went wrong; what to do")) == "what went wrong; what to do"


def test_store_errors_can_be_caught_together() -> None:
    for error in (StoreExists("/e"), StoreMissing("/e"), StoreLocked("/e")):
        assert isinstance(error, EvidenceStoreError)


def test_a_refused_bundle_names_the_item_and_the_check() -> None:
    error = BundleRejected("item 42 (items/a/1-a-msg.gpg)", "ciphertext sha256", "differs")
    assert (error.item, error.check, error.detail) == (
        "item 42 (items/a/1-a-msg.gpg)", "ciphertext sha256", "differs")
    assert str(error).startswith(
        "bundle refused, nothing imported: item 42 (items/a/1-a-msg.gpg): ciphertext sha256 check"
        " failed: differs."
    )


def test_broken_custody_and_invalid_packages_keep_their_parts() -> None:
    broken = CustodyBroken(12, "signature does not verify")
    assert (broken.seq, broken.reason) == (12, "signature does not verify")
    assert "entry 12" in str(broken)
    invalid = PackageInvalid("custody extract", "edited")
    assert (invalid.check, invalid.detail) == ("custody extract", "edited")
