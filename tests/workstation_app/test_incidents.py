"""Incidents on the desk: a form proposed from items that records nothing until a person saves
it, an incident page, the timeline, and the item page's incidents, in be, ru and en."""

from __future__ import annotations

import html
import re

import pytest

from tests.support.workstation import MakeBundle
from tests.workstation.bundles import Sent, intake_document
from tests.workstation.incident_story import PHOTO, two_sources
from tests.workstation_app.conftest import Desk, Officer
from workstation.catalogue_index import ItemFilter
from workstation.cli import main
from workstation.incident import IncidentFields
from workstation.incident_proposal import REASON_TEXTS
from workstation_app.incidents import FIELD_NAMES, REASON_NAMES


def import_story(officer: Officer, make_bundle: MakeBundle) -> tuple[str, str]:
    """Imported with the command line, which also reads the photo's metadata in the sandbox
    (the desk's import page stores the items only)."""
    bundle = make_bundle(two_sources(["platform", "un"], ["platform"]))
    code = main(["import", "--store", str(officer.desk.store), "--actor", "Anna Petrova",
                 str(bundle)])
    assert code == 0
    service = officer.desk.service
    photo = next(r.item_id for r in service.list_items(ItemFilter(kind="file")).rows
                 if r.name == PHOTO)
    message = service.list_items(ItemFilter(kind="message")).rows[0].item_id
    return photo, message


def incident_entries(desk: Desk) -> list[dict[str, object]]:
    return [e for e in desk.service.custody_entries() if e["action"] == "incident"]


def value_of(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, name
    return html.unescape(found.group(1))


FORM = {"title": "Night in the yard", "date_from": "2020-08-10", "date_to": "",
        "place": "Akrestsina, Minsk", "latitude": "53.9", "longitude": "27.55",
        "violation": ["arbitrary_detention", "enforced_disappearance"], "notes": ""}


def test_a_new_incident_is_proposed_from_two_sources_and_recorded_only_when_saved(
    officer: Officer, make_bundle: MakeBundle
) -> None:
    photo, message = import_story(officer, make_bundle)

    page = officer.get(f"/incidents/new?item={photo}&item={message}")

    assert page.status_code == 200
    text = page.text
    assert "Check every value against the items before saving" in html.unescape(text)
    assert value_of(text, "date_from") == "2020-08-10"
    assert value_of(text, "place") == "Akrestsina, Minsk; Akrestsina yard"
    assert value_of(text, "latitude") == "53.900000"
    for code in ("arbitrary_detention", "torture_or_ill_treatment", "enforced_disappearance"):
        assert f'value="{code}" checked' in text
    assert 'value="unfair_trial" checked' not in text
    assert "date: capture time in the embedded metadata of yard-night.jpg (2020-08-10" in text
    assert "quiet heron" in text
    assert "brave tortoise" in text
    assert incident_entries(officer.desk) == []

    # The officer corrects the proposal (drops torture, fixes the place) and saves.
    saved = officer.post("/incidents", {**FORM, "item": [photo, message]})

    assert saved.status_code == 303
    incident_url = saved.headers["Location"]
    entries = incident_entries(officer.desk)
    assert [(e["details"]["change"], e["item"], e["actor"])  # type: ignore[index]
            for e in entries] == [("created", None, "Anna Petrova"),
                                  ("linked", photo, "Anna Petrova"),
                                  ("linked", message, "Anna Petrova")]
    assert entries[0]["details"]["fields"]["place"]["text"] == "Akrestsina, Minsk"  # type: ignore[index]
    assert entries[0]["details"]["fields"]["violations"] == [  # type: ignore[index]
        "arbitrary_detention", "enforced_disappearance"]
    shown = officer.get(incident_url).text
    assert "Incident: Night in the yard" in shown
    assert "53.900000, 27.550000" in shown
    assert "2020-08-10 21:40:00" in shown
    assert "Incident recorded." in shown


def test_a_refused_form_comes_back_with_what_was_typed_and_nothing_recorded(
    officer: Officer, make_bundle: MakeBundle
) -> None:
    photo, _message = import_story(officer, make_bundle)

    page = officer.post("/incidents", {**FORM, "date_from": "2020-08-12",
                                       "date_to": "2020-08-10", "violation": ["genocide"],
                                       "item": [photo]})

    assert page.status_code == 400
    assert "The incident was not recorded" in page.text
    assert "ends (2020-08-10) before it starts (2020-08-12)" in page.text
    assert "unknown violation type" in page.text
    assert value_of(page.text, "title") == "Night in the yard"
    assert value_of(page.text, "date_to") == "2020-08-10"
    assert incident_entries(officer.desk) == []
    unknown = officer.post("/incidents", {**FORM, "item": ["abcdef0123"]})
    assert unknown.status_code == 404
    assert "No such item" in unknown.text
    assert incident_entries(officer.desk) == []


def test_a_form_without_its_token_records_nothing(
    officer: Officer, make_bundle: MakeBundle
) -> None:
    photo, _message = import_story(officer, make_bundle)

    page = officer.client.post("/incidents", data={**FORM, "item": [photo]})

    assert page.status_code == 400
    assert "This form cannot be accepted" in page.text
    assert incident_entries(officer.desk) == []


def test_the_item_page_shows_its_incidents_and_adds_it_to_another(
    officer: Officer, make_bundle: MakeBundle
) -> None:
    photo, message = import_story(officer, make_bundle)
    first = officer.post("/incidents", {**FORM, "item": [photo]}).headers["Location"]
    officer.post("/incidents", {**FORM, "title": "Heron's brother taken", "date_from": "",
                                "latitude": "", "longitude": "", "item": [message]})

    page = officer.get(f"/items/{photo}").text

    assert f'href="{first}"' in page
    assert "Night in the yard</a> (2020-08-10)" in page
    assert "Start a new incident from this item" in page
    assert "Heron&#39;s brother taken" in page  # offered in the list of other incidents
    brother = officer.desk.service.incidents()[-1]
    added = officer.post("/incidents/items", {"incident": brother.incident_id,
                                              "item": photo, "back": f"/items/{photo}"})
    assert added.status_code == 303
    assert added.headers["Location"] == f"/items/{photo}"
    assert officer.desk.service.incident(brother.incident_id).item_ids == (message, photo)
    assert "This item is in no incident." not in officer.get(f"/items/{message}").text


def test_the_incident_page_changes_adds_and_takes_out_items(
    officer: Officer, make_bundle: MakeBundle
) -> None:
    photo, message = import_story(officer, make_bundle)
    url = officer.post("/incidents", {**FORM, "item": [photo]}).headers["Location"]
    incident_id = url.rsplit("/", 1)[1]

    officer.get(url)
    changed = officer.post(url, {**FORM, "date_from": "2020-08", "date_to": "2020-09"})
    assert changed.status_code == 303
    assert officer.post(f"{url}/items", {"item": message[:10]}).status_code == 303
    refused = officer.post(f"{url}/items/remove", {"item": photo, "reason": ""})
    assert refused.status_code == 400
    assert "say why the item is taken out" in refused.text
    removed = officer.post(f"{url}/items/remove", {"item": photo, "reason": "another yard"})
    assert removed.status_code == 303

    incident = officer.desk.service.incident(incident_id)
    assert incident.fields.date is not None
    assert incident.fields.date.describe() == "2020-08 – 2020-09"
    assert incident.item_ids == (message,)
    page = officer.get(url).text
    assert "item taken out" in page
    assert "another yard" in page
    assert "(date)" in page
    bad = officer.post(url, {**FORM, "latitude": "95"})
    assert bad.status_code == 400
    assert "latitude 95 is outside -90 to 90" in bad.text
    assert officer.get("/incidents/0000000000").status_code == 404


def test_the_timeline_page_lists_incidents_by_date_with_their_items(
    officer: Officer, make_bundle: MakeBundle
) -> None:
    photo, message = import_story(officer, make_bundle)
    officer.post("/incidents", {**FORM, "title": "Trial", "date_from": "2021-03",
                                "item": [message]})
    officer.post("/incidents", {**FORM, "title": "Undated seizure", "date_from": "",
                                "latitude": "", "longitude": ""})
    officer.post("/incidents", {**FORM, "item": [photo, message]})

    page = officer.get("/timeline").text

    order = [page.index(title) for title in ("Night in the yard", "Trial", "Undated seizure")]
    assert order == sorted(order)
    night = page.split("Night in the yard", 1)[1].split("Trial", 1)[0]
    assert night.index("yard-night.jpg") < night.index("quiet heron")
    assert "2020-08-10 21:40:00" in night
    assert "date not known" in page


@pytest.mark.parametrize(("code", "heading", "violation", "reason"), [
    ("be", "Храналогія інцыдэнтаў", "несправядлівы суд",
     "дата: час здымкі ва ўбудаваных метаданых yard-night.jpg"),
    ("ru", "Хронология инцидентов", "несправедливый суд",
     "дата: время съёмки во встроенных метаданных yard-night.jpg"),
])
def test_incident_pages_in_belarusian_and_russian(
    officer: Officer, make_bundle: MakeBundle, code: str, heading: str, violation: str,
    reason: str,
) -> None:
    photo, _message = import_story(officer, make_bundle)
    officer.get(f"/timeline?l={code}")
    url = officer.post("/incidents", {**FORM, "violation": ["unfair_trial"],
                                      "item": [photo]}).headers["Location"]

    timeline = officer.get("/timeline").text
    assert f'<html lang="{code}">' in timeline
    assert heading in timeline
    assert violation in timeline
    assert officer.get(url).status_code == 200
    assert violation in officer.get(url).text
    form = officer.get(f"/incidents/new?item={photo}")
    assert form.status_code == 200
    assert "Check every value" not in form.text
    assert reason in form.text


def test_every_reason_for_a_proposal_has_the_desk_s_words() -> None:
    assert set(REASON_NAMES) == set(REASON_TEXTS)


@pytest.mark.parametrize(("code", "region"), [("be", "Брэсцкая вобласць"),
                                              ("ru", "Брестская область"),
                                              ("en", "Brest region")])
def test_a_region_the_source_picked_is_proposed_in_the_officer_s_language(
    officer: Officer, make_bundle: MakeBundle, code: str, region: str
) -> None:
    intake = {**intake_document(), "where": {"region": "brest"}}
    officer.post("/import", {"path": str(make_bundle([
        Sent("message", "Нас трымалі тры дні".encode(), intake=intake)]))})
    [row] = officer.desk.service.list_items(ItemFilter(kind="message")).rows

    page = officer.get(f"/incidents/new?item={row.item_id}&l={code}").text

    assert value_of(page, "place") == region
    assert value_of(page, "title") == f"{region}, 2020-08"


@pytest.mark.parametrize(("code", "changed"), [("be", "(дата, месца)"),
                                               ("ru", "(дата, место)")])
def test_the_history_names_the_changed_fields_in_the_officer_s_language(
    officer: Officer, make_bundle: MakeBundle, code: str, changed: str
) -> None:
    photo, _message = import_story(officer, make_bundle)
    url = officer.post("/incidents", {**FORM, "item": [photo]}).headers["Location"]
    officer.get(f"{url}?l={code}")
    edited = officer.post(url, {**FORM, "date_from": "2020-09", "place": "Akrestsina yard"})
    assert edited.status_code == 303

    page = officer.get(url).text

    assert changed in page
    assert "(date, place)" not in page


def test_every_field_of_an_incident_has_the_desk_s_name() -> None:
    assert set(FIELD_NAMES) == set(IncidentFields("a title").as_json())
