"""The item page shows the content credentials checked at import, for an import made at the
desk itself: the signer of a C2PA manifest, and a manifest that no longer matches its photo."""

from __future__ import annotations

import html

import pytest

from tests.support.workstation import MakeBundle
from tests.workstation.bundles import Sent, consent_document
from tests.workstation.credentials import CAMERA, LAB, edit_after_signing, make_chain, sign_c2pa
from tests.workstation.media import jpeg_with_gps
from tests.workstation_app.conftest import Desk, Officer
from workstation.catalogue_index import ItemFilter
from workstation.provenance import latest_provenance
from workstation.provenance_reason import REASON_TEXTS
from workstation_app.provenance import REASON_NAMES, provenance_text

CONSENT = consent_document(["platform"], "2026-11-27T05:11:16.055418Z")


def import_signed_and_edited(officer: Officer, make_bundle: MakeBundle) -> dict[str | None, str]:
    """A signed photo, the same photo edited after signing, and a message: ids by file name."""
    signed = sign_c2pa(jpeg_with_gps(), make_chain())
    officer.post("/import", {"path": str(make_bundle([
        Sent("file", signed, name="signed.jpg", consent=CONSENT),
        Sent("file", edit_after_signing(signed), name="edited.jpg", source="quiet heron",
             consent=CONSENT),
        Sent("message", "Глядзіце фота".encode(), consent=CONSENT),
    ]))})
    return {row.name: row.item_id
            for row in officer.desk.service.list_items(ItemFilter()).rows}


def test_the_item_page_shows_each_verdict_and_the_signer(
    officer: Officer, make_bundle: MakeBundle
) -> None:
    rows = import_signed_and_edited(officer, make_bundle)

    valid = html.unescape(officer.get(f"/items/{rows['signed.jpg']}").text)
    edited = html.unescape(officer.get(f"/items/{rows['edited.jpg']}").text)
    message = officer.get(f"/items/{rows[None]}").text

    assert '<h2 id="provenance">Provenance</h2>' in valid
    # The desk's own sentence; what the reader reported (the codes) is isolated, so that it
    # cannot reorder the page.
    assert "valid</strong>: signature valid, signer not on a trust list" in valid
    assert f"Signer: <bdi>CN={CAMERA}, O={LAB}</bdi>, issued by <bdi>" in valid
    assert "ProofMode proof" in valid
    assert "absent</strong>: no ProofMode proof for this file" in valid
    assert ("invalid</strong>: manifest does not match: <bdi>assertion.dataHash.mismatch</bdi>"
            in edited)
    assert ("Validation codes: <bdi>signingCredential.untrusted, assertion.dataHash.mismatch"
            "</bdi>") in edited
    # Messages carry no content credentials.
    assert 'id="provenance"' not in message


# The signed entries say these in English; the desk says them in the officer's language.
VERDICTS = {
    "be": ("подпіс сапраўдны, падпісанта няма ў спісе давераных",
           "доказу ProofMode для гэтага файла няма",
           "маніфест не адпавядае: <bdi>assertion.dataHash.mismatch</bdi>"),
    "ru": ("подпись действительна, подписанта нет в списке доверенных",
           "доказательства ProofMode для этого файла нет",
           "манифест не соответствует: <bdi>assertion.dataHash.mismatch</bdi>"),
}


@pytest.mark.parametrize("code", ["be", "ru"])
def test_the_verdicts_read_in_the_officer_s_language(
    officer: Officer, make_bundle: MakeBundle, code: str
) -> None:
    rows = import_signed_and_edited(officer, make_bundle)
    valid = html.unescape(officer.get(f"/items/{rows['signed.jpg']}?l={code}").text)
    edited = html.unescape(officer.get(f"/items/{rows['edited.jpg']}").text)

    untrusted, no_proof, mismatch = VERDICTS[code]
    assert f"</strong>: {untrusted}" in valid
    assert f"</strong>: {no_proof}" in valid
    assert f"</strong>: {mismatch}" in edited
    for page in (valid, edited):
        for english in ("signature valid", "signer not on a trust list", "no ProofMode proof",
                        "manifest does not match"):
            assert english not in page
    # The log itself keeps the English it was signed in.
    recorded = latest_provenance(officer.desk.service.custody_entries(), rows["signed.jpg"])
    assert recorded is not None
    assert recorded.c2pa["summary"] == "signature valid, signer not on a trust list"


def test_every_reason_of_a_verdict_has_the_desk_s_words() -> None:
    assert set(REASON_NAMES) == set(REASON_TEXTS)


@pytest.mark.parametrize(("recorded", "shown"), [
    # What the workstation signs is read back and translated, values isolated.
    ("the C2PA reader was stopped: the file took more than 30 s",
     "праграму чытання C2PA спынілі: <bdi>the file took more than 30 s</bdi>"),
    ("could not be checked: no pubkey.asc in the bundle to check the signatures with; no "
     "signature of the proof file",
     "не ўдалося праверыць: у наборы няма pubkey.asc, каб праверыць подпісы; няма подпісу "
     "файла доказу"),
    # A wording it never signed is shown as recorded, isolated like any text from outside.
    ("<b>made up</b>", "<bdi>&lt;b&gt;made up&lt;/b&gt;</bdi>"),
])
def test_a_recorded_reason_is_translated_or_shown_as_recorded(
    desk: Desk, recorded: str, shown: str
) -> None:
    with desk.app.test_request_context("/?l=be"):
        assert str(provenance_text(recorded)) == shown
