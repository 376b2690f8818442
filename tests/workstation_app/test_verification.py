"""Verification at the desk: the signed metadata record, the assessment signed by two people,
similar items and their clusters, and search, all on the item page and pages of their own, with
hostile text kept from reordering the page."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.support.pictures import picture
from tests.support.workstation import PHOTO_NAME, MakeBundle, Workstation, first_submission
from tests.workstation.bundles import Sent
from tests.workstation_app.conftest import Desk, Officer
from workstation_app.display import neutral_text, shown, snippet

RTL_OVERRIDE = "\u202e"


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    directory = tmp_path_factory.mktemp("desk-photos")
    return {"yard": picture(7, "original", directory),
            "yard-shared": picture(7, "resized", directory),
            "street": picture(8, "original", directory)}


def ids_by_name(workstation: Workstation) -> dict[str, str]:
    return {item["name"]: item["id"]
            for item in json.loads(workstation.run("list", "--json")[1])}


def imported(workstation: Workstation, bundle: Path) -> None:
    code, _out, err = workstation.run("import", str(bundle))
    assert code == 0, err


def change_person(officer: Officer, name: str) -> None:
    assert officer.post("/who/end").status_code == 303
    assert officer.sign_in(name).status_code == 303
    officer.token = ""


def assess_and_confirm_entries(desk: Desk, item_id: str) -> list[tuple[str, str, str]]:
    return [(e["action"], e["actor"], (e.get("details") or {}).get("status", ""))
            for e in desk.service.custody_entries(item_id)
            if e["action"] in ("assess", "confirm")]


def test_the_item_page_shows_the_signed_embedded_metadata_record(
    officer: Officer, workstation: Workstation, make_bundle: MakeBundle
) -> None:
    imported(workstation, make_bundle(first_submission(["platform"])))
    photo = ids_by_name(workstation)[PHOTO_NAME]
    seq = next(e["seq"] for e in officer.desk.service.custody_entries(photo)
               if e["action"] == "metadata")

    page = officer.get(f"/items/{photo}").text

    section = page[page.index('id="embedded-metadata"'):page.index('id="assessment"')]
    assert "Capture time" in section
    assert "GPS position" in section
    assert "53.9" in section
    assert "27.55" in section
    assert "TestCam Z9" in section
    assert f"custody entry #{seq} of" in section
    assert "by officer-anna" in section
    assert re.search(r'class="hash">[0-9a-f]{64}<', section)


def test_a_changed_metadata_record_is_shown_as_altered(
    officer: Officer, workstation: Workstation, make_bundle: MakeBundle
) -> None:
    imported(workstation, make_bundle(first_submission(["platform"])))
    photo = ids_by_name(workstation)[PHOTO_NAME]
    record = workstation.store / "metadata" / f"{photo}.json"
    record.chmod(0o644)
    record.write_text(record.read_text().replace("TestCam Z9", "OtherCam 1"))

    section = officer.get(f"/items/{photo}").text.split('id="embedded-metadata"')[1]

    assert "does not match its signed custody" in section
    assert "OtherCam" not in section


def test_an_assessment_is_recorded_and_only_a_second_person_can_confirm_it(
    officer: Officer, workstation: Workstation, make_bundle: MakeBundle
) -> None:
    imported(workstation, make_bundle(first_submission(["platform"])))
    photo = ids_by_name(workstation)[PHOTO_NAME]
    officer.get(f"/items/{photo}")
    response = officer.post(f"/items/{photo}/assessment", {
        "status": "corroborated",
        "grounds-source": "Known witness, two earlier reports held up.",
        "grounds-content": "Yard matches the 2020 photos of Akrestsina.",
        "grounds-technical": "EXIF time and GPS agree with the account.",
        "note": "Check the second camera angle.",
    })
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/items/{photo}#assessment")
    page = officer.get(f"/items/{photo}").text
    assert "Assessment recorded in the custody log." in page
    assert "awaiting a second person’s confirmation" in page
    for text in ("Source analysis", "Known witness", "Content analysis", "Akrestsina",
                 "Technical analysis", "EXIF time and GPS agree", "Check the second camera"):
        assert text in page
    assert "Confirm as the second person" in page

    refused = officer.post(f"/items/{photo}/confirmation")
    assert refused.status_code == 303
    page = officer.get(f"/items/{photo}").text
    assert "You made this assessment, so you cannot confirm it. Nothing was recorded" in page
    assert assess_and_confirm_entries(officer.desk, photo) == [
        ("assess", "Anna Petrova", "corroborated")]

    change_person(officer, "Boris Ivanou")
    officer.get(f"/items/{photo}")
    assert officer.post(f"/items/{photo}/confirmation").status_code == 303
    page = officer.get(f"/items/{photo}").text
    assert "Your confirmation was recorded in the custody log." in page
    assert "Confirmed by Boris Ivanou" in page
    assert "awaiting a second person" not in page
    assert "Confirm as the second person" not in page
    assert assess_and_confirm_entries(officer.desk, photo) == [
        ("assess", "Anna Petrova", "corroborated"), ("confirm", "Boris Ivanou", "corroborated")]
    # The command line reads the same two entries.
    shown_json = json.loads(workstation.run("show", photo, "--json")[1])
    assert shown_json["assessments"][-1]["confirmed_by"]["actor"] == "Boris Ivanou"


def test_the_assessment_history_lists_every_change_newest_first(
    officer: Officer, workstation: Workstation, make_bundle: MakeBundle
) -> None:
    imported(workstation, make_bundle(first_submission(["platform"])))
    photo = ids_by_name(workstation)[PHOTO_NAME]
    officer.get(f"/items/{photo}")
    officer.post(f"/items/{photo}/assessment", {"status": "in review", "note": "first look"})
    officer.post(f"/items/{photo}/assessment", {"status": "doubtful", "note": "shadows wrong"})

    page = officer.get(f"/items/{photo}").text

    assert "Current status: doubtful" in page
    history = page[page.index("History of the assessment"):page.index("Change the assessment")]
    assert history.index("shadows wrong") < history.index("first look")
    assert history.count("by Anna Petrova at") == 2


def test_an_unknown_status_or_overlong_note_records_nothing_and_says_why(
    officer: Officer, workstation: Workstation, make_bundle: MakeBundle
) -> None:
    imported(workstation, make_bundle(first_submission(["platform"])))
    photo = ids_by_name(workstation)[PHOTO_NAME]
    officer.get(f"/items/{photo}")
    officer.post(f"/items/{photo}/assessment", {"status": "genuine"})
    page = officer.get(f"/items/{photo}").text
    assert "The assessment was not recorded: unknown status &#39;genuine&#39;" in page
    officer.post(f"/items/{photo}/assessment", {"status": "doubtful", "note": "x" * 20_001})
    page = officer.get(f"/items/{photo}").text
    assert "The assessment was not recorded: the note is 20001 characters" in page
    assert assess_and_confirm_entries(officer.desk, photo) == []
    assert "Current status: unreviewed" in page


def test_the_assessment_pages_read_in_belarusian_and_russian(
    officer: Officer, workstation: Workstation, make_bundle: MakeBundle
) -> None:
    imported(workstation, make_bundle(first_submission(["platform"])))
    photo = ids_by_name(workstation)[PHOTO_NAME]
    officer.get(f"/items/{photo}?l=be")  # the choice stays for the session
    officer.post(f"/items/{photo}/assessment", {"status": "corroborated"})
    officer.post(f"/items/{photo}/confirmation")
    belarusian = officer.get(f"/items/{photo}").text
    assert "Гэту ацэнку зрабілі вы, таму не можаце яе пацвердзіць." in belarusian
    assert "Пацвердзіць як другі чалавек" in belarusian
    assert "Аналіз крыніцы" in belarusian
    russian = officer.get(f"/items/{photo}?l=ru").text
    assert "Текущий статус: подтверждено, ожидает подтверждения второго человека" in russian
    assert "Встроенные метаданные" in russian


def test_similar_photos_from_two_sources_are_linked_on_the_item_page_and_clustered(
    officer: Officer, workstation: Workstation, make_bundle: MakeBundle,
    photos: dict[str, bytes]
) -> None:
    imported(workstation, make_bundle([
        Sent("file", photos["yard"], name="yard.jpg", source="brave tortoise"),
        Sent("file", photos["street"], name="street.jpg", source="brave tortoise")]))
    imported(workstation, make_bundle([
        Sent("file", photos["yard-shared"], name="from-telegram.jpg", source="quiet heron")]))
    ids = ids_by_name(workstation)
    assert workstation.run("case", "create", "akrestsina-2020")[0] == 0
    assert workstation.run("case", "add", "akrestsina-2020", ids["yard.jpg"])[0] == 0

    page = officer.get(f"/items/{ids['yard.jpg']}").text
    similar = page[page.index('id="similar"'):]
    assert f'href="/items/{ids["from-telegram.jpg"]}"' in similar
    assert "from-telegram.jpg" in similar
    assert "quiet heron" in similar
    distance = re.search(r"<td>image</td>\s*<td>(\d+)</td>", similar)
    assert distance
    assert int(distance.group(1)) <= 31
    assert "street.jpg" not in similar
    assert "No similar item in the store." in officer.get(f"/items/{ids['street.jpg']}").text

    clusters = officer.get("/similar").text
    assert "at most 31 bits differ" in clusters
    assert "at most 24 bits away" in clusters
    assert "Cluster 1: 2 items from brave tortoise, quiet heron" in clusters
    assert 'href="/cases/akrestsina-2020"' in clusters
    assert "street.jpg" not in clusters


def test_the_clusters_page_without_similar_items_says_so(officer: Officer) -> None:
    page = officer.get("/similar").text
    assert "No similar items among 0 hashed items." in page


def test_search_finds_words_in_any_script_and_pages_through_results(
    officer: Officer, workstation: Workstation, make_bundle: MakeBundle
) -> None:
    messages = [f"Сведка {n}: бачыў Святлану Ціханоўскую ля Акрэсціна.".encode()
                for n in range(23)]
    imported(workstation, make_bundle([
        *(Sent("message", text, source="brave tortoise") for text in messages),
        Sent("message", "Задержали на Окрестина, избивали дубинками.".encode(),
             source="quiet heron"),
        Sent("message", b"They were beaten with batons in the yard.", source="quiet heron"),
    ]))

    first = officer.get("/search?q=Tsikhanouskaya")
    assert first.status_code == 200
    assert first.text.count('class="snippet"') == 20
    assert "<mark>Ціханоўскую</mark>" in first.text  # found by the Latin spelling
    assert "brave tortoise" in first.text
    assert 'href="/search?q=Tsikhanouskaya&amp;page=2" rel="next"' in first.text
    second = officer.get("/search?q=Tsikhanouskaya&page=2").text
    assert second.count('class="snippet"') == 3
    assert 'rel="next"' not in second
    assert 'rel="prev"' in second
    assert 'start="21"' in second

    assert "<mark>Ціханоўскую</mark>" in officer.get("/search?q=Ціханоўскую").text
    russian = officer.get("/search?q=избивали").text
    assert "<mark>избивали</mark>" in russian
    assert "quiet heron" in russian
    assert "batons" in officer.get("/search?q=batons").text
    assert "No item matches." in officer.get("/search?q=nothing-like-this").text


def test_a_query_without_words_is_answered_on_the_page(officer: Officer) -> None:
    page = officer.get("/search?q=%3F%21+--")
    assert page.status_code == 400
    assert "Type at least one word or number." in page.text
    assert officer.get("/search").status_code == 200


def test_hostile_text_is_escaped_and_cannot_reorder_the_page(
    officer: Officer, workstation: Workstation, make_bundle: MakeBundle
) -> None:
    hostile = f"<b>Акрэсціна</b> {RTL_OVERRIDE}gpj.exe\u2066 \u0007 שלום"
    imported(workstation, make_bundle([
        Sent("message", hostile.encode(), source="brave tortoise"),
        Sent("file", b"%PDF-1.4 broken", name=f"report{RTL_OVERRIDE}fdp.exe",
             source="brave tortoise"),
    ]))
    ids = ids_by_name(workstation)
    page = officer.get("/search?q=Акрэсціна").text
    assert "<mark>Акрэсціна</mark>&lt;/b&gt;" in page
    assert "<b>" not in page
    assert RTL_OVERRIDE not in page
    assert "\u2066" not in page
    assert "\u0007" not in page
    assert "<bdi>…b&gt;<mark>Акрэсціна</mark>&lt;/b&gt;" in page

    named = officer.get(f"/items/{ids[f'report{RTL_OVERRIDE}fdp.exe']}").text
    assert "<h1><bdi>report\\u202efdp.exe</bdi></h1>" in named
    assert "<title>report\\u202efdp.exe ·" in named
    officer.post(f"/items/{ids[f'report{RTL_OVERRIDE}fdp.exe']}/assessment",
                 {"status": "doubtful", "note": f"odd {RTL_OVERRIDE}name"})
    page = officer.get(f"/items/{ids[f'report{RTL_OVERRIDE}fdp.exe']}").text
    history = page[page.index("History of the assessment"):]
    assert RTL_OVERRIDE not in page
    assert "odd \\u202ename" in history


def test_display_helpers_neutralise_controls_and_isolate_text() -> None:
    assert neutral_text("a\u202eb\nc\td\u2029") == "a\\u202eb\nc\td\\u2029"
    assert str(shown("<i>x</i>")) == "<bdi>&lt;i&gt;x&lt;/i&gt;</bdi>"
    assert str(snippet("…a \x02word\x03 <b>\u202e")) == (
        "<bdi>…a <mark>word</mark> &lt;b&gt;\\u202e</bdi>")
