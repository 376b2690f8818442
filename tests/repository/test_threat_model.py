"""docs/threat-model.md names the test behind each invariant: those tests must exist."""

import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# `tests/x/test_y.py::test_z`, or `::test_z` continuing the last file named.
REFERENCE = re.compile(r"`(tests/[^`:]+\.py)?::(test_\w+)`")


def referenced_tests() -> list[tuple[str, str]]:
    text = (REPO_ROOT / "docs" / "threat-model.md").read_text(encoding="utf-8")
    found, current = [], None
    for match in REFERENCE.finditer(text):
        current = match.group(1) or current
        assert current is not None, f"{match.group(0)} names no file"
        found.append((current, match.group(2)))
    return found


def test_every_invariant_names_tests() -> None:
    text = (REPO_ROOT / "docs" / "threat-model.md").read_text(encoding="utf-8")
    sections = re.split(r"^### ", text, flags=re.MULTILINE)[1:]
    assert len(sections) == 9
    for section in sections:
        assert REFERENCE.search(section), section.splitlines()[0]


def test_every_test_the_threat_model_names_exists() -> None:
    missing = []
    for path, name in referenced_tests():
        source = REPO_ROOT / path
        if not source.is_file() or not re.search(rf"def {name}\b", source.read_text()):
            missing.append(f"{path}::{name}")
    assert missing == [], "renamed or removed; update docs/threat-model.md"
