"""Provenance verdicts in the officer's language.

The signed `provenance` custody entry says why a C2PA or ProofMode verdict is what it is in
English (`workstation.provenance_reason`). The item page reads the recorded sentence back into
its reasons and says each in the desk's words; values that came from the file or a library (an
error message, validation codes, a fingerprint) stay as recorded, isolated like any text from
outside. A sentence the workstation cannot read back (an older wording, a library's own error)
is shown as it was recorded.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from workstation.provenance_reason import UNCHECKED_BECAUSE, ProvenanceReason, read_reasons
from workstation_app.display import shown

# The desk's words for workstation.provenance_reason.REASON_TEXTS, code by code.
REASON_NAMES: dict[str, LazyString] = {
    "unchecked": _l("could not be checked"),
    "c2pa_absent": _l("no C2PA manifest"),
    "c2pa_unsupported": _l("no C2PA manifest (a format the C2PA reader does not read)"),
    "c2pa_no_carrier": _l("no C2PA manifest (a format that carries none)"),
    "c2pa_broken": _l("manifest broken: %(error)s"),
    "c2pa_trusted": _l("signature valid, signer on the trust list"),
    "c2pa_untrusted": _l("signature valid, signer not on a trust list"),
    "c2pa_state": _l("manifest does not match: validation state %(state)s"),
    "c2pa_mismatch": _l("manifest does not match: %(codes)s"),
    "c2pa_output_not_object": _l("the C2PA reader's output was not one JSON object"),
    "c2pa_output_not_json": _l("the C2PA reader's output was not JSON"),
    "c2pa_no_outcome": _l("the C2PA reader's output has no known outcome"),
    "c2pa_remote": _l("the manifest is not in the file (%(error)s); the workstation is offline "
                      "and never fetches it"),
    "c2pa_not_installed": _l("the c2pa package is not installed; reinstall the workstation "
                             "(make install)"),
    "c2pa_stopped": _l("the C2PA reader was stopped: %(reason)s"),
    "proofmode_absent": _l("no ProofMode proof for this file"),
    "proofmode_absent_zip": _l("no ProofMode proof in this ZIP"),
    "proofmode_material": _l("ProofMode proof material, not media"),
    "proofmode_valid": _l("signatures and hash valid, signed with the key sent in the bundle "
                          "(%(fingerprint)s)"),
    "proofmode_gpg_failed": _l("gpg could not check the bundle: %(error)s"),
    "proofmode_zip_failed": _l("the ZIP could not be unpacked: %(reason)s"),
    UNCHECKED_BECAUSE: _l("could not be checked:"),
    "proof_missing": _l("no proof file (.proof.csv or .proof.json) for it"),
    "proof_too_large": _l("the proof file is larger than %(mib)s MiB"),
    "proof_unreadable": _l("the proof file cannot be read as CSV or JSON"),
    "proof_hash_mismatch": _l("the SHA-256 in the proof is not this file's: the file was "
                              "changed after the proof was made, or the proof is of another "
                              "file"),
    "no_public_key": _l("no pubkey.asc in the bundle to check the signatures with"),
    "media_signature_too_large": _l("media signature: the signature file is too large"),
    "media_signature_mismatch": _l("media signature: the signature does not match the data"),
    "media_signature_unknown_key": _l("media signature: the signature is not by the bundle's "
                                      "key or cannot be read"),
    "media_signature_refused": _l("media signature: gpg did not accept the signature"),
    "proof_signature_too_large": _l("proof signature: the signature file is too large"),
    "proof_signature_mismatch": _l("proof signature: the signature does not match the data"),
    "proof_signature_unknown_key": _l("proof signature: the signature is not by the bundle's "
                                      "key or cannot be read"),
    "proof_signature_refused": _l("proof signature: gpg did not accept the signature"),
    "no_media_signature": _l("no signature of the media file"),
    "no_proof_signature": _l("no signature of the proof file"),
}


def reason_sentence(reason: ProvenanceReason) -> Markup:
    """One reason in the desk's words, its values isolated as text from outside."""
    words = escape(str(REASON_NAMES[reason.code]))
    if not reason.values:
        return words
    return words % {name: shown(value) for name, value in reason.values}


def provenance_text(recorded: str) -> Markup:
    """A recorded summary or problem in the officer's language (as recorded if unreadable)."""
    reasons = read_reasons(recorded)
    if reasons is None:
        return shown(recorded)
    lead = Markup("")
    if reasons[0].code == UNCHECKED_BECAUSE:
        lead, reasons = reason_sentence(reasons[0]) + Markup(" "), reasons[1:]
    return lead + Markup("; ").join(reason_sentence(reason) for reason in reasons)


def init_provenance(app: Flask) -> None:
    app.jinja_env.filters["provenance_text"] = provenance_text
