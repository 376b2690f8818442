"""The item page shows the content credentials checked at import, for an import made at the
desk itself: the signer of a C2PA manifest, and a manifest that no longer matches its photo."""

from __future__ import annotations

import html

from tests.support.workstation import MakeBundle
from tests.workstation.bundles import Sent, consent_document
from tests.workstation.credentials import CAMERA, LAB, edit_after_signing, make_chain, sign_c2pa
from tests.workstation.media import jpeg_with_gps
from tests.workstation_app.conftest import Officer
from workstation.catalogue_index import ItemFilter

CONSENT = consent_document(["platform"], "2026-11-27T05:11:16.055418Z")


def test_the_item_page_shows_each_verdict_and_the_signer(
    officer: Officer, make_bundle: MakeBundle
) -> None:
    signed = sign_c2pa(jpeg_with_gps(), make_chain())
    officer.post("/import", {"path": str(make_bundle([
        Sent("file", signed, name="signed.jpg", consent=CONSENT),
        Sent("file", edit_after_signing(signed), name="edited.jpg", source="quiet heron",
             consent=CONSENT),
        Sent("message", "Глядзіце фота".encode(), consent=CONSENT),
    ]))})
    rows = {row.name: row.item_id
            for row in officer.desk.service.list_items(ItemFilter()).rows}

    valid = html.unescape(officer.get(f"/items/{rows['signed.jpg']}").text)
    edited = html.unescape(officer.get(f"/items/{rows['edited.jpg']}").text)
    message = officer.get(f"/items/{rows[None]}").text

    assert '<h2 id="provenance">Provenance</h2>' in valid
    # What the reader reported comes from the file: isolated, so it cannot reorder the page.
    assert "valid</strong>: <bdi>signature valid, signer not on a trust list</bdi>" in valid
    assert f"Signer: <bdi>CN={CAMERA}, O={LAB}</bdi>, issued by <bdi>" in valid
    assert "ProofMode proof" in valid
    assert "absent</strong>: <bdi>no ProofMode proof for this file</bdi>" in valid
    assert ("invalid</strong>: <bdi>manifest does not match: assertion.dataHash.mismatch</bdi>"
            in edited)
    assert ("Validation codes: <bdi>signingCredential.untrusted, assertion.dataHash.mismatch"
            "</bdi>") in edited
    # Messages carry no content credentials.
    assert 'id="provenance"' not in message
