"""Checks every app's translation catalogues share: nothing missing, fuzzy or half-translated.

Each app names its Babel mapping file (which of its files hold text, as its extraction script
uses it) and its catalogue directory; these helpers extract the messages the way
``scripts/update_translations.sh`` does and list what a catalogue lacks, so a failing test says
which message to translate and where.
"""

from collections.abc import Iterable
from gettext import c2py
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

REPO_ROOT = Path(__file__).resolve().parents[2]
#: The gettext functions every app marks text with (``_l`` is the desk's short lazy_gettext).
KEYWORDS = {
    "_": None,
    "_l": None,
    "gettext": None,
    "ngettext": (1, 2),
    "lazy_gettext": None,
    "lazy_ngettext": (1, 2),
}
# The forms a correct be/ru plural rule picks for these numbers: 1 файл, 2 файлы, 5 файлаў...
PLURAL_FORMS = {1: 0, 2: 1, 4: 1, 5: 2, 11: 2, 12: 2, 14: 2, 21: 0, 22: 1, 25: 2, 101: 0, 111: 2}

Message = str | tuple[str, ...]


def extracted_messages(mapping: Path) -> set[Message]:
    """Every message in the files ``mapping`` (a Babel mapping file) names."""
    with mapping.open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)  # type: ignore[no-untyped-call]
    return {
        message
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(REPO_ROOT), method_map, options_map, keywords=KEYWORDS
        )
    }


def read_catalog(directory: Path, code: str) -> Catalog:
    with (directory / code / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=code)


def copy_catalogs(directory: Path, target: Path, codes: Iterable[str]) -> None:
    """Copy the ``.po`` of each of ``codes`` from ``directory`` to ``target`` (same layout)."""
    for code in codes:
        po = target / code / "LC_MESSAGES" / "messages.po"
        po.parent.mkdir(parents=True)
        po.write_bytes((directory / code / "LC_MESSAGES" / "messages.po").read_bytes())


def catalogue_problems(catalog: Catalog, messages: Iterable[Message]) -> list[str]:
    """What stops ``catalog`` from translating ``messages``: one line per message, sorted."""
    problems = []
    for message in messages:
        entry = catalog.get(message)
        if entry is None:
            problems.append(f"missing: {message!r}")
        elif entry.fuzzy:
            problems.append(f"fuzzy: {message!r}")
        elif isinstance(entry.string, tuple):
            if len(entry.string) != catalog.num_plurals or not all(entry.string):
                problems.append(f"plural forms incomplete: {message!r}")
        elif not entry.string:
            problems.append(f"untranslated: {message!r}")
    return sorted(problems)


def wrong_plural_forms(catalog: Catalog) -> dict[int, int]:
    """Numbers whose plural form ``catalog``'s rule picks wrongly for be/ru, with the form it
    picks (empty when the rule is right); the evaluator is the one gettext itself applies."""
    choose = c2py(catalog.plural_expr)
    return {
        number: int(choose(number))
        for number, form in PLURAL_FORMS.items()
        if int(choose(number)) != form
    }


def assert_translated(directory: Path, code: str, mapping: Path) -> None:
    """Fail, naming each message and the script that adds it, unless the catalog of ``code``
    under ``directory`` translates every message of ``mapping``'s files."""
    problems = catalogue_problems(read_catalog(directory, code), extracted_messages(mapping))
    assert not problems, f"{code} catalog (run scripts/update_translations.sh):\n" + "\n".join(
        problems
    )


def assert_three_plural_forms(catalog: Catalog) -> None:
    """Fail unless ``catalog`` has the three plural forms of be/ru and picks them right."""
    assert catalog.num_plurals == 3, f"{catalog.locale}: {catalog.num_plurals} plural forms"
    wrong = wrong_plural_forms(catalog)
    assert not wrong, f"{catalog.locale}: number -> form picked wrongly: {wrong}"
