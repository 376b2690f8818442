"""Property-based fuzzing of every parser that reads what an attacker can write.

The multipart parser of /submit, codename normalisation, and on the workstation side the
bundle manifest and container, receipts, consent and intake documents, and the custody log:
for any input each either returns something that passes its own rules or raises its one
documented refusal; nothing else escapes, and nothing it should refuse is accepted.

The normal suite runs a bounded number of examples per target; the ``slow`` variants run many
more. Every input tried is counted and written to ``test-artifacts/fuzz-counts.json``.
"""

from __future__ import annotations

import base64
import io
import json
import string
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import MessageTooLong, UploadTooLarge
from core.instance import Instance
from core.sources import create_source
from core.submissions import open_submission
from crypto.codename import CODENAME_WORDS, generate_codename, normalize_codename
from crypto.errors import InvalidCodename
from crypto.signing import Signer, generate_signing_seed
from crypto.wordlist import load_eff_wordlist
from formats.bundle_manifest import MANIFEST_NAME, SIGNATURE_NAME, parse_manifest_items
from formats.consent import parse_consent
from formats.errors import InvalidConsent, InvalidIntake, InvalidManifest, InvalidReceipt
from formats.intake import parse_intake
from formats.receipt import parse_receipt
from source_app.answers import StreamedAnswers
from source_app.errors import MalformedUpload
from source_app.upload import receive_form
from workstation.bundle import verify_bundle
from workstation.consent import DESTINATIONS, PLATFORM, read_consent
from workstation.custody import CustodyLog, check_chain, parse_lines
from workstation.errors import BundleRejected, CustodyBroken

COUNTS: Counter[str] = Counter()
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
NORMAL = settings(max_examples=200, deadline=None,
                  suppress_health_check=[HealthCheck.function_scoped_fixture,
                                         HealthCheck.too_slow])
LONG = settings(max_examples=3000, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


@pytest.fixture(scope="module", autouse=True)
def count_inputs() -> Iterator[None]:
    yield
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "fuzz-counts.json"
    previous = json.loads(path.read_text()) if path.exists() else {}
    previous.update(dict(COUNTS))
    path.write_text(json.dumps(previous, indent=2, sort_keys=True) + "\n")
    print("\nfuzz inputs tried:", json.dumps(dict(COUNTS), sort_keys=True))


json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner,
                                                                max_size=6),
    max_leaves=20,
)


# --- the multipart parser of /submit ------------------------------------------------------

FIELD_NAMES = st.sampled_from(["csrf_token", "msg", "homepage", "fh", "destinations", "replies",
                               "violations", "x", "", "fh\"; filename=\"a"])


@st.composite
def multipart_bodies(draw: st.DrawFn) -> tuple[str, bytes]:
    boundary = draw(st.text(alphabet=string.ascii_letters + string.digits + "'()+_,-./:=?",
                            min_size=1, max_size=40))
    parts = []
    for _ in range(draw(st.integers(0, 6))):
        name = draw(FIELD_NAMES)
        filename = draw(st.none() | st.text(max_size=30))
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        headers = f"Content-Disposition: {disposition}\r\n"
        if draw(st.booleans()):
            headers += f"Content-Type: {draw(st.text(max_size=20))}\r\n"
        body = draw(st.binary(max_size=300))
        parts.append(b"--" + boundary.encode() + b"\r\n" + headers.encode("utf-8", "replace")
                     + b"\r\n" + body + b"\r\n")
    data = b"".join(parts) + b"--" + boundary.encode() + b"--\r\n"
    # Mutate: cut it short, flip a byte or splice random bytes in, sometimes.
    mutation = draw(st.sampled_from(["none", "cut", "flip", "splice"]))
    if mutation == "cut" and data:
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif mutation == "flip" and data:
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1:]
    elif mutation == "splice":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(max_size=50)) + data[at:]
    content_type = draw(st.sampled_from([
        f"multipart/form-data; boundary={boundary}", f'multipart/form-data; boundary="{boundary}"',
        "multipart/form-data", "text/plain", "",
    ]))
    return content_type, data


class Body:
    def __init__(self, data: bytes) -> None:
        self._stream = io.BytesIO(data)

    def read(self, size: int) -> bytes:
        return self._stream.read(min(size, 64))  # small reads exercise the chunk edges


@pytest.fixture
def logged_in_source(instance: Instance) -> str:
    return create_source(instance, generate_codename()).source_id


def check_multipart(instance: Instance, source_id: str, content_type: str, data: bytes) -> None:
    COUNTS["multipart"] += 1
    with open_submission(instance, source_id) as draft:
        try:
            form = receive_form(Body(data), content_type, draft, StreamedAnswers())
        except (MalformedUpload, UploadTooLarge, MessageTooLong):
            draft.discard()
            return
        # Accepted: it must be a complete form with at least one field of ours.
        assert form.csrf_token is not None
        draft.discard()


@NORMAL
@given(multipart_bodies())
def test_the_multipart_parser_refuses_or_reads_any_body(
    instance: Instance, logged_in_source: str, body: tuple[str, bytes]
) -> None:
    check_multipart(instance, logged_in_source, *body)


@pytest.mark.slow
@pytest.mark.only_on("sqlite")  # many examples of the parser; the short run covers both
@LONG
@given(multipart_bodies())
def test_the_multipart_parser_refuses_or_reads_any_body_long(
    instance: Instance, logged_in_source: str, body: tuple[str, bytes]
) -> None:
    check_multipart(instance, logged_in_source, *body)


@NORMAL
@given(st.binary(min_size=1, max_size=2000), st.data())
def test_a_body_cut_inside_a_file_is_refused(
    instance: Instance, logged_in_source: str, content: bytes, data: st.DataObject
) -> None:
    COUNTS["multipart-truncated"] += 1
    boundary = "b0undary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\nt\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"fh\"; "
            f"filename=\"a.bin\"\r\n\r\n").encode() + content
    cut = data.draw(st.integers(len(body) - len(content) + 1, len(body)))
    with open_submission(instance, logged_in_source) as draft:
        with pytest.raises(MalformedUpload):
            receive_form(Body(body[:cut]), f"multipart/form-data; boundary={boundary}", draft)
        draft.discard()


# --- codenames ----------------------------------------------------------------------------

WORDS = load_eff_wordlist().words


def check_codename(text: str) -> None:
    COUNTS["codename"] += 1
    try:
        codename = normalize_codename(text)
    except InvalidCodename:
        return
    words = codename.split(" ")
    assert len(words) == CODENAME_WORDS
    assert set(words) <= set(WORDS)
    assert normalize_codename(codename) == codename


@NORMAL
@given(st.text(max_size=200) | st.lists(st.sampled_from(WORDS), min_size=5, max_size=9).map(
    lambda words: "  ".join(w.upper() if len(w) % 2 else w for w in words)))
def test_codename_normalisation_accepts_only_codenames(text: str) -> None:
    check_codename(text)


@pytest.mark.slow
@LONG
@given(st.text(max_size=400))
def test_codename_normalisation_accepts_only_codenames_long(text: str) -> None:
    check_codename(text)


# --- the bundle manifest and container ---------------------------------------------------------


@st.composite
def manifests(draw: st.DrawFn) -> object:
    item = st.fixed_dictionaries({}, optional={
        "uuid": st.text(max_size=40) | st.uuids().map(str),
        "kind": st.sampled_from(["message", "file", "reply", "consent", "x"]) | json_values,
        "path": st.sampled_from(["items/a/1-a-msg.gpg", "../x", "items/"]) | st.text(max_size=20),
        "filename": st.sampled_from(["1-a-msg.gpg"]) | st.text(max_size=10),
        "size": st.integers() | json_values,
        "sha256": st.just("a" * 64) | st.text(max_size=70),
        "receipt": st.none() | json_values | st.fixed_dictionaries({
            "path": st.just("items/a/1-a-receipt.gpg"), "size": st.integers(-1, 10),
            "sha256": st.just("b" * 64)}),
        "source_designation": json_values,
    })
    return draw(st.fixed_dictionaries({"items": st.lists(item, max_size=4) | json_values}))


def check_manifest(manifest: object) -> None:
    COUNTS["manifest"] += 1
    if not isinstance(manifest, dict):
        return
    try:
        items = parse_manifest_items(manifest.get("items"))
    except InvalidManifest:
        return
    uuids = [item.uuid for item in items]
    assert len(set(uuids)) == len(uuids)
    for item in items:
        assert item.kind in ("message", "file", "reply", "consent")
        for member in (item.ciphertext, item.receipt):
            if member is not None:
                assert member.path.startswith("items/")
                assert type(member.size) is int
                assert member.size >= 0
                assert len(member.sha256) == 64
        assert (item.receipt is None) or item.kind != "reply"


@NORMAL
@given(manifests())
def test_the_manifest_parser_refuses_or_returns_valid_items(manifest: object) -> None:
    check_manifest(manifest)


@pytest.mark.slow
@LONG
@given(manifests())
def test_the_manifest_parser_refuses_or_returns_valid_items_long(manifest: object) -> None:
    check_manifest(manifest)


SIGNER = Signer(generate_signing_seed())


def real_bundle_bytes() -> bytes:
    manifest = json.dumps({"format": "skrynka-transfer-bundle", "version": 1,
                           "instance_id": "fuzz", "created_at": "2026-12-06T12:00:00.000000Z",
                           "signing_key": SIGNER.fingerprint, "items": []}).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MANIFEST_NAME, manifest)
        archive.writestr(SIGNATURE_NAME, base64.b64encode(SIGNER.sign(manifest)) + b"\n")
    return buffer.getvalue()


BUNDLE = real_bundle_bytes()


@NORMAL
@given(st.data())
def test_a_damaged_bundle_file_is_only_ever_refused(tmp_path: Path, data: st.DataObject) -> None:
    COUNTS["bundle-container"] += 1
    assert verify_bundle(_written(tmp_path, BUNDLE), SIGNER.public_key).items == ()
    raw = bytearray(BUNDLE)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        raw = raw[: data.draw(st.integers(0, len(raw)))]
    path = tmp_path / "fuzzed.zip"
    path.write_bytes(bytes(raw))
    try:
        bundle = verify_bundle(path, SIGNER.public_key)
    except BundleRejected:
        return
    # Accepted: then the manifest is exactly the one that was signed.
    assert bundle.items == ()


def _written(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "intact.zip"
    path.write_bytes(data)
    return path


# --- receipts, consent and intake ------------------------------------------------------------


def receipt_like(document: dict[str, object]) -> bytes:
    return json.dumps(document).encode()


receipt_documents = st.fixed_dictionaries(
    {"format": st.just("skrynka-receipt"), "version": st.just(1) | json_values},
    optional={
        "submission_uuid": st.uuids().map(str) | json_values,
        "kind": st.sampled_from(["message", "file", "consent"]) | json_values,
        "original_name": st.none() | st.text(max_size=20) | json_values,
        "size": st.integers() | json_values,
        "sha256": st.just("c" * 64) | json_values,
        "sha512": st.just("d" * 128) | json_values,
        "received_at": st.sampled_from(["2026-11-27T05:11:16.055418Z", "2026-13-45T99:99:99Z",
                                        "2026-02-30T00:00:00Z"]) | st.text(max_size=30),
        "intake": json_values, "consent": json_values,
    },
)


def check_receipt(data: bytes) -> None:
    COUNTS["receipt"] += 1
    try:
        parse_receipt(data)
    except InvalidReceipt:
        return


@NORMAL
@given(st.binary(max_size=400) | receipt_documents.map(receipt_like))
def test_the_receipt_reader_refuses_or_returns(data: bytes) -> None:
    check_receipt(data)


@pytest.mark.slow
@LONG
@given(st.binary(max_size=800) | receipt_documents.map(receipt_like))
def test_the_receipt_reader_refuses_or_returns_long(data: bytes) -> None:
    check_receipt(data)


consent_documents = st.fixed_dictionaries(
    {"format": st.just("skrynka-consent") | json_values, "version": st.just(1) | json_values},
    optional={
        "recorded_at": st.just("2026-11-27T05:11:16.055418Z") | json_values,
        "destinations": st.lists(st.sampled_from([*DESTINATIONS, "nsa", ""]), max_size=4)
        | json_values,
        "replies": st.booleans() | json_values,
        "investigator_contact": st.booleans() | json_values,
    },
)


@NORMAL
@given(consent_documents | json_values)
def test_consent_documents_are_read_safely_on_both_sides(document: object) -> None:
    COUNTS["consent"] += 1
    record = read_consent(document, "source", "fuzz", "2026-01-01T00:00:00Z")
    assert record.destinations <= {*DESTINATIONS, PLATFORM}
    assert PLATFORM in record.destinations
    if not isinstance(document, dict):
        assert record.problem is not None
    try:
        parse_consent(json.dumps(document).encode())
    except InvalidConsent:
        return


intake_documents = st.fixed_dictionaries(
    {"format": st.just("skrynka-intake") | json_values, "version": st.just(1) | json_values},
    optional={
        "violations": st.lists(st.sampled_from(["torture_or_ill_treatment", "x"]), max_size=3)
        | json_values,
        "when": st.fixed_dictionaries({}, optional={"text": json_values, "year": json_values,
                                                    "month": json_values}) | json_values,
        "where": st.fixed_dictionaries({}, optional={"text": json_values,
                                                     "region": json_values}) | json_values,
        "relation": json_values, "responsible": json_values,
    },
)


@NORMAL
@given(intake_documents | json_values | st.binary(max_size=200))
def test_intake_documents_are_refused_or_read(document: object) -> None:
    COUNTS["intake"] += 1
    data = document if isinstance(document, bytes) else json.dumps(document).encode()
    try:
        parse_intake(data)
    except InvalidIntake:
        return


# --- the custody log ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def custody_log(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes]:
    directory = tmp_path_factory.mktemp("custody")
    signer = Signer(generate_signing_seed())
    log = CustodyLog(directory / "custody.log", directory / "custody.head", signer)
    (directory / "custody.log").touch()
    for n in range(4):
        log.append("officer", "view", f"item{n}", "e" * 64, {"n": n})
    return (directory / "custody.log").read_bytes(), signer.public_key


@NORMAL
@given(st.data())
def test_the_custody_reader_refuses_any_change(custody_log: tuple[bytes, bytes],
                                               data: st.DataObject) -> None:
    COUNTS["custody"] += 1
    original, public_key = custody_log
    raw = bytearray(original)
    changes = data.draw(st.integers(0, 3))
    for _ in range(changes):
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at] = data.draw(st.integers(0, 255))
    try:
        count, _ = check_chain(parse_lines(bytes(raw).splitlines()), public_key)
    except CustodyBroken:
        assert bytes(raw) != original
        return
    # Accepted: only if nothing that is signed changed (JSON whitespace aside).
    assert [json.loads(line) for line in bytes(raw).splitlines() if line.strip()] == [
        json.loads(line) for line in original.splitlines()
    ]
    assert count == 4
