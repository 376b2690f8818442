"""The desk's pages, through a person's browser session (Flask's test client): each page calls
the service layer and shows its outcome; every action is recorded with the person's name."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

from tests.support.workstation import MESSAGE_TEXT, MakeBundle, first_submission
from tests.workstation.bundles import Sent, consent_document
from tests.workstation_app.conftest import Desk, Officer
from workstation.catalogue_index import ItemFilter
from workstation.handover import EXCLUSION_TEXTS
from workstation.package import verify_package
from workstation.reconciliation import GAP_TEXTS
from workstation_app.cases import EXCLUSION_NAMES
from workstation_app.custody import GAP_CAUSES

HOSTILE = "<script>alert('x')</script><img src=http://203.0.113.9/p.png> Дапамажыце"


def _bundle(make_bundle: MakeBundle) -> Path:
    narrow = consent_document(["platform"], "2026-11-28T08:00:00.000000Z")
    return make_bundle([
        *first_submission(["platform", "un"]),
        Sent("message", HOSTILE.encode(), source="quiet heron", consent=narrow),
    ])


def _item_id(desk: Desk, **wanted: str) -> str:
    return desk.service.list_items(ItemFilter(**wanted)).rows[0].item_id


def test_a_person_is_asked_who_they_are_before_anything_else(desk: Desk) -> None:
    with desk.app.test_client() as client:
        client.get(f"/launch/{desk.secret}")
        response = client.get("/")
        assert response.status_code == 303
        assert response.headers["Location"] == "/who"
        page = client.get("/who").text
        assert "Who is working?" in page


def test_an_unusable_name_is_refused_with_a_reason(desk: Desk) -> None:
    with desk.app.test_client() as client:
        officer = Officer(client, desk)
        officer.launch()
        for name, reason in (("   ", "Enter your name"), ("a\u202eb", "cannot be shown"),
                             ("x" * 81, "at most 80")):
            token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/who").text)
            assert token
            page = client.post("/who", data={"name": name, "csrf_token": token.group(1)})
            assert page.status_code == 400
            assert reason in page.text
        assert client.get("/").status_code == 303


def test_importing_from_a_path_lists_the_items_and_names_the_officer(
    officer: Officer, make_bundle: MakeBundle
) -> None:
    page = officer.post("/import", {"path": str(_bundle(make_bundle))})
    assert page.status_code == 200
    assert "3 new items" in page.text
    listing = officer.get("/").text
    assert "IMG_2041.jpg" in listing
    assert "3 items" in listing
    imports = [e for e in officer.desk.service.custody_entries() if e["action"] == "import"]
    assert imports
    assert {e["actor"] for e in imports} == {"Anna Petrova"}


def test_an_import_at_the_desk_reads_metadata_and_hashes_the_photo_as_the_command_does(
    officer: Officer, make_bundle: MakeBundle
) -> None:
    officer.post("/import", {"path": str(_bundle(make_bundle))})

    service = officer.desk.service
    photo = next(i for i in service.list_items(ItemFilter(kind="file")).rows
                 if i.name == "IMG_2041.jpg")
    actions = {(e["action"], e["actor"]) for e in service.custody_entries()
               if e.get("item") == photo.item_id}
    assert ("metadata", "Anna Petrova") in actions
    assert ("perceptual-hash", "Anna Petrova") in actions


def test_a_refused_bundle_gets_a_clear_page_and_changes_nothing(
    officer: Officer, tmp_path: Path
) -> None:
    fake = tmp_path / "skrynka-bundle.zip"
    fake.write_bytes(b"PK\x03\x04 not a real bundle")
    page = officer.post("/import", {"path": str(fake)})
    assert page.status_code == 422
    assert "The bundle was refused" in page.text
    assert "Traceback" not in page.text
    assert officer.desk.service.list_items().total == 0


def test_filters_and_pages_are_links_that_keep_the_filter(
    officer: Officer, make_bundle: MakeBundle
) -> None:
    officer.post("/import", {"path": str(_bundle(make_bundle))})
    page = officer.get("/?kind=message").text
    assert "2 items" in page
    assert "IMG_2041.jpg" not in page
    assert "1 item" in officer.get("/?q=img_2041").text
    assert "No item matches." in officer.get("/?q=nothing-like-this").text
    assert officer.get("/?page=abc").status_code == 200


def test_a_message_is_shown_as_text_never_as_markup(
    officer: Officer, make_bundle: MakeBundle
) -> None:
    officer.post("/import", {"path": str(_bundle(make_bundle))})
    hostile = _item_id(officer.desk, kind="message", source_uuid=next(
        r.source_uuid for r in officer.desk.service.list_sources().rows
        if r.designation == "quiet heron"))
    page = officer.get(f"/items/{hostile}").text
    assert "&lt;script&gt;alert(" in page
    assert HOSTILE in html.unescape(page)
    assert "<script>alert" not in page
    assert "<img src=http" not in page


def test_an_item_page_shows_intake_answers_consent_and_records_the_view(
    officer: Officer, make_bundle: MakeBundle
) -> None:
    officer.post("/import", {"path": str(_bundle(make_bundle))})
    message = _item_id(officer.desk, text="", kind="message", source_uuid=next(
        r.source_uuid for r in officer.desk.service.list_sources().rows
        if r.designation == "brave tortoise"))
    page = officer.get(f"/items/{message}").text
    assert MESSAGE_TEXT.decode().strip() in html.unescape(page)
    assert "Akrestsina, Minsk" in page
    assert "this platform only, UN investigative bodies" in page
    last = officer.desk.service.custody_entries()[-1]
    assert (last["action"], last["actor"], last["item"]) == ("view", "Anna Petrova", message)


def test_a_source_page_shows_consent_and_what_the_source_sent(
    officer: Officer, make_bundle: MakeBundle
) -> None:
    officer.post("/import", {"path": str(_bundle(make_bundle))})
    sources = officer.get("/sources").text
    assert "brave tortoise" in sources
    assert "quiet heron" in sources
    heron = re.search(r'href="(/sources/[^"]+)">quiet heron', sources)
    assert heron
    page = officer.get(heron.group(1)).text
    assert "No consent recorded" not in page
    assert "allows:" in page
    assert "this platform only" in page
    assert "1 item" in page


def test_a_case_is_built_previewed_and_exported_for_the_un(
    officer: Officer, make_bundle: MakeBundle, tmp_path: Path
) -> None:
    officer.post("/import", {"path": str(_bundle(make_bundle))})
    officer.post("/cases", {"name": "akrestsina-2020"})
    ids = [row.item_id for row in officer.desk.service.list_items().rows]
    for item_id in ids:
        officer.get(f"/items/{item_id}")
        added = officer.post("/cases/items", {"case": "akrestsina-2020", "item": item_id,
                                              "back": f"/items/{item_id}"})
        assert added.status_code == 303
    preview = officer.get("/cases/akrestsina-2020/export?to=un")
    assert "Goes in: 2 items" in preview.text
    assert "Left out: 1 item" in preview.text
    assert "the source did not consent to this recipient" in preview.text
    fingerprint = re.search(r'name="fingerprint" value="([0-9a-f]{64})"', preview.text)
    assert fingerprint
    stick = tmp_path / "stick"
    stick.mkdir()

    done = officer.post("/cases/akrestsina-2020/export", {
        "to": "un", "out": str(stick), "recipient": "", "fingerprint": fingerprint.group(1)})

    assert done.status_code == 200, done.text
    assert "Package written" in done.text
    [package] = list(stick.iterdir())
    report = verify_package(package)
    assert report.statement["exported_by"] == "Anna Petrova"
    assert len(report.statement["items"]) == 2
    assert len(report.statement["excluded"]) == 1


def test_an_export_after_the_case_changed_is_refused(
    officer: Officer, make_bundle: MakeBundle, tmp_path: Path
) -> None:
    officer.post("/import", {"path": str(_bundle(make_bundle))})
    officer.post("/cases", {"name": "c1"})
    tortoise = next(r.source_uuid for r in officer.desk.service.list_sources().rows
                    if r.designation == "brave tortoise")
    first, second = [row.item_id for row in officer.desk.service.list_items(
        ItemFilter(source_uuid=tortoise)).rows]
    officer.post("/cases/items", {"case": "c1", "item": first})
    preview = officer.get("/cases/c1/export?to=un").text
    seen = re.search(r'name="fingerprint" value="([0-9a-f]{64})"', preview)
    assert seen
    officer.post("/cases/items", {"case": "c1", "item": second})
    page = officer.post("/cases/c1/export", {"to": "un", "out": str(tmp_path),
                                             "fingerprint": seen.group(1)})
    assert page.status_code == 409
    assert "The case changed since the preview" in page.text
    assert not any(p.name.startswith("skrynka-c1") for p in tmp_path.iterdir())


def test_the_custody_log_is_shown_and_verified_by_the_person(
    officer: Officer, make_bundle: MakeBundle
) -> None:
    officer.post("/import", {"path": str(_bundle(make_bundle))})
    assert "Anna Petrova" in officer.get("/custody").text
    verified = officer.post("/custody/verify")
    assert verified.status_code == 200
    assert "The log is intact" in verified.text
    assert officer.desk.service.custody_entries()[-1]["action"] == "verify"


@pytest.mark.parametrize(("code", "why"), [
    ("be", "апошняя згода (2026-11-28T08:00:00.000000Z) дазваляе: толькі гэтая платформа"),
    ("ru", "последнее согласие (2026-11-28T08:00:00.000000Z) разрешает: только эта платформа"),
])
def test_the_preview_says_why_an_item_stays_out_in_the_person_s_language(
    officer: Officer, make_bundle: MakeBundle, code: str, why: str
) -> None:
    officer.post("/import", {"path": str(_bundle(make_bundle))})
    officer.post("/cases", {"name": "c1"})
    for row in officer.desk.service.list_items().rows:
        officer.post("/cases/items", {"case": "c1", "item": row.item_id, "back": "/"})

    preview = html.unescape(officer.get(f"/cases/c1/export?to=un&l={code}").text)

    assert f"({why})" in preview
    assert "allows only" not in preview
    # The package's signed statement keeps the English it always had.
    [left_out] = officer.desk.service.preview_export("c1", "un").excluded
    assert left_out.reason == "latest consent (2026-11-28T08:00:00.000000Z) allows only: platform"


GAP_WORDS = {
    "be": ("У журнале, але не ў сховішчы", "запіс пра імпарт %(seq)s ёсць, але ў сховішчы яго "
           "няма", "імпартуйце пакет %(bundle)s зноў"),
    "ru": ("В журнале, но не в хранилище", "запись об импорте %(seq)s есть, но в хранилище его "
           "нет", "импортируйте пакет %(bundle)s снова"),
}


@pytest.mark.parametrize("code", ["be", "ru"])
def test_a_gap_between_store_and_log_is_explained_in_the_person_s_language(
    officer: Officer, make_bundle: MakeBundle, code: str
) -> None:
    officer.post("/import", {"path": str(_bundle(make_bundle))})
    item_id = _item_id(officer.desk, kind="file")
    [record] = (officer.desk.store / "originals" / item_id / "submissions").glob("*.json")
    record.unlink()
    entry = next(e for e in officer.desk.service.custody_entries()
                 if e["action"] == "import" and e["item"] == item_id)
    values = {"seq": entry["seq"], "bundle": entry["details"]["bundle_manifest_sha256"]}
    officer.get(f"/custody?l={code}")

    page = html.unescape(officer.post("/custody/verify").text)

    kind, cause, advice = GAP_WORDS[code]
    assert f"{kind}: {item_id} " in page
    assert cause % values in page
    assert advice % values in page
    for english in ("missing:", "records it but it is not in the store", "again to restore it"):
        assert english not in page


def test_a_broken_custody_log_gets_its_own_page(
    officer: Officer, make_bundle: MakeBundle
) -> None:
    officer.post("/import", {"path": str(_bundle(make_bundle))})
    log = officer.desk.store / "custody.log"
    lines = log.read_bytes().splitlines(keepends=True)
    entry = json.loads(lines[0])
    entry["actor"] = "someone else"
    log.write_bytes(json.dumps(entry).encode() + b"\n" + b"".join(lines[1:]))
    page = officer.post("/custody/verify")
    assert page.status_code == 409
    assert "The custody log is broken" in page.text
    assert "Stop handling evidence" in page.text


def test_an_unknown_item_and_an_unknown_case_get_clear_pages(officer: Officer) -> None:
    missing = officer.get("/items/" + "ab" * 32)
    assert missing.status_code == 404
    assert "No such item" in missing.text
    case = officer.get("/cases/nope")
    assert case.status_code == 400
    assert "The case cannot be used like this" in case.text
    assert officer.get("/no/such/page").status_code == 404


def test_an_unexpected_failure_shows_a_short_page_and_no_traceback(
    officer: Officer, desk: Desk, make_bundle: MakeBundle
) -> None:
    officer.post("/import", {"path": str(_bundle(make_bundle))})
    item_id = _item_id(desk, text="IMG_2041")
    # A record damaged on disk is nothing the desk foresees: it must still answer plainly.
    [record] = (desk.store / "originals" / item_id / "submissions").iterdir()
    record.chmod(0o644)
    record.write_text("{ not json")
    page = officer.get(f"/items/{item_id}")
    assert page.status_code == 500
    assert "Something went wrong" in page.text
    assert "Traceback" not in page.text
    assert "JSONDecodeError" not in page.text


def test_a_working_copy_is_made_from_the_item_page(
    officer: Officer, make_bundle: MakeBundle
) -> None:
    officer.post("/import", {"path": str(_bundle(make_bundle))})
    photo = _item_id(officer.desk, text="IMG_2041")
    officer.get(f"/items/{photo}")
    made = officer.post(f"/items/{photo}/working-copy")
    assert made.status_code == 303
    page = officer.get(f"/items/{photo}").text
    assert "Working copy made; metadata removed." in page
    assert officer.desk.service.custody_entries()[-2]["action"] == "copy"


def test_changing_the_person_asks_for_a_name_again(officer: Officer) -> None:
    officer.get("/")
    assert officer.post("/who/end").status_code == 303
    assert officer.client.get("/").headers["Location"] == "/who"


def test_the_desk_offers_no_way_to_fetch_an_original(desk: Desk) -> None:
    # Only rendition files are ever sent as files; no route takes a path or serves `content`.
    rules = {rule.rule for rule in desk.app.url_map.iter_rules()}
    assert not any("original" in rule or "content" in rule or "download" in rule
                   for rule in rules)


def test_a_hostile_file_name_is_shown_as_text_in_every_list(
    officer: Officer, make_bundle: MakeBundle
) -> None:
    name = '"><script>alert(1)</script>.pdf'
    officer.post("/import", {"path": str(make_bundle([Sent("file", b"%PDF-1.4\n", name=name)]))})
    for url in ("/", "/?q=script"):
        page = officer.get(url).text
        assert "<script>alert(1)" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;.pdf" in page


def test_paging_links_carry_the_filter(officer: Officer, make_bundle: MakeBundle) -> None:
    sent = [Sent("file", f"%PDF-1.4 {n}\n".encode(), name=f"scan-{n:02d}.pdf") for n in range(55)]
    officer.post("/import", {"path": str(make_bundle(sent))})
    page = officer.get("/?q=scan&kind=file").text
    assert "55 items" in page
    assert 'href="/?page=2&amp;q=scan&amp;kind=file"' in page
    second = officer.get("/?page=2&q=scan&kind=file").text
    assert second.count('href="/items/') == 5


def test_every_exclusion_and_gap_the_workstation_names_has_the_desk_s_words() -> None:
    assert set(EXCLUSION_NAMES) == set(EXCLUSION_TEXTS)
    assert set(GAP_CAUSES) == set(GAP_TEXTS)
