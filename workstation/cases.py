"""Cases: named groups of items (an incident, a facility, a perpetrator).

A case holds item ids only. Which source sent an item stays in that item's own records and is
never copied into the case, so putting items from two sources into one case does not link the
sources anywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from workstation.errors import CaseError
from workstation.store import EvidenceStore, read_json, utc_now, write_json_atomic

_CASE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass(frozen=True)
class Case:
    name: str
    created_at: str
    items: tuple[str, ...]


def check_case_name(name: str) -> str:
    if not _CASE_NAME.fullmatch(name):
        raise CaseError(
            f"{name!r} is not a usable case name: use 1–64 letters, digits, '.', '_' or '-',"
            " starting with a letter or digit (e.g. okrestina-2020-08)"
        )
    return name


class CaseBook:
    """The cases of one store, kept in DIR/cases.json."""

    def __init__(self, store: EvidenceStore) -> None:
        self.store = store

    def _load(self) -> dict[str, Any]:
        path = self.store.cases_path
        if not path.exists():
            return {"format": "skrynka-workstation-cases", "version": 1, "cases": {}}
        try:
            data = read_json(path)
        except (OSError, ValueError) as exc:
            raise CaseError(f"{path} cannot be read ({exc}); restore it from the store's backup"
                            ) from exc
        if not isinstance(data, dict) or not isinstance(data.get("cases"), dict):
            raise CaseError(f"{path} is not a cases file; restore it from the store's backup")
        return data

    def _save(self, data: dict[str, Any]) -> None:
        write_json_atomic(self.store.cases_path, data)

    def create(self, name: str) -> Case:
        data = self._load()
        check_case_name(name)
        if name in data["cases"]:
            raise CaseError(f"case {name!r} already exists; add items with `case add {name} ITEM`")
        data["cases"][name] = {"created_at": utc_now(), "items": []}
        self._save(data)
        return Case(name, data["cases"][name]["created_at"], ())

    def add(self, name: str, item_ids: list[str]) -> Case:
        data = self._load()
        case = data["cases"].get(name)
        if case is None:
            raise CaseError(f"no case {name!r}; create it with `case create {name}`")
        for item_id in item_ids:
            if item_id not in case["items"]:
                case["items"].append(item_id)
        self._save(data)
        return Case(name, case["created_at"], tuple(case["items"]))

    def get(self, name: str) -> Case:
        case = self._load()["cases"].get(name)
        if case is None:
            raise CaseError(f"no case {name!r}; `case list` shows the cases there are")
        return Case(name, case["created_at"], tuple(case["items"]))

    def all(self) -> list[Case]:
        cases = self._load()["cases"]
        return [Case(n, c["created_at"], tuple(c["items"])) for n, c in sorted(cases.items())]
