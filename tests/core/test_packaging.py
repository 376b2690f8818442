"""The built package carries its migrations: an installed Skrynka can create its schema."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "crypto", "formats", "onion", "source_app", "journalist_app", "workstation")

MIGRATE = """
import json, sys
import core
from core.db import current_revision, head_revision, make_engine, upgrade_database
url = "sqlite:///" + sys.argv[1]
upgrade_database(url)
print(json.dumps({"core": core.__file__, "at": current_revision(make_engine(url)),
                  "head": head_revision()}))
"""


@pytest.mark.slow
def test_an_installed_wheel_migrates_a_database_without_the_source_tree(tmp_path: Path) -> None:
    # Build from a copy: setuptools writes build/ next to the sources.
    source = tmp_path / "source"
    source.mkdir()
    shutil.copy(REPO_ROOT / "pyproject.toml", source)
    for package in PACKAGES:
        shutil.copytree(
            REPO_ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheels), "."],
        cwd=source,
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = wheels.glob("skrynka-*.whl")
    target = tmp_path / "installed"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    # Run outside the repository with the installed copy first on the path.
    result = subprocess.run(
        [sys.executable, "-c", MIGRATE, str(tmp_path / "db.sqlite")],
        cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(result.stdout)
    assert Path(report["core"]).is_relative_to(target)
    assert report["at"] == report["head"]
