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


class AssessmentRefused(WorkstationError):
    """An assessment or confirmation was not recorded; the message says why and what to do."""


class OwnAssessmentNotConfirmable(AssessmentRefused):
    """The person confirming is the one who made the assessment: two people are needed."""

    def __init__(self, actor: str, item_id: str) -> None:
        self.actor = actor
        super().__init__(
            f"{actor} made this assessment and cannot confirm it (item {item_id[:16]});"
            " nothing was recorded. A second person must confirm it under their own name"
            " (--actor, or their own name at the desk)"
        )


class IncidentRefused(WorkstationError):
    """An incident was not created, changed or linked; the message says why and what to do."""


class IncidentNotFound(WorkstationError):
    def __init__(self, reference: str, detail: str = "no incident matches") -> None:
        super().__init__(
            f"{detail} {reference!r}; `skrynka-workstation timeline` lists the incidents with"
            " their ids (a unique prefix of at least 6 characters is enough)"
        )


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


class TsaRootsUnusable(WorkstationError):
    """A TSA root certificate file cannot be read as PEM certificates."""

    def __init__(self, path: object, reason: str) -> None:
        super().__init__(
            f"{path} cannot be used as a TSA root certificate ({reason}); get the PEM root"
            " certificate from the authority's published policy and add it again"
        )


class StampTokenUnmatched(WorkstationError):
    """A stamp request cannot be made, or a returned token stamps no pending request."""


class StampTokenRefused(WorkstationError):
    """A returned token stamps a pending request but does not verify; the verdict is logged."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"the token was refused ({reason}); the custody log records the refusal and the"
            " request stays pending. Trust the authority's current root with `tsa trust` if it"
            " is missing, or have the request stamped again"
        )


class FixityFailed(WorkstationError):
    """At least one original or working copy no longer matches its recorded hashes."""


class CatalogueIndexBroken(EvidenceStoreError):
    """The derived catalogue index cannot be read; the store itself is untouched."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(
            f"the catalogue index {path} cannot be read ({reason}); the store itself is fine:"
            " rebuild the index with `skrynka-workstation catalogue rebuild`"
        )


class ExportPreviewMismatch(ExportError):
    """A package was asked for with a different content than the preview the person saw."""

    def __init__(self) -> None:
        super().__init__(
            "the case or the consent changed since the preview was shown; nothing was exported."
            " Look at the new preview and export again"
        )


class SandboxUnavailable(WorkstationError):
    """bubblewrap is missing or cannot create its namespaces on this machine."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            f"the sandbox could not start ({detail}); install the Debian package bubblewrap"
            " and make sure user namespaces are enabled (sysctl kernel.unprivileged_userns_clone"
            "=1); no file is opened without it"
        )


class ConversionRefused(WorkstationError):
    """A converter running in the sandbox was stopped or failed; nothing of its output is kept.

    `reason` is the plain-words explanation recorded in the custody log and shown to staff.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        # The tools that ran before the refusal, for the record (set by the converters).
        self.tools: tuple[str, ...] = ()
        super().__init__(
            f"{reason}. The original is unchanged; open it only on an isolated machine if it"
            " must be seen, and tell the security lead if the source may be hostile"
        )


class ConversionTimedOut(ConversionRefused):
    def __init__(self, tool: str, seconds: float) -> None:
        self.tool = tool
        super().__init__(
            f"the file took more than {seconds:g} s to convert ({tool}) and was stopped;"
            " it may be built to exhaust the machine"
        )


class ConversionLimitHit(ConversionRefused):
    """The converter reached one of the sandbox's resource limits."""

    def __init__(self, tool: str, limit: str, detail: str) -> None:
        self.tool = tool
        self.limit = limit
        super().__init__(
            f"converting the file ({tool}) hit the sandbox's {limit} limit ({detail}) and was"
            " stopped; it may be built to exhaust the machine"
        )


class ConversionFailed(ConversionRefused):
    """The converter exited with an error without hitting a limit: a damaged or odd file."""

    def __init__(self, tool: str, detail: str) -> None:
        self.tool = tool
        super().__init__(
            f"{tool} could not read the file ({detail}); it may be damaged, not really the"
            " type it looks like, or crafted to attack the converter"
        )


class NoSpaceLeft(WorkstationError):
    """A file system filled up while the command wrote; what it had written was removed."""

    def __init__(self, where: str) -> None:
        super().__init__(
            f"no space left on the file system of {where}; nothing was changed. Free space "
            "there (or choose another destination with more room) and run the command again"
        )


class SearchIndexError(WorkstationError):
    """The search index could not be read or written; the store itself is not affected."""

    def __init__(self, detail: str, *, advice: bool = True) -> None:
        super().__init__(
            f"search: {detail}"
            + ("; the index is derived from the store: run `skrynka-workstation index rebuild`"
               if advice else "")
        )
