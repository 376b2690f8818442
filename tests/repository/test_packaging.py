"""The built package: it carries its migrations, and never the development tools.

An installed Skrynka can create its schema without the source tree. The wheel (what the server
image and the workstation install, with their locks' dependencies) holds the production packages
only: `devtools` (dev-data seeding and its hand-written OpenPGP packet writer) stays out.
"""

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (
    "core", "crypto", "formats", "onion", "server", "source_app", "journalist_app", "workstation",
    "workstation_app",
)
DEV_ONLY = ("devtools",)

MIGRATE = """
import json, sys
import core
from core.db import current_revision, head_revision, make_engine, upgrade_database
url = "sqlite:///" + sys.argv[1]
upgrade_database(url)
print(json.dumps({"core": core.__file__, "at": current_revision(make_engine(url)),
                  "head": head_revision()}))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from a copy of the checkout, development tools included in the copy."""
    tmp_path = tmp_path_factory.mktemp("wheel")
    # Build from a copy: setuptools writes build/ next to the sources.
    source = tmp_path / "source"
    source.mkdir()
    shutil.copy(REPO_ROOT / "pyproject.toml", source)
    for package in PACKAGES + DEV_ONLY:
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
    (built,) = wheels.glob("skrynka-*.whl")
    return built


@pytest.mark.slow
def test_the_wheel_ships_the_production_packages_and_no_development_tools(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    top_levels = {name.split("/", 1)[0] for name in names if "/" in name}
    assert set(PACKAGES) <= top_levels
    assert not top_levels & set(DEV_ONLY)
    # The packet writer and the seeding code did not stay behind in their old homes either.
    assert "crypto/batch.py" not in names
    assert "core/devdata.py" not in names
    assert "server/cli.py" in names
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    with zipfile.ZipFile(wheel) as archive:
        assert "skrynka = server.cli:main" in archive.read(entry_points).decode()


def test_no_lock_or_image_installs_the_development_tools() -> None:
    for lock in ("requirements-server.lock", "requirements-workstation.lock"):
        assert "devtools" not in (REPO_ROOT / lock).read_text(), lock
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    assert "COPY server ./server" in dockerfile
    assert "COPY devtools" not in dockerfile


@pytest.mark.slow
def test_an_installed_wheel_migrates_a_database_without_the_source_tree(
    tmp_path: Path, wheel: Path
) -> None:
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
