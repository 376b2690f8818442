"""Why a provenance verdict is what it is: a code and its values, and the English it is signed in.

C2PA and ProofMode verdicts (`workstation.content_credentials`, `workstation.proofmode`) say
why in English in the signed `provenance` custody entry (its "summary" and "problem"). Court
evidence already holds entries in that form, so the wording never changes: every sentence is
built here (`say`) from a code of `REASON_TEXTS` and its values, and `read_reasons` turns a
recorded sentence back into those reasons, so that the desk can say them in the officer's
language while the command line and the log keep the English.

A ProofMode summary may join several reasons with "; ", after "could not be checked: " when
pieces were missing (`UNCHECKED_BECAUSE` leads the reasons then). A recorded text that is not
made of these sentences (a library's own error message, an entry cut at its length limit)
reads as None, and the caller shows it as it was recorded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

# "<which> signature: <detail>" for the media file and its proof file, as gpg found them.
SIGNATURE_DETAILS: Mapping[str, str] = {
    "too_large": "the signature file is too large",
    "mismatch": "the signature does not match the data",
    "unknown_key": "the signature is not by the bundle's key or cannot be read",
    "refused": "gpg did not accept the signature",
}
UNCHECKED_BECAUSE = "unchecked_because"
_JOINER = "; "

# Each code's English with `%(name)s` slots, exactly as verdicts have always been signed. Where
# two could read the same text, the more specific comes first (`read_reasons` tries in order).
REASON_TEXTS: Mapping[str, str] = {
    "unchecked": "could not be checked",
    # C2PA: the summary
    "c2pa_absent": "no C2PA manifest",
    "c2pa_unsupported": "no C2PA manifest (a format the C2PA reader does not read)",
    "c2pa_no_carrier": "no C2PA manifest (a format that carries none)",
    "c2pa_broken": "manifest broken: %(error)s",
    "c2pa_trusted": "signature valid, signer on the trust list",
    "c2pa_untrusted": "signature valid, signer not on a trust list",
    "c2pa_state": "manifest does not match: validation state %(state)s",
    "c2pa_mismatch": "manifest does not match: %(codes)s",
    # C2PA: why it could not be checked
    "c2pa_output_not_object": "the C2PA reader's output was not one JSON object",
    "c2pa_output_not_json": "the C2PA reader's output was not JSON",
    "c2pa_no_outcome": "the C2PA reader's output has no known outcome",
    "c2pa_remote": "the manifest is not in the file (%(error)s); the workstation is offline and"
                   " never fetches it",
    "c2pa_not_installed": "the c2pa package is not installed; reinstall the workstation (make"
                          " install)",
    "c2pa_stopped": "the C2PA reader was stopped: %(reason)s",
    # ProofMode: the verdict on a file or bundle
    "proofmode_absent": "no ProofMode proof for this file",
    "proofmode_absent_zip": "no ProofMode proof in this ZIP",
    "proofmode_material": "ProofMode proof material, not media",
    "proofmode_valid": "signatures and hash valid, signed with the key sent in the bundle"
                       " (%(fingerprint)s)",
    "proofmode_gpg_failed": "gpg could not check the bundle: %(error)s",
    "proofmode_zip_failed": "the ZIP could not be unpacked: %(reason)s",
    UNCHECKED_BECAUSE: "could not be checked:",
    # ProofMode: one finding about a media file and its proof
    "proof_missing": "no proof file (.proof.csv or .proof.json) for it",
    "proof_too_large": "the proof file is larger than %(mib)s MiB",
    "proof_unreadable": "the proof file cannot be read as CSV or JSON",
    "proof_hash_mismatch": "the SHA-256 in the proof is not this file's: the file was changed"
                           " after the proof was made, or the proof is of another file",
    "no_public_key": "no pubkey.asc in the bundle to check the signatures with",
    **{f"{which}_signature_{code}": f"{which} signature: {detail}"
       for which in ("media", "proof") for code, detail in SIGNATURE_DETAILS.items()},
    "no_media_signature": "no signature of the media file",
    "no_proof_signature": "no signature of the proof file",
}


@dataclass(frozen=True)
class ProvenanceReason:
    """One reason: a code of `REASON_TEXTS` and the values of its slots."""

    code: str
    values: tuple[tuple[str, str], ...] = ()

    @property
    def text(self) -> str:
        return REASON_TEXTS[self.code] % dict(self.values)


def reason(code: str, **values: str) -> ProvenanceReason:
    return ProvenanceReason(code, tuple(sorted(values.items())))


def say(code: str, **values: str) -> str:
    """The English of one reason, as it is signed."""
    return reason(code, **values).text


def say_all(reasons: list[ProvenanceReason]) -> str:
    """Several reasons as one recorded sentence (after "could not be checked:" if it leads)."""
    if reasons and reasons[0].code == UNCHECKED_BECAUSE:
        return f"{reasons[0].text} " + _JOINER.join(r.text for r in reasons[1:])
    return _JOINER.join(r.text for r in reasons)


def _compile_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    found = []
    for code, text in REASON_TEXTS.items():
        pieces = re.split(r"%\((\w+)\)s", text)
        # re.split alternates literal text and slot names.
        pattern = "".join(re.escape(piece) if index % 2 == 0 else f"(?P<{piece}>.+?)"
                          for index, piece in enumerate(pieces))
        found.append((code, re.compile(pattern, re.DOTALL)))
    return tuple(found)


# Each code's sentence as a pattern whose groups are its slots, in the order of REASON_TEXTS.
_PATTERNS = _compile_patterns()


def _read_one(text: str) -> ProvenanceReason | None:
    for code, pattern in _PATTERNS:
        matched = pattern.fullmatch(text)
        if matched is not None:
            return reason(code, **matched.groupdict())
    return None


def read_reasons(text: str) -> tuple[ProvenanceReason, ...] | None:
    """The reasons a recorded summary or problem is made of, or None if it is other text."""
    whole = _read_one(text)
    if whole is not None and whole.code != UNCHECKED_BECAUSE:
        return (whole,)
    found: list[ProvenanceReason] = []
    prefix = REASON_TEXTS[UNCHECKED_BECAUSE] + " "
    if text.startswith(prefix):
        found, text = [reason(UNCHECKED_BECAUSE)], text[len(prefix):]
    for part in text.split(_JOINER):
        one = _read_one(part)
        # Only a media check's findings are joined (a value elsewhere could hold "; ").
        if one is None or one.code not in _JOINABLE:
            return None
        found.append(one)
    return tuple(found)


# The findings a ProofMode media check joins into its summary.
_JOINABLE = frozenset({"proof_missing", "proof_too_large", "proof_unreadable",
                       "proof_hash_mismatch", "no_public_key", "no_media_signature",
                       "no_proof_signature",
                       *(f"{which}_signature_{code}" for which in ("media", "proof")
                         for code in SIGNATURE_DETAILS)})
