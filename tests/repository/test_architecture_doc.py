"""docs/architecture.md describes every package, and every name it mentions exists.

A package is a root package of the import-linter configuration; each needs a `## <package>`
section. A mention is a dotted name starting with a package (`core.store.CiphertextStore`,
`server.cli`): its longest importable prefix is imported and the rest looked up as attributes.
"""

import configparser
import importlib
import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DOC = REPO_ROOT / "docs" / "architecture.md"


def packages() -> list[str]:
    config = configparser.ConfigParser()
    config.read(REPO_ROOT / ".importlinter", encoding="utf-8")
    return config["importlinter"]["root_packages"].split()


def mentioned_names() -> list[str]:
    # Drawings in fenced blocks are not names; dropping them keeps the backticks paired.
    text = re.sub(r"^```.*?^```", "", DOC.read_text(encoding="utf-8"), flags=re.S | re.M)
    roots = "|".join(packages())
    pattern = re.compile(rf"(?<![\w./:-])(?:{roots})(?:\.[A-Za-z_]\w*)+(?![\w*])")
    found: list[str] = []
    for span in re.findall(r"`([^`]+)`", text):
        found.extend(pattern.findall(span))
    return sorted(set(found))


def resolves(name: str) -> bool:
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[cut:]:
            if not hasattr(target, attribute):
                return False
            target = getattr(target, attribute)
        return True
    return False


def test_every_package_has_a_section() -> None:
    headings = re.findall(r"^## (\w+)\b", DOC.read_text(encoding="utf-8"), flags=re.MULTILINE)
    assert sorted(set(packages()) - set(headings)) == []


def test_the_document_names_many_things() -> None:
    # Guards the check below against a pattern that silently matches nothing.
    names = mentioned_names()
    assert len(names) > 60
    assert "server.cli" in names


@pytest.mark.parametrize("name", mentioned_names())
def test_a_mentioned_name_exists(name: str) -> None:
    assert resolves(name), f"{name} is named in docs/architecture.md but does not exist"


def test_a_name_that_does_not_exist_is_caught() -> None:
    assert resolves("core.store.CiphertextStore")
    assert not resolves("core.store.NoSuchThing")
    assert not resolves("core.no_such_module.thing")
