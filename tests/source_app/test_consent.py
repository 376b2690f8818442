"""Consent and intake travel encrypted: in receipts with a submission, and as new records later.

Everything is checked the way the evidence officer would: plain `gpg --decrypt` with the test
submission secret key, then the documented readers of docs/storage-format.md.
"""

import json
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from core.instance import Instance
from core.models import Source, Submission
from formats.consent import Destination, parse_consent, parse_consent_document
from formats.intake import Region, Relation, Violation, parse_intake_document
from tests.source_app.pages import SourceClient, csrf_token_in, multipart_body
from tests.support.ciphertext import gpg_decrypt, gunzip_with_name, read_receipt
from tests.support.keys import KeyPair

INTAKE_FIELDS: list[tuple[str, str]] = [
    ("violations", "arbitrary_detention"),
    ("violations", "torture_or_ill_treatment"),
    ("when_text", "август 2020, трое суток"),
    ("when_year", "2020"),
    ("when_month", "8"),
    ("where_text", "ЦИП на Окрестина"),
    ("region", "minsk_city"),
    ("responsible", "ОМОН; начальник смены"),
    ("relation", "survivor"),
]
FIRST_CONSENT: list[tuple[str, str]] = [
    ("consent_form", "1"),
    ("destinations", "un"),
    ("replies", "yes"),
    ("investigator_contact", "no"),
]


def post_submission(
    source: SourceClient,
    message: str,
    files: list[tuple[bytes, str]],
    answers: list[tuple[str, str]],
) -> str:
    """Post /submit as a browser posts the /lookup form; returns the next page's text."""
    token = csrf_token_in(source.lookup().text)
    fields: list[tuple[str, bytes, str | None]] = [
        ("csrf_token", token.encode(), None),
        ("homepage", b"", None),
        ("msg", message.encode(), None),
    ]
    fields += [("fh", content, name) for content, name in files]
    fields += [(name, value.encode(), None) for name, value in answers]
    body, content_type = multipart_body(fields)
    response = source.client.post("/submit", data=body, content_type=content_type)
    if response.status_code == 400:
        # Refused: the page comes back at once with what was typed filled in again.
        return response.text
    assert response.status_code == 303
    return source.lookup().text


def change_consent(source: SourceClient, data: dict[str, object]) -> str:
    token = csrf_token_in(source.lookup().text)
    response = source.client.post("/consent", data={"csrf_token": token, **data})
    assert response.status_code == 303
    return source.lookup().text


def stored_rows(instance: Instance) -> tuple[Path, list[Submission]]:
    with instance.sessions() as db:
        filesystem_id = db.scalars(select(Source.filesystem_id)).one()
        rows = list(db.scalars(select(Submission).order_by(Submission.id)))
        for row in rows:
            db.expunge(row)
    return instance.settings.store_dir / filesystem_id, rows


def test_the_first_form_asks_for_consent_with_protective_defaults(source: SourceClient) -> None:
    html = source.lookup().text
    assert 'name="consent_form"' in html
    assert 'name="replies" value="no" checked' in html
    assert 'name="investigator_contact" value="no" checked' in html
    assert 'name="destinations" value="un">' in html  # not ticked
    assert '<input type="file" id="fh" name="fh" multiple>' in html
    assert 'id="change-consent"' not in html


def test_a_submission_decrypts_to_message_files_intake_and_consent(
    source: SourceClient, instance: Instance, submission_keypair: KeyPair
) -> None:
    page = post_submission(
        source,
        "They held us for three days.",
        [(b"%PDF-1.7 protocol\n", "протокол.pdf"), (b"\xff\xd8\xff photo", "IMG_2041.jpg")],
        FIRST_CONSENT + INTAKE_FIELDS,
    )
    assert "We received your submission" in page
    store, rows = stored_rows(instance)
    assert [row.kind for row in rows] == ["message", "file", "file"]
    secret = submission_keypair.secret_home

    assert gpg_decrypt(secret, store / rows[0].filename) == b"They held us for three days."
    contents = [gunzip_with_name(gpg_decrypt(secret, store / row.filename)) for row in rows[1:]]
    assert [content for _name, content in contents] == [
        b"%PDF-1.7 protocol\n",
        b"\xff\xd8\xff photo",
    ]

    receipts = [read_receipt(secret, store / str(row.receipt_filename)) for row in rows]
    assert [r["original_name"] for r in receipts] == [None, "протокол.pdf", "IMG_2041.jpg"]
    for receipt in receipts:
        intake = parse_intake_document(receipt["intake"])
        assert intake.ordered_violations == (Violation.ARBITRARY_DETENTION, Violation.TORTURE)
        assert intake.when_text == "август 2020, трое суток"
        assert (intake.when_year, intake.when_month) == (2020, 8)
        assert intake.where_text == "ЦИП на Окрестина"
        assert intake.region is Region.MINSK_CITY
        assert intake.responsible == "ОМОН; начальник смены"
        assert intake.relation is Relation.SURVIVOR
        consent = parse_consent_document(receipt["consent"])
        assert consent.consent.ordered_destinations == (Destination.PLATFORM, Destination.UN)
        assert consent.consent.replies is True
        assert consent.consent.investigator_contact is False
        assert receipt["consent"]["recorded_at"].endswith("Z")
    # The documented shape, key by key, as the workstation reads it.
    assert set(receipts[0]["intake"]) == {
        "format",
        "version",
        "violations",
        "when",
        "where",
        "responsible",
        "relation",
    }
    assert set(receipts[0]["consent"]) == {
        "format",
        "version",
        "recorded_at",
        "destinations",
        "replies",
        "investigator_contact",
    }
    # Nothing of the answers is stored in clear.
    for path in instance.settings.data_dir.rglob("*"):
        if path.is_file():
            assert "Окрестина".encode() not in path.read_bytes(), path


def test_changing_consent_adds_a_new_encrypted_record(
    source: SourceClient, instance: Instance, submission_keypair: KeyPair
) -> None:
    post_submission(source, "first account of events", [], FIRST_CONSENT)
    html = source.lookup().text
    assert 'id="change-consent"' in html
    assert 'name="consent_form"' in html  # the change form asks the same questions

    page = change_consent(source, {"destinations": ["un", "court"], "replies": "no"})
    assert "Your choices are saved" in page

    store, rows = stored_rows(instance)
    assert [row.kind for row in rows] == ["message", "consent"]
    record_row = rows[1]
    assert record_row.filename.endswith("-consent.gpg")
    plaintext = gpg_decrypt(submission_keypair.secret_home, store / record_row.filename)
    record = parse_consent(plaintext)
    assert record.consent.ordered_destinations == (
        Destination.PLATFORM,
        Destination.UN,
        Destination.COURT,
    )
    assert record.consent.replies is False
    assert json.loads(plaintext)["format"] == "skrynka-consent"
    receipt = read_receipt(submission_keypair.secret_home, store / str(record_row.receipt_filename))
    assert receipt["kind"] == "consent"
    assert receipt["original_name"] is None
    assert "consent" not in receipt  # the item itself is the consent
    first = parse_consent_document(
        read_receipt(submission_keypair.secret_home, store / str(rows[0].receipt_filename))[
            "consent"
        ]
    )
    assert record.recorded_at > first.recorded_at  # the latest record decides

    change_consent(source, {})
    _store, rows = stored_rows(instance)
    assert [row.kind for row in rows] == ["message", "consent", "consent"]
    withdrawn = parse_consent(
        gpg_decrypt(submission_keypair.secret_home, store / rows[2].filename)
    )
    assert withdrawn.consent.ordered_destinations == (Destination.PLATFORM,)


def test_later_submissions_carry_no_consent_unless_asked(
    source: SourceClient, instance: Instance, submission_keypair: KeyPair
) -> None:
    post_submission(source, "first", [], FIRST_CONSENT)
    post_submission(source, "second, with no answers", [], [])
    store, rows = stored_rows(instance)
    receipt = read_receipt(submission_keypair.secret_home, store / str(rows[1].receipt_filename))
    assert "consent" not in receipt
    assert "intake" not in receipt  # nothing answered: no intake document at all


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ([("when_year", "1850")], "give a year from 1990 until now"),
        ([("responsible", "x" * 1001)], "at most 1000 characters"),
        ([("region", "moscow")], "choose one of the answers offered"),
        (
            [("consent_form", "1"), ("investigator_contact", "yes")],
            "An investigator can ask to talk to you only through replies",
        ),
    ],
)
def test_bad_answers_are_refused_with_a_clear_message_and_nothing_kept(
    source: SourceClient, instance: Instance, answers: list[tuple[str, str]], message: str
) -> None:
    page = post_submission(source, "an account", [(b"content", "a.txt")], answers)
    assert message in page
    assert "We received your submission" not in page
    # Everything but the file is filled in again, and the file is named to be chosen again.
    assert ">an account</textarea>" in page
    assert "<li>a.txt</li>" in page
    _store, rows = stored_rows(instance)
    assert rows == []
    assert not any(instance.settings.tmp_dir.rglob("*.part"))


def test_errors_speak_the_sources_language(source: SourceClient) -> None:
    source.client.get("/?l=ru")
    page = post_submission(source, "рассказ", [], [("when_month", "13")])
    assert "Месяц: укажите год от 1990 до нынешнего" in page


def test_a_bad_consent_change_is_refused_and_nothing_stored(
    source: SourceClient, instance: Instance
) -> None:
    post_submission(source, "first", [], FIRST_CONSENT)
    page = change_consent(source, {"destinations": ["press"], "replies": "no"})
    assert "choose one of the answers offered" in page
    _store, rows = stored_rows(instance)
    assert [row.kind for row in rows] == ["message"]


def test_consent_cannot_be_changed_without_logging_in(client: FlaskClient) -> None:
    token = csrf_token_in(client.get("/login").text)
    response = client.post("/consent", data={"csrf_token": token, "replies": "yes"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/login")
