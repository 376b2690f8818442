"""C2PA content credentials of an original, read in the sandbox and turned into a verdict.

Flow of `check_c2pa`: the original's first bytes say what it is (`converters.sniff_type`);
formats that cannot carry a manifest the library reads (text, office documents) are "absent"
without running anything. Otherwise `workstation/c2pa_probe.py` runs inside the sandbox with the
system Python and the `c2pa` package (c2pa-python) from the directory it is installed in, bound
read-only (`c2pa_site_packages`): no network, so remote manifests and OCSP are never fetched,
and the limits of `C2PA_LIMITS`. Our own process only reads the JSON the probe prints, checking
its shape and capping every string (`_text`), and decides:

- `absent`: no manifest (or a format the library does not read);
- `valid`: the claim signature verifies and every assertion, including the hash that binds the
  manifest to the content, matches; the only failure codes allowed are those that say the
  signer is not on a trust list (`TRUST_CODES`). `trusted` says whether the signer chains to a
  trust anchor: the store's `c2pa-trust-anchors.pem` if an officer put one there, else none, so
  the summary says "signature valid, signer not on a trust list";
- `invalid`: any other failure code (`assertion.dataHash.mismatch` after an edit,
  `claimSignature.mismatch` for a changed manifest, ...) or a manifest the library cannot
  decode, with the codes (a decoding error becomes `c2pa.error.<Kind>`);
- `unchecked` ("could not be checked"): the probe crashed, was stopped by a limit or printed
  something that is not its JSON; `problem` says why. Never an exception: only a sandbox that
  cannot start at all (`SandboxUnavailable`) is raised, for the caller to report.
"""

from __future__ import annotations

import importlib.util
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workstation.catalogue import Item
from workstation.converters import SNIFF_BYTES, sniff_type
from workstation.errors import ConversionRefused
from workstation.provenance_reason import say
from workstation.sandbox import INPUT_DIR, MIB, Sandbox, SandboxLimits
from workstation.store import EvidenceStore

VALID = "valid"
INVALID = "invalid"
ABSENT = "absent"
UNCHECKED = "unchecked"
TRUST_ANCHORS_FILE = "c2pa-trust-anchors.pem"
SYSTEM_PYTHON = "/usr/bin/python3"
PROBE_SOURCE = Path(__file__).with_name("c2pa_probe.py")
# Codes that say who the signer is not, rather than that anything was altered.
TRUST_CODES = frozenset({"signingCredential.untrusted", "signingCredential.ocsp.skipped",
                         "signingCredential.ocsp.inaccessible"})
# What the probe may not decide alone: a remote manifest cannot be fetched on the air gap.
UNREADABLE_ERRORS = frozenset({"RemoteManifest"})
# The extension the library should see, by what the first bytes say the file is.
EXTENSIONS = {"jpeg": ".jpg", "png": ".png", "webp": ".webp", "tiff": ".tif", "gif": ".gif",
              "pdf": ".pdf"}
# Kinds whose manifests the library reads; media keeps its own extension (mp4, mov, m4a, ...).
READABLE_KINDS = frozenset({*EXTENSIONS, "media", "unknown"})
MAX_TEXT = 300
MAX_CODES = 40
_SAFE_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,8}$")
# Reading a manifest decodes CBOR and hashes the file, it does not decode pixels.
C2PA_LIMITS = SandboxLimits(
    cpu_seconds=30,
    wall_seconds=60.0,
    memory_bytes=1024 * MIB,
    file_bytes=16 * MIB,
    output_bytes=16 * MIB,
    tmp_bytes=64 * MIB,
    stdout_bytes=1 * MIB,
)


@dataclass(frozen=True)
class C2paVerdict:
    verdict: str
    summary: str
    signer: dict[str, Any] | None = None
    trusted: bool = False
    codes: tuple[str, ...] = ()
    manifest: str | None = None
    claim_generator: str | None = None
    reader: str | None = None
    problem: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def as_entry(self) -> dict[str, Any]:
        """The part of a `provenance` custody entry that this verdict fills."""
        return {"verdict": self.verdict, "summary": self.summary, "signer": self.signer,
                "trusted": self.trusted, "codes": list(self.codes), "manifest": self.manifest,
                "claim_generator": self.claim_generator, "reader": self.reader,
                "problem": self.problem}


def c2pa_site_packages() -> Path | None:
    """The directory the `c2pa` package is installed in (found without importing it here)."""
    spec = importlib.util.find_spec("c2pa")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))).parent


def _text(value: Any) -> str | None:
    """A string from the probe's output, capped; anything else is dropped."""
    if value is None:
        return None
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value if isinstance(v, str))
    if not isinstance(value, str):
        return None
    return value[:MAX_TEXT]


def _distinguished_name(value: Any) -> str | None:
    if not isinstance(value, dict):
        return None
    return _text(", ".join(f"{k}={v}" for k, v in value.items()
                           if isinstance(k, str) and isinstance(v, str | int)))


def _signer(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    validity = value.get("validity")
    if not isinstance(validity, dict):
        validity = {}
    return {
        "subject": _distinguished_name(value.get("subject")),
        "issuer": _distinguished_name(value.get("issuer")),
        "serial": _text(value.get("serialNumber")),
        "algorithm": _text(value.get("algorithm")),
        "not_before": _text(validity.get("notBefore")),
        "not_after": _text(validity.get("notAfter")),
    }


def _codes(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [code[:MAX_TEXT] for code in value if isinstance(code, str)][:MAX_CODES]


def interpret(result: Any) -> C2paVerdict:
    """The verdict on what the probe printed (already parsed from JSON)."""
    if not isinstance(result, dict):
        return C2paVerdict(UNCHECKED, say("unchecked"), problem=say("c2pa_output_not_object"))
    reader = _text(result.get("library"))
    outcome = result.get("outcome")
    if outcome == "absent":
        return C2paVerdict(ABSENT, say("c2pa_absent"), reader=reader)
    if outcome == "unsupported":
        return C2paVerdict(ABSENT, say("c2pa_unsupported"), reader=reader,
                           problem=_text(result.get("error")))
    if outcome == "error":
        kind = (_text(result.get("error_type")) or "Other").removeprefix("C2pa")
        error = _text(result.get("error"))
        if kind in UNREADABLE_ERRORS:
            return C2paVerdict(UNCHECKED, say("unchecked"), reader=reader,
                               problem=say("c2pa_remote", error=str(error)))
        return C2paVerdict(INVALID, say("c2pa_broken", error=str(error)), reader=reader,
                           codes=(f"c2pa.error.{kind}",), problem=error)
    if outcome != "read":
        return C2paVerdict(UNCHECKED, say("unchecked"), reader=reader,
                           problem=say("c2pa_no_outcome"))
    state = _text(result.get("state"))
    failures = _codes(result.get("failure"))
    altered = [code for code in failures if code not in TRUST_CODES]
    signer = _signer(result.get("signer"))
    common: dict[str, Any] = {
        "signer": signer, "codes": tuple(failures), "manifest": _text(result.get("manifest")),
        "claim_generator": _text(result.get("claim_generator")), "reader": reader,
    }
    if state in ("Valid", "Trusted") and not altered:
        trusted = state == "Trusted"
        return C2paVerdict(VALID, say("c2pa_trusted" if trusted else "c2pa_untrusted"),
                           trusted=trusted, **common)
    summary = (say("c2pa_mismatch", codes=", ".join(altered)) if altered
               else say("c2pa_state", state=str(state)))
    return C2paVerdict(INVALID, summary, **common)


def _input_name(item: Item, kind: str) -> str:
    suffix = Path(item.original_name or "").suffix
    if kind in EXTENSIONS:
        suffix = EXTENSIONS[kind]
    return "original" + (suffix.lower() if _SAFE_SUFFIX.match(suffix) else "")


def trust_anchors(store: EvidenceStore) -> str | None:
    """PEM certificates an officer chose to trust (none unless the file exists)."""
    path = store.root / TRUST_ANCHORS_FILE
    return path.read_text(encoding="ascii", errors="replace") if path.is_file() else None


def check_c2pa(store: EvidenceStore, item: Item, sandbox: Sandbox,
               limits: SandboxLimits = C2PA_LIMITS,
               site_packages: Path | None = None) -> C2paVerdict:
    """The C2PA verdict on one original (see the module docstring)."""
    with item.content_path.open("rb") as handle:
        kind = sniff_type(handle.read(SNIFF_BYTES), item.content_path)
    if kind not in READABLE_KINDS:
        return C2paVerdict(ABSENT, say("c2pa_no_carrier"))
    site = site_packages or c2pa_site_packages()
    if site is None:
        return C2paVerdict(UNCHECKED, say("unchecked"), problem=say("c2pa_not_installed"))
    name = _input_name(item, kind)
    command = [SYSTEM_PYTHON, "-I", "-c", PROBE_SOURCE.read_text(encoding="utf-8"), str(site),
               f"{INPUT_DIR}/{name}"]
    anchors = trust_anchors(store)
    if anchors:
        command.append(anchors)
    with store.staging_dir("c2pa") as staging:
        output = staging / "output"
        output.mkdir()
        try:
            result = sandbox.run(command, input_file=item.content_path, output_dir=output,
                                 limits=limits, input_name=name,
                                 extra_paths=(str(site),)).require_success()
        except ConversionRefused as exc:
            return C2paVerdict(UNCHECKED, say("unchecked"),
                               problem=say("c2pa_stopped", reason=exc.reason))
    try:
        parsed = json.loads(result.stdout)
    except ValueError:
        return C2paVerdict(UNCHECKED, say("unchecked"), problem=say("c2pa_output_not_json"))
    return interpret(parsed)
