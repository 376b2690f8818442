"""Known answers: the exact bytes of every document that crosses the air gap or sits inside a
ciphertext.

Servers and workstations of different releases meet only through these bytes (a bundle carried
across, a receipt decrypted years later), so any change to an encoding must fail here and come
with a new format version. The expected bytes are written out by hand, not computed.
"""

import hashlib
from datetime import UTC, datetime

from formats.bundle_manifest import (
    Manifest,
    ManifestItem,
    MemberRef,
    encode_manifest,
    parse_manifest,
)
from formats.consent import (
    Consent,
    ConsentRecord,
    Destination,
    build_consent_document,
    encode_consent,
    parse_consent,
)
from formats.intake import (
    Intake,
    Region,
    Relation,
    Violation,
    build_intake_document,
    encode_intake,
    parse_intake,
)
from formats.receipt import Receipt, encode_receipt, parse_receipt

MOMENT = datetime(2026, 11, 27, 5, 11, 16, 55418, tzinfo=UTC)
DESIGNATION = "дзёрзкі бусел"
FOLDER = "items/дзёрзкі_бусел"

MANIFEST = Manifest(
    instance_id="5b3c8a52-93a1-4c57-9f5e-0c6b1a0e2f11",
    created_at=MOMENT,
    signing_key="c" * 64,
    items=(
        ManifestItem(
            uuid="0f8e2b9a-5d41-4c3e-8a7b-1e2d3c4b5a69",
            source_uuid="7a1d6f0e-2b3c-4d5e-9f8a-0b1c2d3e4f50",
            source_designation=DESIGNATION,
            kind="file",
            ciphertext=MemberRef(f"{FOLDER}/1-дзёрзкі_бусел-doc.gz.gpg", 1234, "a" * 64),
            filename="1-дзёрзкі_бусел-doc.gz.gpg",
            received_on="2026-11-27",
            receipt=MemberRef(f"{FOLDER}/1-дзёрзкі_бусел-receipt.gpg", 812, "b" * 64),
        ),
        ManifestItem(
            uuid="3c2b1a09-8f7e-4d6c-b5a4-938271605f4e",
            source_uuid="7a1d6f0e-2b3c-4d5e-9f8a-0b1c2d3e4f50",
            source_designation=DESIGNATION,
            kind="reply",
            ciphertext=MemberRef(f"{FOLDER}/2-дзёрзкі_бусел-reply.gpg", 977, "d" * 64),
            filename="2-дзёрзкі_бусел-reply.gpg",
            received_on="2026-11-28",
            receipt=None,
        ),
    ),
)

MANIFEST_BYTES = f"""{{
  "format": "skrynka-transfer-bundle",
  "version": 2,
  "instance_id": "5b3c8a52-93a1-4c57-9f5e-0c6b1a0e2f11",
  "created_at": "2026-11-27T05:11:16.055418Z",
  "signing_key": "{"c" * 64}",
  "items": [
    {{
      "uuid": "0f8e2b9a-5d41-4c3e-8a7b-1e2d3c4b5a69",
      "source_uuid": "7a1d6f0e-2b3c-4d5e-9f8a-0b1c2d3e4f50",
      "source_designation": "дзёрзкі бусел",
      "kind": "file",
      "path": "items/дзёрзкі_бусел/1-дзёрзкі_бусел-doc.gz.gpg",
      "filename": "1-дзёрзкі_бусел-doc.gz.gpg",
      "size": 1234,
      "sha256": "{"a" * 64}",
      "received_on": "2026-11-27",
      "receipt": {{
        "path": "items/дзёрзкі_бусел/1-дзёрзкі_бусел-receipt.gpg",
        "size": 812,
        "sha256": "{"b" * 64}"
      }},
      "timestamp": null
    }},
    {{
      "uuid": "3c2b1a09-8f7e-4d6c-b5a4-938271605f4e",
      "source_uuid": "7a1d6f0e-2b3c-4d5e-9f8a-0b1c2d3e4f50",
      "source_designation": "дзёрзкі бусел",
      "kind": "reply",
      "path": "items/дзёрзкі_бусел/2-дзёрзкі_бусел-reply.gpg",
      "filename": "2-дзёрзкі_бусел-reply.gpg",
      "size": 977,
      "sha256": "{"d" * 64}",
      "received_on": "2026-11-28",
      "receipt": null,
      "timestamp": null
    }}
  ],
  "trees": []
}}
""".encode()

CONSENT = ConsentRecord(
    Consent(frozenset({Destination.COURT, Destination.PLATFORM}), True, True), MOMENT
)
CONSENT_BYTES = (
    b'{"destinations":["platform","court"],"format":"skrynka-consent",'
    b'"investigator_contact":true,"recorded_at":"2026-11-27T05:11:16.055418Z",'
    b'"replies":true,"version":1}'
)

INTAKE = Intake(
    violations=frozenset({Violation.ENFORCED_DISAPPEARANCE, Violation.ARBITRARY_DETENTION}),
    when_text="жнівень 2020",
    when_year=2020,
    region=Region.GRODNO,
    responsible='unit 3214\nofficer "Ivanov"',
    relation=Relation.WITNESS,
)
INTAKE_BYTES = (
    '{"format":"skrynka-intake","relation":"witness",'
    '"responsible":"unit 3214\\nofficer \\"Ivanov\\"","version":1,'
    '"violations":["arbitrary_detention","enforced_disappearance"],'
    '"when":{"month":null,"text":"жнівень 2020","year":2020},'
    '"where":{"region":"grodno","text":null}}'
).encode()

RECEIPT = Receipt(
    submission_uuid="0f8e2b9a-5d41-4c3e-8a7b-1e2d3c4b5a69",
    kind="file",
    original_name="пратакол №7.pdf",
    size=48213,
    sha256="a" * 64,
    sha512="b" * 128,
    received_at=MOMENT,
    intake=build_intake_document(INTAKE),
    consent=build_consent_document(CONSENT),
)
RECEIPT_BYTES = (
    '{"consent":' + CONSENT_BYTES.decode() + ',"format":"skrynka-receipt",'
    '"intake":' + INTAKE_BYTES.decode() + ',"kind":"file",'
    '"original_name":"пратакол №7.pdf","received_at":"2026-11-27T05:11:16.055418Z",'
    '"sha256":"' + "a" * 64 + '","sha512":"' + "b" * 128 + '","size":48213,'
    '"submission_uuid":"0f8e2b9a-5d41-4c3e-8a7b-1e2d3c4b5a69","version":1}'
).encode()


def test_the_manifest_encodes_to_the_known_bytes() -> None:
    assert encode_manifest(MANIFEST) == MANIFEST_BYTES


def test_the_known_manifest_bytes_parse_back() -> None:
    assert parse_manifest(MANIFEST_BYTES) == MANIFEST


def test_the_digests_are_pinned() -> None:
    # The workstation files each bundle under its manifest's SHA-256, and the server records each
    # receipt's ciphertext hash: a digest written out guards the literals above against edits.
    assert hashlib.sha256(encode_manifest(MANIFEST)).hexdigest() == (
        "573da4f2cc87f02330bedc2a5cbd524df6071f710a5b97f5c6be5298b3d7c955"
    )
    assert hashlib.sha256(encode_receipt(RECEIPT)).hexdigest() == (
        "31d87151614cbcf37448d5d906f5a01504dc8bc473de4e1d75461362e4310d36"
    )


def test_the_consent_record_encodes_to_the_known_bytes() -> None:
    assert encode_consent(CONSENT) == CONSENT_BYTES
    assert parse_consent(CONSENT_BYTES) == CONSENT


def test_the_intake_answers_encode_to_the_known_bytes() -> None:
    assert encode_intake(INTAKE) == INTAKE_BYTES
    assert parse_intake(INTAKE_BYTES) == INTAKE


def test_the_receipt_with_its_answers_encodes_to_the_known_bytes() -> None:
    assert encode_receipt(RECEIPT) == RECEIPT_BYTES
    assert parse_receipt(RECEIPT_BYTES) == RECEIPT
