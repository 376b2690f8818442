"""The formats package stays a leaf: the standard library only, so both sides can carry it."""

import ast
import subprocess
import sys
from pathlib import Path

import formats

PACKAGE = Path(formats.__file__).resolve().parent
REPO_ROOT = PACKAGE.parent


def imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_every_module_imports_only_the_standard_library_and_formats() -> None:
    modules = sorted(PACKAGE.glob("*.py"))
    assert len(modules) >= 6
    for module in modules:
        foreign = imported_roots(module) - set(sys.stdlib_module_names) - {"formats", "__future__"}
        assert not foreign, f"{module.name} imports {sorted(foreign)}"


def test_the_package_imports_in_a_bare_interpreter() -> None:
    # -S: no site-packages at all, so any third-party import would fail here.
    probe = (
        "import formats.bundle_manifest, formats.receipt, formats.consent, formats.intake, "
        "formats.document, formats.errors, sys; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('core', 'crypto', 'workstation', 'onion', 'source_app', 'journalist_app')))"
    )
    result = subprocess.run(
        [sys.executable, "-S", "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True,
        check=True, timeout=60,
    )
    assert result.stdout.strip() == "[]"
