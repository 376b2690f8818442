"""`skrynka timestamp run|status` from the console, against a real `openssl ts` authority."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from core.instance import Instance
from server.commands.timestamp import register_timestamp_commands
from tests.support.staff import make_source
from tests.support.tsa import TimestampAuthority


def skrynka(data_dir: Path, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="skrynka")
    commands = parser.add_subparsers(dest="command")
    register_timestamp_commands(commands, lambda _args: data_dir)
    args = parser.parse_args(list(argv))
    result: int = args.func(args)
    return result


def configure(instance: Instance, tsa: TimestampAuthority) -> Path:
    """The operator's settings, in instance.json, as `skrynka` reads them at start."""
    data_dir: Path = instance.settings.data_dir
    path = data_dir / "instance.json"
    document = json.loads(path.read_text())
    document.setdefault("settings", {}).update(
        {"tsa_urls": tsa.url, "tsa_ca_file": str(tsa.ca.root_pem)})
    path.write_text(json.dumps(document))
    return data_dir


def test_run_builds_a_tree_gets_its_token_and_status_shows_it(
    instance: Instance, tsa: TimestampAuthority, capsys: pytest.CaptureFixture[str],
) -> None:
    data_dir = configure(instance, tsa)
    make_source(instance, "hello")
    assert skrynka(data_dir, "timestamp", "run") == 0
    out = capsys.readouterr().out
    assert "Built tree 1." in out
    assert f"Tree 1: token from {tsa.url}." in out
    assert skrynka(data_dir, "timestamp", "status") == 0
    status = capsys.readouterr().out
    assert "tree 1: 2 files, root" in status
    assert "0 submissions wait for the next tree." in status


@pytest.mark.slow  # the job's real pauses between tries: 35 s
@pytest.mark.only_on("sqlite")  # those pauses, not the database, are what it waits on
def test_run_says_when_an_authority_is_down_and_exits_1(
    instance: Instance, tsa: TimestampAuthority, capsys: pytest.CaptureFixture[str],
) -> None:
    data_dir = configure(instance, tsa)
    make_source(instance, "hello")
    tsa.down = True
    assert skrynka(data_dir, "timestamp", "run") == 1
    captured = capsys.readouterr()
    assert "Built tree 1." in captured.out
    assert "HTTP 503" in captured.err
    assert "Traceback" not in captured.err


def test_run_with_time_stamping_off_does_nothing(
    instance: Instance, capsys: pytest.CaptureFixture[str],
) -> None:
    assert skrynka(instance.settings.data_dir, "timestamp", "run") == 0
    assert "Time-stamping is off" in capsys.readouterr().out
