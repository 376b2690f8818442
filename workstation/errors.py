"""Errors of the evidence workstation.

Every error the operator can meet derives from `WorkstationError`; the message says what went
wrong and what to do. Exit codes are chosen only in `workstation.cli`.
"""

from __future__ import annotations


class WorkstationError(Exception):
    """Base class of everything the workstation reports to the operator."""


class EvidenceStoreError(WorkstationError):
    """The evidence store is missing, incomplete or cannot be written."""


class StoreExists(EvidenceStoreError):
    def __init__(self, path: str) -> None:
        super().__init__(
            f"{path} already holds an evidence store; choose an empty or new directory"
        )


class StoreMissing(EvidenceStoreError):
    def __init__(self, path: str) -> None:
        super().__init__(
            f"no evidence store at {path}; create one with `skrynka-workstation init --store DIR`"
            " or pass the right --store (or set SKRYNKA_WORKSTATION_STORE)"
        )


class StoreLocked(EvidenceStoreError):
    def __init__(self, path: str) -> None:
        super().__init__(
            f"another skrynka-workstation command is changing {path}; wait for it and retry"
        )


class KeySetupError(WorkstationError):
    """A key given to `init` cannot be used."""


class BundleRejected(WorkstationError):
    """The transfer bundle failed a check; nothing of it was stored."""

    def __init__(self, item: str, check: str, detail: str) -> None:
        self.item = item
        self.check = check
        self.detail = detail
        super().__init__(
            f"bundle refused, nothing imported: {item}: {check} check failed: {detail}."
            " Do not use this bundle; ask intake staff for a fresh download and report the"
            " failure if it repeats"
        )


class ItemNotFound(WorkstationError):
    def __init__(self, reference: str) -> None:
        super().__init__(
            f"no item matches {reference!r}; run `skrynka-workstation list` to see item ids"
            " (a unique prefix of at least 6 characters is enough)"
        )


class BundleNotImported(WorkstationError):
    """An acknowledgement was asked for a bundle this store has not imported."""

    def __init__(self, reference: str, reason: str) -> None:
        super().__init__(f"cannot acknowledge bundle {reference!r}: {reason}")


class AmbiguousItem(WorkstationError):
    def __init__(self, reference: str, count: int) -> None:
        super().__init__(
            f"{reference!r} matches {count} items; give more characters of the item id"
        )


class CaseError(WorkstationError):
    """A case name is unknown, taken or malformed."""


class CustodyBroken(WorkstationError):
    """The custody log does not verify."""

    def __init__(self, seq: int, reason: str) -> None:
        self.seq = seq
        self.reason = reason
        super().__init__(
            f"custody log broken at entry {seq}: {reason}. Stop handling evidence on this"
            " workstation, preserve the store as it is and investigate"
        )


class ConsentRecordInvalid(WorkstationError):
    def __init__(self, origin: str, reason: str) -> None:
        super().__init__(
            f"consent record {origin} is not usable: {reason}; the item is treated as"
            " consented to this platform only"
        )


class MetadataToolError(WorkstationError):
    """mat2 is missing or failed in a way that is not "format not supported"."""


class ExportError(WorkstationError):
    """A handover package could not be written."""


class PackageInvalid(WorkstationError):
    """A handover package failed verification."""

    def __init__(self, check: str, detail: str) -> None:
        self.check = check
        self.detail = detail
        super().__init__(
            f"package does not verify: {check}: {detail}. Do not rely on this package;"
            " ask the sender for a new copy and compare the workstation key fingerprint"
            " out of band"
        )
