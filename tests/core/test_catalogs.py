"""Compiling translation catalogs: fresh ones left alone, a broken one named with the fix."""

import os
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo

from core.catalogs import catalog_path, compile_catalogs, missing_catalogs
from core.errors import CatalogUnusable

CATALOG = (
    'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
    'msgid "Inbox"\nmsgstr "{}"\n'
)


def write_catalog(directory: Path, code: str, text: str) -> Path:
    po = catalog_path(directory, code)
    po.parent.mkdir(parents=True, exist_ok=True)
    po.write_text(text, encoding="utf-8")
    return po


def test_each_catalog_is_compiled_and_a_fresh_one_is_left_alone(tmp_path: Path) -> None:
    be = write_catalog(tmp_path, "be", CATALOG.format("Уваходныя"))
    ru = write_catalog(tmp_path, "ru", CATALOG.format("Входящие"))
    assert compile_catalogs(tmp_path) == [be.with_suffix(".mo"), ru.with_suffix(".mo")]
    with be.with_suffix(".mo").open("rb") as mo:
        assert read_mo(mo).get("Inbox").string == "Уваходныя"
    assert compile_catalogs(tmp_path, only_stale=True) == []
    later = ru.stat().st_mtime + 10
    os.utime(ru, (later, later))
    assert compile_catalogs(tmp_path, only_stale=True) == [ru.with_suffix(".mo")]


def test_a_language_without_a_catalog_is_named(tmp_path: Path) -> None:
    write_catalog(tmp_path, "be", CATALOG.format("Уваходныя"))
    assert missing_catalogs(tmp_path, ("be", "ru", "en")) == ["ru", "en"]


def test_a_broken_catalog_names_the_file_and_leaves_no_compiled_file(tmp_path: Path) -> None:
    po = write_catalog(tmp_path, "be", 'msgid "no translation follows"\n')
    with pytest.raises(CatalogUnusable, match=r"be/LC_MESSAGES/messages\.po.*Fix the catalog"):
        compile_catalogs(tmp_path)
    assert sorted(p.name for p in po.parent.iterdir()) == ["messages.po"]
