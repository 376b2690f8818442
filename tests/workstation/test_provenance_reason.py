"""The reasons of a provenance verdict read back from the English they are signed in."""

from __future__ import annotations

import pytest

from workstation.provenance_reason import (
    REASON_TEXTS,
    UNCHECKED_BECAUSE,
    read_reasons,
    reason,
    say,
    say_all,
)

# A value for every slot, with the characters a library's message may bring.
VALUES = {"error": "JUMBF box not found; (offset 12)", "codes": "assertion.dataHash.mismatch",
          "state": "Invalid", "reason": "the file took more than 30 s", "mib": "1",
          "fingerprint": "0123456789ABCDEF0123456789ABCDEF01234567"}


@pytest.mark.parametrize("code", sorted(set(REASON_TEXTS) - {UNCHECKED_BECAUSE}))
def test_every_reason_reads_back_from_its_english(code: str) -> None:
    slots = {name: value for name, value in VALUES.items() if f"%({name})s" in REASON_TEXTS[code]}
    said = say(code, **slots)
    assert "%(" not in said
    assert read_reasons(said) == (reason(code, **slots),)


def test_the_wording_signed_into_court_evidence_stays_as_it_was() -> None:
    # Entries already in custody logs say exactly this; the desk reads them back.
    assert say("c2pa_untrusted") == "signature valid, signer not on a trust list"
    assert say("c2pa_mismatch", codes="a, b") == "manifest does not match: a, b"
    assert say("media_signature_mismatch") == (
        "media signature: the signature does not match the data")
    assert say("proofmode_valid", fingerprint="F") == (
        "signatures and hash valid, signed with the key sent in the bundle (F)")


def test_a_media_check_s_findings_read_back_in_order() -> None:
    findings = [reason("proof_hash_mismatch"), reason("media_signature_unknown_key"),
                reason("no_proof_signature")]
    assert read_reasons(say_all(findings)) == tuple(findings)
    unchecked = [reason(UNCHECKED_BECAUSE), reason("proof_too_large", mib="1"),
                 reason("no_public_key")]
    said = say_all(unchecked)
    assert said == ("could not be checked: the proof file is larger than 1 MiB; no pubkey.asc"
                    " in the bundle to check the signatures with")
    assert read_reasons(said) == tuple(unchecked)


@pytest.mark.parametrize("text", [
    "",
    "Der Beweis ist ungültig",  # a wording the workstation never signs
    "no C2PA manifest; something else",
    "could not be checked: no pubkey.asc in the bundle to check the signatures with; extra",
    "could not be checked:",
    "the C2PA reader was stopped",  # cut before its value
])
def test_text_that_is_not_made_of_reasons_reads_as_none(text: str) -> None:
    assert read_reasons(text) is None
