"""The sandbox runner: what a hostile program inside it can see, write and use up.

Each test runs a small shell or Python payload through the same `Sandbox.run` the converters
use, so what holds for the payload holds for a converter taken over by a crafted file.
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from workstation.errors import ConversionLimitHit, ConversionTimedOut, SandboxUnavailable
from workstation.sandbox import LIMIT_CPU, LIMIT_MEMORY, LIMIT_OUTPUT, Sandbox, SandboxLimits


@pytest.fixture
def output_dir(tmp_path: Path) -> Path:
    path = tmp_path / "out"
    path.mkdir()
    return path


def shell(script: str, output_dir: Path, input_file: Path | None = None,
          limits: SandboxLimits | None = None) -> tuple[int, str, str, str | None]:
    result = Sandbox().run(["/bin/sh", "-c", script], input_file=input_file,
                           output_dir=output_dir, limits=limits or SandboxLimits())
    return result.exit_status, result.stdout.decode(), result.stderr_tail, result.limit_hit


def test_the_store_and_home_are_invisible_and_unwritable(tmp_path: Path, output_dir: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    (store / "workstation.key").write_bytes(b"secret seed")
    original = store / "content"
    original.write_bytes(b"the one input")
    os.chmod(original, 0o444)
    home = Path.home()
    script = (
        "cat /input/original; echo;"
        f" cat {store}/workstation.key && echo READ-STORE;"
        f" ls {store} && echo LISTED-STORE;"
        f" touch {store}/planted && echo WROTE-STORE;"
        f" ls {home} && echo LISTED-HOME;"
        " echo x > /input/original && echo WROTE-INPUT;"
        " touch /usr/planted && echo WROTE-USR;"
        " touch /planted && echo WROTE-ROOT;"
        " ls /etc; echo; id -u; echo done > /output/proof"
    )
    status, out, _err, limit = shell(script, output_dir, input_file=original)
    assert limit is None
    assert out.startswith("the one input")
    for marker in ("READ-STORE", "LISTED-STORE", "WROTE-STORE", "LISTED-HOME", "WROTE-INPUT",
                   "WROTE-USR", "WROTE-ROOT"):
        assert marker not in out
    # /etc holds only what was bound: the loader's cache.
    assert out.split("\n")[1].split() == ["ld.so.cache"]
    assert "65534" in out
    assert sorted(p.name for p in store.iterdir()) == ["content", "workstation.key"]
    assert original.read_bytes() == b"the one input"
    assert (output_dir / "proof").read_text() == "done\n"
    assert status != 0 or "WROTE" not in out


def test_no_network_beyond_its_own_loopback(output_dir: Path) -> None:
    connections: list[object] = []
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.settimeout(0.2)

    def accept() -> None:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                connections.append(listener.accept())
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept)
    thread.start()
    script = (
        "import socket\n"
        "for host in ('127.0.0.1', '10.0.0.1'):\n"
        "    try:\n"
        f"        socket.create_connection((host, {port}), timeout=2); print('CONNECTED', host)\n"
        "    except OSError as exc: print('failed', host, exc.errno)\n"
    )
    result = Sandbox().run(["/usr/bin/python3", "-c", script], input_file=None,
                           output_dir=output_dir, limits=SandboxLimits())
    thread.join()
    listener.close()
    assert b"CONNECTED" not in result.stdout
    assert result.stdout.count(b"failed") == 2
    assert connections == []


def test_a_program_that_ignores_sigterm_is_killed_with_its_children(output_dir: Path) -> None:
    marker = f"skrynka-sandbox-test-{os.getpid()}-{time.monotonic_ns()}"
    script = f"(trap '' TERM; exec -a {marker} sleep 600) & trap '' TERM; sleep 600"
    started = time.monotonic()
    result = Sandbox().run(["/bin/sh", "-c", script], input_file=None, output_dir=output_dir,
                           limits=SandboxLimits(wall_seconds=1))
    assert time.monotonic() - started < 10
    with pytest.raises(ConversionTimedOut, match="took more than 1 s to convert"):
        result.require_success()
    left = [p for p in Path("/proc").iterdir() if p.name.isdigit()
            and marker.encode() in _cmdline(p)]
    assert left == []


def _cmdline(process: Path) -> bytes:
    try:
        return (process / "cmdline").read_bytes()
    except OSError:
        return b""


def test_memory_exhaustion_is_stopped_and_named(output_dir: Path) -> None:
    result = Sandbox().run(["/usr/bin/python3", "-c", "x = bytearray(2 ** 31)"],
                           input_file=None, output_dir=output_dir,
                           limits=SandboxLimits(memory_bytes=256 * 1024 * 1024))
    assert result.limit_hit == LIMIT_MEMORY
    with pytest.raises(ConversionLimitHit, match=r"memory limit \(256 MiB of memory\)"):
        result.require_success()


def test_a_busy_loop_hits_the_cpu_limit(output_dir: Path) -> None:
    result = Sandbox().run(["/usr/bin/python3", "-c", "while True: pass"], input_file=None,
                           output_dir=output_dir, limits=SandboxLimits(cpu_seconds=1))
    assert result.limit_hit == LIMIT_CPU
    with pytest.raises(ConversionLimitHit, match="CPU time limit"):
        result.require_success()


def test_output_beyond_its_limit_is_stopped(output_dir: Path) -> None:
    status, _out, _err, limit = shell(
        "i=0; while true; do i=$((i+1)); head -c 1000000 /dev/zero > /output/f$i; done",
        output_dir, limits=SandboxLimits(output_bytes=5 * 1024 * 1024, wall_seconds=20))
    assert limit == LIMIT_OUTPUT
    assert status != 0
    # Nothing writes after the run returns.
    size = sum(p.stat().st_size for p in output_dir.iterdir())
    time.sleep(0.3)
    assert sum(p.stat().st_size for p in output_dir.iterdir()) == size


def _tasks_of_nobody() -> int:
    # RLIMIT_NPROC counts every thread the user owns on the machine, including other sandboxes
    # running at the same time (a LibreOffice conversion alone has dozens of threads).
    count = 0
    for status in Path("/proc").glob("[0-9]*/task/[0-9]*/status"):
        try:
            uid_line = next(line for line in status.read_text().splitlines()
                            if line.startswith("Uid:"))
        except (OSError, StopIteration):
            continue
        count += uid_line.split()[1] == "65534"
    return count


def test_a_fork_bomb_is_contained(output_dir: Path) -> None:
    limit = _tasks_of_nobody() + 256
    result = Sandbox().run(["/bin/sh", "-c", "f() { f | f & }; f; sleep 2"], input_file=None,
                           output_dir=output_dir,
                           limits=SandboxLimits(processes=limit, wall_seconds=5))
    assert result.wall_seconds < 8


def test_links_and_special_files_in_the_output_are_not_listed(output_dir: Path) -> None:
    result = Sandbox().run(
        ["/bin/sh", "-c",
         "ln -s /etc/ld.so.cache /output/link; mkfifo /output/fifo; echo ok > /output/file"],
        input_file=None, output_dir=output_dir, limits=SandboxLimits())
    assert result.ok
    assert [path.name for path in result.files] == ["file"]


def test_a_missing_bwrap_is_reported_in_plain_words(output_dir: Path) -> None:
    with pytest.raises(SandboxUnavailable, match="install the Debian package bubblewrap"):
        Sandbox(bwrap="/nonexistent/bwrap").run(["/bin/true"], input_file=None,
                                                 output_dir=output_dir, limits=SandboxLimits())


def test_scratch_copies_left_by_a_killed_run_are_removed(tmp_path: Path,
                                                         output_dir: Path) -> None:
    child = subprocess.Popen(["/bin/true"])
    child.wait()
    leftover = tmp_path / f"skrynka-sandbox-{child.pid}-abcd"
    leftover.mkdir()
    (leftover / "input").write_bytes(b"a copy of evidence")
    ours = tmp_path / f"skrynka-sandbox-{os.getpid()}-live"
    ours.mkdir()
    Sandbox(scratch_dir=tmp_path).run(["/bin/true"], input_file=None, output_dir=output_dir,
                                      limits=SandboxLimits())
    assert not leftover.exists()
    assert ours.exists()
    assert [p for p in tmp_path.glob("skrynka-sandbox-*") if p != ours] == []
