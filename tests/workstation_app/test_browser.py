"""The officer's story at the evidence desk, in a real browser with JavaScript off.

An officer opens the launch URL, says who they are, imports a bundle from a path, reads a
Russian message, looks at a PDF and a photo as renditions made in the sandbox, puts them into a
case, previews and exports a package for the UN (one item of another source stays out for want
of consent), and the package verifies with `skrynka-workstation verify`. Every page passes
axe-core; screenshots land in test-artifacts/desk-<language>/.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.workstation import MakeBundle, Workstation
from tests.workstation.bundles import Sent, consent_document, intake_document
from tests.workstation.documents import pattern_image, pdf_with_pages
from tests.workstation_app.desk_browser import COMMAND, DeskPage, new_page, running_desk

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RUSSIAN_MESSAGE = (
    "Меня задержали 10 августа у Пушкинской и отвезли на Окрестина. В камере на четверых "
    "было 36 человек. Прилагаю протокол и фото синяков.\n"
)
PDF_NAME = "протокол-задержания.pdf"
PHOTO_NAME = "IMG_2041.jpg"
WORDS = {
    "ru": {"start": "Начать работу", "import": "Проверить и импортировать",
           "render": "Сделать безопасную копию для просмотра", "add": "Добавить",
           "create": "Создать дело", "preview": "Предпросмотр пакета",
           "export": "Экспортировать", "verify": "Проверить весь журнал",
           "next": "Следующая страница", "un": "следственные органы ООН",
           "left_out": "источник не дал согласия на этого получателя",
           "written": "Пакет записан", "intact": "Журнал цел"},
    "be": {"start": "Пачаць працу", "import": "Праверыць і імпартаваць",
           "render": "Зрабіць бяспечную копію для прагляду", "add": "Дадаць",
           "create": "Стварыць справу", "preview": "Папярэдне праглядзець пакет",
           "export": "Экспартаваць", "verify": "Праверыць увесь журнал",
           "next": "Наступная старонка", "un": "следчыя органы ААН",
           "left_out": "крыніца не дала згоды на гэтага атрымальніка",
           "written": "Пакет запісаны", "intact": "Журнал цэлы"},
}


def _bundle(make_bundle: MakeBundle, tmp_path: Path) -> Path:
    un = consent_document(["platform", "un"], "2026-11-27T05:11:16.055418Z")
    narrow = consent_document(["platform"], "2026-11-28T09:00:00.000000Z")
    intake = intake_document()
    return make_bundle([
        Sent("message", RUSSIAN_MESSAGE.encode(), consent=un, intake=intake),
        Sent("file", pdf_with_pages(3), name=PDF_NAME, consent=un, intake=intake),
        Sent("file", pattern_image(tmp_path, "photo.jpg", 960, 720), name=PHOTO_NAME,
             consent=un, intake=intake),
        Sent("file", pdf_with_pages(1), name="чужой-документ.pdf", source="quiet heron",
             consent=narrow),
    ])


def _open_item(officer: DeskPage, name: str) -> str:
    officer.open(f"/?q={name}")
    with officer.page.expect_navigation():
        officer.page.get_by_role("link", name=name).click()
    return str(officer.page.url).rsplit("/", 1)[1]


def _add_to_case(officer: DeskPage, case: str, add: str) -> None:
    officer.page.select_option("#case", case)
    officer.submit(add)


def _check_rendition_image(officer: DeskPage) -> None:
    # The page shows a PNG made in the sandbox; the browser fetches it with the officer's cookie.
    source = officer.page.locator("figure.page img").get_attribute("src")
    response = officer.page.context.request.get(f"{officer.desk.base}{source}")
    assert response.status == 200
    assert response.headers["content-type"] == "image/png"
    assert response.body()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("language", ["ru", "be"])
def test_an_officer_takes_a_bundle_to_a_verified_package_for_the_un(
    browser: Any, workstation: Workstation, make_bundle: MakeBundle, tmp_path: Path,
    artifacts_dir: Path, language: str,
) -> None:
    words = WORDS[language]
    bundle = _bundle(make_bundle, tmp_path)
    stick = tmp_path / "handover-stick"
    stick.mkdir()
    shots = artifacts_dir / f"desk-{language}"
    for old in shots.glob("*.png") if shots.is_dir() else []:
        old.unlink()
    with running_desk(workstation.store) as desk:
        officer = DeskPage(new_page(browser), desk, shots)

        # The launch URL, once; then who is working, in their language.
        officer.page.goto(desk.launch_url)
        officer.follow({"ru": "Русский", "be": "Беларуская"}[language])
        officer.page.fill("#name", "Алена Каваленка" if language == "be" else "Ирина Соколова")
        officer.check("who")
        officer.submit(words["start"])

        # Import from the stick.
        officer.open("/import")
        officer.page.fill("#path", str(bundle))
        officer.check("import")
        officer.submit(words["import"])
        assert {"ru": "4 новых материала", "be": "4 новыя матэрыялы"}[language] in officer.text()
        officer.check("imported")
        officer.open("/")
        officer.check("items")

        # Read the Russian message.
        officer.open("/?kind=message")
        with officer.page.expect_navigation():
            officer.page.locator("table a").first.click()
        assert "В камере на четверых было 36 человек" in officer.text()
        message_id = str(officer.page.url).rsplit("/", 1)[1]
        officer.check("message")
        _add_to_case_later = [message_id]

        # The PDF, as page images made in the sandbox, page by page.
        pdf_id = _open_item(officer, PDF_NAME)
        officer.submit(words["render"])
        _check_rendition_image(officer)
        officer.check("pdf-page-1")
        officer.follow(words["next"])
        assert officer.page.url.endswith("page=2")
        _check_rendition_image(officer)

        # The photo, re-encoded in the sandbox.
        photo_id = _open_item(officer, PHOTO_NAME)
        officer.submit(words["render"])
        _check_rendition_image(officer)
        officer.check("photo")

        # A case with the three items and the other source's document.
        officer.open("/cases")
        officer.page.fill("#name", "okrestina-2020-08")
        officer.submit(words["create"])
        officer.check("case-created")
        other_id = _open_item(officer, "чужой-документ.pdf")
        for item_id in [*_add_to_case_later, pdf_id, photo_id, other_id]:
            officer.open(f"/items/{item_id}")
            _add_to_case(officer, "okrestina-2020-08", words["add"])
        officer.check("item-in-case")

        # Preview for the UN: three go, one stays, and why.
        officer.open("/cases/okrestina-2020-08")
        officer.page.get_by_label(words["un"]).check()
        officer.check("case")
        officer.submit(words["preview"])
        preview = officer.text()
        assert words["left_out"] in preview
        assert "чужой-документ.pdf" in preview
        officer.check("export-preview")
        officer.page.fill("#out", str(stick))
        officer.submit(words["export"])
        assert words["written"] in officer.text()
        officer.check("exported")

        # The custody log, verified by the officer.
        officer.open("/custody")
        officer.check("custody")
        officer.submit(words["verify"])
        assert words["intact"] in officer.text()
        officer.check("custody-verified")
        officer.open("/sources")
        officer.check("sources")

    [package] = list(stick.iterdir())
    verified = subprocess.run([str(COMMAND), "verify", str(package)], capture_output=True,
                              text=True, timeout=120)
    assert verified.returncode == 0, verified.stderr
    assert "3 item(s); 1 left out" in verified.stdout
