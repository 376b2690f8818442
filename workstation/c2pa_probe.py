"""The C2PA reader that runs inside the sandbox, never in the workstation's own process.

`workstation.content_credentials` runs this file's source with the system Python (`python3 -I
-c`), inside bubblewrap with no network, the sandbox's limits, and the directory that holds the
`c2pa` package (the workstation's virtual environment) bound read-only:

    python3 -I -c SOURCE SITE_PACKAGES /input/original.jpg [TRUST_ANCHORS_PEM]

It imports only the standard library and `c2pa` (c2pa-python: ctypes around the Rust c2pa
library), reads the file's manifest store, validates it offline (no remote manifest, no OCSP)
and prints one JSON object on stdout:

- `{"outcome": "absent"}`: no manifest in the file;
- `{"outcome": "unsupported", "error": ...}`: a format the library cannot read;
- `{"outcome": "error", "error_type": ..., "error": ...}`: reading stopped (a manifest that
  cannot be decoded, a broken signature structure, ...);
- `{"outcome": "read", "state": ..., "failure": [...], ...}`: the manifest store was read and
  validated: its validation state, the failure, success and informational codes of the active
  manifest, its label, claim generator, title and the signer's certificate.

Whatever the file does to the library (a crash, a loop, memory) ends this process, not the
workstation's; the caller turns that into "could not be checked". Nothing it prints is trusted
beyond its shape: the caller checks every field's type and caps every string.
"""

from __future__ import annotations

import json
import sys
from typing import Any

CODE_LISTS = ("success", "informational", "failure")


def _codes(results: Any) -> dict[str, list[str]]:
    active = results.get("activeManifest") if isinstance(results, dict) else None
    found: dict[str, list[str]] = {name: [] for name in CODE_LISTS}
    if isinstance(active, dict):
        for name in CODE_LISTS:
            for entry in active.get(name) or []:
                if isinstance(entry, dict) and isinstance(entry.get("code"), str):
                    found[name].append(entry["code"])
    return found


def _signer(crjson: Any, label: Any) -> dict[str, Any] | None:
    """The active manifest's certificate: subject, issuer, serial and validity."""
    manifests = crjson.get("manifests") if isinstance(crjson, dict) else None
    for manifest in manifests or []:
        if isinstance(manifest, dict) and manifest.get("label") == label:
            signature = manifest.get("signature") or {}
            info = signature.get("certificateInfo") if isinstance(signature, dict) else None
            if isinstance(info, dict):
                return {"algorithm": signature.get("algorithm"), **info}
    return None


def read_manifest(c2pa: Any, path: str, trust_anchors: str | None) -> dict[str, Any]:
    settings: dict[str, Any] = {"verify": {"remote_manifest_fetch": False,
                                           "ocsp_fetch": False}}
    if trust_anchors:
        settings["trust"] = {"trust_anchors": trust_anchors}
    context = c2pa.Context(c2pa.Settings.from_dict(settings))
    try:
        with open(path, "rb") as stream:
            reader = c2pa.Reader(path, stream, context=context)
            store = json.loads(reader.json())
            label = store.get("active_manifest")
            manifest = (store.get("manifests") or {}).get(label) or {}
            return {
                "outcome": "read",
                "state": reader.get_validation_state(),
                **_codes(reader.get_validation_results()),
                "manifest": label,
                "title": manifest.get("title"),
                "claim_generator": manifest.get("claim_generator")
                or [g.get("name") for g in manifest.get("claim_generator_info") or []
                    if isinstance(g, dict)],
                "signer": _signer(json.loads(reader.crjson()), label),
            }
    except c2pa.C2paError.ManifestNotFound:
        return {"outcome": "absent"}
    except c2pa.C2paError.NotSupported as exc:
        return {"outcome": "unsupported", "error": str(exc)}
    except c2pa.C2paError as exc:
        return {"outcome": "error", "error_type": type(exc).__name__.lstrip("_"),
                "error": str(exc)}


def main(argv: list[str]) -> int:
    site_packages, path = argv[1], argv[2]
    trust_anchors = argv[3] if len(argv) > 3 else None
    sys.path.insert(0, site_packages)
    # Imported only once the bound package directory is on the path.
    import c2pa

    result = read_manifest(c2pa, path, trust_anchors)
    result["library"] = f"c2pa-python {c2pa.__version__} ({c2pa.sdk_version()})"
    print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
