"""The workstation on a full file system: import and export refuse clearly and change nothing.

The evidence store (for import) or the handover destination (for export) lies on a small tmpfs
that is filled up first. The command exits with a clear message, the store is as it was
(`list`, `custody verify`), nothing partial is left, and the same command works once there is
space again.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.full_disk import SmallDisk, small_disk
from tests.support.workstation import MakeBundle, Workstation, first_submission
from workstation.cli import main

MIB = 1024 * 1024


@pytest.fixture
def disk() -> Iterator[SmallDisk]:
    # A short path: gpg-agent's socket lives in the store's GnuPG home (see short_dir).
    mount = Path(tempfile.mkdtemp(prefix="skf-"))
    with small_disk(mount, 16 * MIB) as mounted:
        yield mounted
    shutil.rmtree(mount, ignore_errors=True)


@pytest.fixture
def full_workstation(
    disk: SmallDisk,
    secret_key_file: Path,
    server_key_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[Workstation]:
    store = disk.mount_point / "evidence"
    argv = ["init", "--store", str(store), "--secret-key", str(secret_key_file)]
    assert main([*argv, "--server-key", str(server_key_file)]) == 0, capsys.readouterr().err
    capsys.readouterr()
    yield Workstation(store, capsys)
    subprocess.run(
        ["gpgconf", "--homedir", str(store / "gnupg"), "--kill", "gpg-agent"],
        check=False,
        capture_output=True,
    )


def items(workstation: Workstation) -> list[str]:
    code, out, err = workstation.run("list", "--json")
    assert code == 0, err
    return sorted(str(item["name"]) for item in json.loads(out))


def store_files(root: Path) -> dict[str, bytes]:
    """Every file of the store and its bytes, but for gpg's own home and the lock file."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != ".lock" and "gnupg" not in p.relative_to(root).parts
    }


def test_an_import_into_a_full_store_is_refused_and_changes_nothing(
    full_workstation: Workstation, disk: SmallDisk, make_bundle: MakeBundle
) -> None:
    bundle = make_bundle(first_submission(["platform"]))
    before = store_files(full_workstation.store)
    disk.fill(leave_bytes=32 * 1024)

    code, _out, err = full_workstation.run("import", str(bundle))
    assert code != 0
    assert "no space" in err.lower()
    assert "Traceback" not in err
    disk.free()
    assert store_files(full_workstation.store) == before
    assert items(full_workstation) == []
    assert full_workstation.run("custody", "verify")[0] == 0

    code, _out, err = full_workstation.run("import", str(bundle))
    assert code == 0, err
    assert len(items(full_workstation)) == 2
    assert full_workstation.run("custody", "verify")[0] == 0


def test_an_export_onto_a_full_disk_is_refused_and_leaves_no_partial_package(
    workstation: Workstation, make_bundle: MakeBundle, tmp_path: Path
) -> None:
    assert workstation.run("import", str(make_bundle(first_submission(["platform", "un"]))))[0] == 0
    code, out, _ = workstation.run("list", "--json")
    ids = [item["id"] for item in json.loads(out)]
    assert workstation.run("case", "create", "okrestina")[0] == 0
    assert workstation.run("case", "add", "okrestina", *ids)[0] == 0
    _code, log_before, _ = workstation.run("custody", "show")

    with small_disk(tmp_path / "usb", 256 * 1024) as stick:
        stick.fill(leave_bytes=16 * 1024)
        argv = ["export", "--case", "okrestina", "--to", "un", "--out", str(stick.mount_point)]
        code, _out, err = workstation.run(*argv)
        assert code != 0
        assert "no space" in err.lower()
        assert "Traceback" not in err
        left = [p.name for p in stick.mount_point.iterdir() if p.name != ".filler"]
        assert left == []
        # No export is logged for a package that was not written.
        _code, log_after, _ = workstation.run("custody", "show")
        assert log_after == log_before
        assert workstation.run("custody", "verify")[0] == 0

    out_dir = tmp_path / "roomy"
    out_dir.mkdir()
    argv = ["export", "--case", "okrestina", "--to", "un", "--out", str(out_dir)]
    code, _out, err = workstation.run(*argv)
    assert code == 0, err
    assert workstation.run("custody", "verify")[0] == 0
    assert os.listdir(out_dir)
