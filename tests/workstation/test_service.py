"""The service layer the command line and the desk share: each action by a person is a signed
custody entry naming them, and a failed action changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from crypto.signing import fingerprint_of, verify_signature
from formats.acknowledgement import parse_signed_acknowledgement
from tests.support.workstation import MESSAGE_TEXT, MakeBundle, Workstation, first_submission
from tests.workstation.bundles import Sent, consent_document
from workstation.catalogue_index import ItemFilter
from workstation.errors import (
    BundleNotImported,
    CaseError,
    ExportPreviewMismatch,
    WorkstationError,
)
from workstation.package import verify_package
from workstation.service import WorkstationService
from workstation.store import open_store

OFFICER = "Алена Каваленка"


@pytest.fixture
def service(workstation: Workstation) -> WorkstationService:
    return WorkstationService(open_store(workstation.store))


def _two_sources(make_bundle: MakeBundle) -> Path:
    """Source one allowed the UN; source two allowed this platform only."""
    narrow = consent_document(["platform"], "2026-11-28T08:00:00.000000Z")
    return make_bundle([
        *first_submission(["platform", "un"]),
        Sent("file", b"%PDF-1.4 stand-in\n", name="protocol.pdf", source="quiet heron",
             consent=narrow),
    ])


def _last_entry(service: WorkstationService) -> dict[str, object]:
    return service.custody_entries()[-1]


def test_an_import_names_the_person_and_fills_the_lists(
    service: WorkstationService, make_bundle: MakeBundle
) -> None:
    report = service.import_bundle(_two_sources(make_bundle), OFFICER)
    assert len(report.imported) == 3
    assert {entry["actor"] for entry in service.custody_entries()} == {OFFICER}
    assert service.list_items().total == 3
    assert {row.designation for row in service.list_sources().rows} == {
        "brave tortoise", "quiet heron"}


def test_a_path_that_is_not_a_bundle_file_changes_nothing(
    service: WorkstationService, tmp_path: Path
) -> None:
    before = service.custody_entries()
    with pytest.raises(WorkstationError, match="stick is mounted"):
        service.import_bundle(tmp_path / "missing.zip", OFFICER)
    assert service.custody_entries() == before


def test_describing_an_item_is_a_view_by_that_person(
    service: WorkstationService, make_bundle: MakeBundle
) -> None:
    service.import_bundle(_two_sources(make_bundle), "importer")
    row = service.list_items(ItemFilter(kind="message")).rows[0]

    detail = service.describe_item(row.item_id, OFFICER)

    assert detail.text == MESSAGE_TEXT.decode()
    assert detail.item.submissions[0].intake["relation"] == "survivor"
    [consent] = detail.consent
    assert consent.latest is not None
    assert consent.latest.covers("un")
    last = _last_entry(service)
    assert (last["actor"], last["action"], last["item"]) == (OFFICER, "view", row.item_id)


def test_cases_record_who_created_them_and_who_added_what(
    service: WorkstationService, make_bundle: MakeBundle
) -> None:
    service.import_bundle(_two_sources(make_bundle), "importer")
    ids = [row.item_id for row in service.list_items().rows]

    service.create_case("akrestsina-2020", OFFICER)
    service.add_to_case("akrestsina-2020", ids[:2], OFFICER)
    service.add_to_case("akrestsina-2020", ids[:2], "someone else")  # already there: no entry

    case_entries = [e for e in service.custody_entries() if e["action"] == "case"]
    assert [(e["actor"], e["item"], e["details"]["change"]) for e in case_entries] == [
        (OFFICER, None, "created"), (OFFICER, ids[0], "added"), (OFFICER, ids[1], "added")]
    assert service.case("akrestsina-2020").items == tuple(ids[:2])


def test_a_bad_case_name_changes_nothing(service: WorkstationService) -> None:
    before = service.custody_entries()
    with pytest.raises(CaseError):
        service.create_case("../etc", OFFICER)
    assert service.cases() == []
    assert service.custody_entries() == before


def test_the_preview_says_what_goes_in_what_stays_and_why(
    service: WorkstationService, make_bundle: MakeBundle
) -> None:
    service.import_bundle(_two_sources(make_bundle), "importer")
    service.create_case("c1", OFFICER)
    service.add_to_case("c1", [row.item_id for row in service.list_items().rows], OFFICER)

    preview = service.preview_export("c1", "un")

    assert sorted((item.kind, item.original_name) for item in preview.included) == [
        ("file", "IMG_2041.jpg"), ("message", None)]
    [left_out] = preview.excluded
    assert left_out.name == "protocol.pdf"
    assert "allows only: platform" in left_out.reason
    assert len(service.preview_export("c1", "court").included) == 0


def test_an_export_runs_only_on_the_selection_the_person_saw(
    service: WorkstationService, make_bundle: MakeBundle, tmp_path: Path
) -> None:
    service.import_bundle(_two_sources(make_bundle), "importer")
    service.create_case("c1", OFFICER)
    items = [row.item_id for row in service.list_items().rows]
    service.add_to_case("c1", items[:1], OFFICER)
    seen = service.preview_export("c1", "un").fingerprint
    service.add_to_case("c1", items[1:], "colleague")  # the case changes after the preview
    out = tmp_path / "stick"
    out.mkdir()
    before = service.custody_entries()

    with pytest.raises(ExportPreviewMismatch):
        service.export_case("c1", "un", out, OFFICER, expected=seen)
    assert list(out.iterdir()) == []
    assert service.custody_entries() == before

    report = service.export_case("c1", "un", out, OFFICER,
                                 expected=service.preview_export("c1", "un").fingerprint)
    verified = verify_package(report.path)
    assert verified.statement["exported_by"] == OFFICER
    assert _last_entry(service)["action"] == "export"


def test_verifying_the_log_is_recorded_with_the_person(
    service: WorkstationService, make_bundle: MakeBundle
) -> None:
    service.import_bundle(_two_sources(make_bundle), "importer")
    verdict = service.verify_custody(OFFICER)
    assert verdict.gaps == ()
    assert verdict.entries == len(service.custody_entries()) - 1
    assert (_last_entry(service)["actor"], _last_entry(service)["action"]) == (OFFICER, "verify")


def test_a_source_page_shows_its_consent_history_and_items(
    service: WorkstationService, make_bundle: MakeBundle
) -> None:
    service.import_bundle(_two_sources(make_bundle), "importer")
    heron = next(r for r in service.list_sources().rows if r.designation == "quiet heron")
    detail = service.source_detail(heron.source_uuid)
    assert detail.items.total == 1
    assert detail.consent.latest is not None
    assert sorted(detail.consent.latest.destinations) == ["platform"]
    with pytest.raises(WorkstationError, match="no source"):
        service.source_detail("not-a-source")


def test_the_acknowledgement_is_signed_by_the_pinned_key_and_names_the_person(
    service: WorkstationService, make_bundle: MakeBundle, tmp_path: Path
) -> None:
    service.import_bundle(make_bundle(first_submission(["platform"])), OFFICER)
    [bundle] = [p.name for p in service.store.bundles_dir.iterdir()]
    before = len(service.custody_entries())
    with pytest.raises(BundleNotImported):
        service.acknowledge_bundle("0" * 64, tmp_path / "none.json", OFFICER)
    assert not (tmp_path / "none.json").exists()
    assert len(service.custody_entries()) == before

    written = service.acknowledge_bundle(bundle[:10], tmp_path / "ack.json", OFFICER)
    signed = parse_signed_acknowledgement(written.path.read_bytes())
    verify_signature(service.workstation_public_key(), signed.signed_bytes, signed.signature)
    assert fingerprint_of(service.workstation_public_key()) == service.workstation_fingerprint()
    assert signed.acknowledgement.bundle_manifest_sha256 == bundle
    entry = _last_entry(service)
    assert entry["actor"] == OFFICER
    assert entry["action"] == "acknowledge"
