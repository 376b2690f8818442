"""Run one untrusted conversion inside bubblewrap, with resource limits and a wall clock.

Flow of `Sandbox.run`:

1. The input file and the (empty) output directory are opened here as `O_PATH` descriptors and
   handed to `bwrap --ro-bind-fd/--bind-fd`, so the sandbox sees only `/input/<name>` (read-only)
   and `/output` (read-write), never the directories around them: the store, the home directory
   and every other path stay outside its mount namespace.
2. The child is started in its own session. Before `exec` it sets its resource limits (CPU time,
   address space, file size, processes, open files, no core dumps).
3. bwrap unshares every namespace (network: only the sandbox's own loopback; pid; ipc; uts;
   cgroup; user, with further user namespaces disabled). Inside, the tool runs as uid/gid 65534
   (`nobody`) of a new user namespace with every capability dropped; outside, that uid maps to
   whoever runs us. When that is root, the child first becomes the real `nobody` (the kernel
   does not apply the process limit to root, and a namespace made by root maps to root); as
   `nobody` cannot reach the store, the input is copied into a scratch directory only root can
   list and the output copied back, regular files only. bwrap binds read-only only the system
   directories the tool needs, gives a fresh size-limited tmpfs `/tmp` (HOME lives there), a
   minimal `/dev` and `/proc`, a clean environment, `--die-with-parent` and `--new-session`.
4. While it runs we watch the clock and the size of `/output`; past either limit bwrap's
   process group gets SIGKILL (some converters ignore SIGTERM for minutes). Whether it ended or
   was stopped, every process still in the sandbox's pid namespace (bwrap names its init on
   `--info-fd`) then gets SIGKILL until none is left, so nothing writes to `/output` while we
   read it and nothing outlives the run.
5. The outcome is a `SandboxResult`: exit status, which limit was hit (if any), the tail of
   stderr, what was written to stdout (capped) and the regular files produced. Symbolic links
   and other special files in `/output` are never listed.

`SandboxResult.require_success` turns a hit limit or a failed exit into a `ConversionRefused`
subclass whose message says in plain words what happened. bwrap itself failing to start is a
`SandboxUnavailable`. Nothing here knows about the store: callers pass paths and limits in.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import resource
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from workstation.errors import (
    ConversionFailed,
    ConversionLimitHit,
    ConversionTimedOut,
    SandboxUnavailable,
)

MIB = 1024 * 1024
NOBODY = 65534
INPUT_DIR = "/input"
OUTPUT_DIR = "/output"
# Paths inside the sandbox, where /tmp is a fresh tmpfs of its own.
SANDBOX_TMP = "/tmp"  # noqa: S108
SANDBOX_HOME = "/tmp/home"  # noqa: S108
# What every dynamically linked Debian tool needs: the merged /usr and the loader's cache.
BASE_SYSTEM_PATHS: tuple[str, ...] = ("/usr", "/etc/ld.so.cache")
STDERR_TAIL_BYTES = 4096
SCRATCH_PREFIX = "skrynka-sandbox-"
POLL_SECONDS = 0.02
# How a limit shows itself in a tool's last words when the tool, not the kernel, reports it.
_MEMORY_WORDS = re.compile(
    rb"out of memory|cannot allocate|bad_alloc|memoryerror|failed to allocate|enomem"
    rb"|memory allocation|not enough memory|std::length_error",
    re.IGNORECASE,
)
_FILE_SIZE_WORDS = re.compile(rb"file too large|no space left on device", re.IGNORECASE)
_PROCESS_WORDS = re.compile(rb"resource temporarily unavailable|can't fork|cannot fork",
                            re.IGNORECASE)
_CPU_WORDS = re.compile(rb"received signal 24|cpu time limit", re.IGNORECASE)

LIMIT_TIME = "time"
LIMIT_CPU = "CPU time"
LIMIT_MEMORY = "memory"
LIMIT_OUTPUT = "output size"
LIMIT_FILE_SIZE = "file size"
LIMIT_PROCESSES = "process count"


@dataclass(frozen=True)
class SandboxLimits:
    """Limits of one conversion: the sandbox's own and how much of a document is rendered."""

    cpu_seconds: int = 60
    wall_seconds: float = 120.0
    memory_bytes: int = 3072 * MIB
    file_bytes: int = 512 * MIB
    output_bytes: int = 1024 * MIB
    tmp_bytes: int = 512 * MIB
    processes: int = 512
    open_files: int = 256
    stdout_bytes: int = 4 * MIB
    # What a converter renders at most; the rest is named in the rendition's note.
    max_pages: int = 50
    render_processes: int = 2
    max_pixels: int = 50_000_000
    max_keyframes: int = 12
    max_media_seconds: int = 600
    # Re-encoding a video or audio copy (at most max_media_seconds of it) gets this budget.
    media_cpu_seconds: int = 600
    media_wall_seconds: float = 1200.0
    max_text_bytes: int = 2 * MIB


@dataclass(frozen=True)
class SandboxResult:
    """What one run inside the sandbox did."""

    tool: str
    exit_status: int
    limit_hit: str | None
    stderr_tail: str
    stdout: bytes
    files: tuple[Path, ...]
    wall_seconds: float
    limits: SandboxLimits

    @property
    def ok(self) -> bool:
        return self.exit_status == 0 and self.limit_hit is None

    def require_success(self) -> SandboxResult:
        """Return self, or raise the `ConversionRefused` that says what stopped the tool."""
        if self.limit_hit == LIMIT_TIME:
            raise ConversionTimedOut(self.tool, self.limits.wall_seconds)
        if self.limit_hit is not None:
            raise ConversionLimitHit(self.tool, self.limit_hit, self._limit_detail())
        if self.exit_status != 0:
            last = self.stderr_tail.strip().splitlines()[-1:] or ["no message"]
            raise ConversionFailed(self.tool, f"exit status {self.exit_status}: {last[0][:300]}")
        return self

    def _limit_detail(self) -> str:
        limits = self.limits
        return {
            LIMIT_CPU: f"{limits.cpu_seconds} s of processor time",
            LIMIT_MEMORY: f"{limits.memory_bytes // MIB} MiB of memory",
            LIMIT_OUTPUT: f"{limits.output_bytes // MIB} MiB of output",
            LIMIT_FILE_SIZE: f"{limits.file_bytes // MIB} MiB per file,"
                             f" {limits.tmp_bytes // MIB} MiB of scratch space",
            LIMIT_PROCESSES: f"{limits.processes} processes",
        }.get(str(self.limit_hit), str(self.limit_hit))


@dataclass(frozen=True)
class Sandbox:
    """A bubblewrap runner; the paths it binds and the ids the tool runs as are passed in."""

    bwrap: str = "/usr/bin/bwrap"
    system_paths: tuple[str, ...] = BASE_SYSTEM_PATHS
    uid: int = NOBODY
    gid: int = NOBODY
    # Where a root caller puts the input's copy for the `nobody` sandbox (default: $TMPDIR).
    scratch_dir: Path | None = None
    base_environment: Mapping[str, str] = field(default_factory=lambda: {
        "PATH": "/usr/bin:/bin",
        "HOME": SANDBOX_HOME,
        "TMPDIR": SANDBOX_TMP,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
    })

    def run(
        self,
        command: Sequence[str],
        *,
        input_file: Path | None,
        output_dir: Path,
        limits: SandboxLimits,
        input_name: str = "original",
        extra_paths: Sequence[str] = (),
        environment: Mapping[str, str] | None = None,
    ) -> SandboxResult:
        """Run `command` with `/input/<input_name>` and `/output`; see the module docstring.

        `output_dir` must exist and be empty. `extra_paths` are further system paths bound
        read-only (fonts, a tool's config).
        """
        if not Path(self.bwrap).is_file():
            raise SandboxUnavailable(f"{self.bwrap} not found")
        if any(output_dir.iterdir()):
            raise ValueError(f"{output_dir} must be empty before a sandboxed run")
        os.chmod(output_dir, 0o700)
        remove_abandoned_scratch(Path(self.scratch_dir or tempfile.gettempdir()))
        if os.geteuid() != 0:
            return self._run_in(command, input_file, output_dir, limits, input_name,
                                extra_paths, environment, drop=False)
        # As root: the kernel does not enforce the process limit on uid 0, and a user namespace
        # made by root maps to root. So the sandbox is started as the real `nobody`, which
        # cannot reach the store; it gets a copy of the input in a scratch directory that only
        # root can list, and its output is copied back (regular files only).
        scratch = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-",
                                        dir=self.scratch_dir))
        try:
            os.chmod(scratch, 0o711)  # noqa: S103 (nobody may enter, not list)
            scratch_input = None
            if input_file is not None:
                scratch_input = scratch / "input"
                shutil.copyfile(input_file, scratch_input, follow_symlinks=False)
                os.chmod(scratch_input, 0o444)
            scratch_output = scratch / "output"
            scratch_output.mkdir(mode=0o700)
            os.chown(scratch_output, self.uid, self.gid)
            result = self._run_in(command, scratch_input, scratch_output, limits, input_name,
                                  extra_paths, environment, drop=True)
            files = tuple(_copy_out(path, output_dir / path.name) for path in result.files)
            return dataclasses.replace(result, files=files)
        finally:
            remove_scratch(scratch)

    def _run_in(
        self,
        command: Sequence[str],
        input_file: Path | None,
        output_dir: Path,
        limits: SandboxLimits,
        input_name: str,
        extra_paths: Sequence[str],
        environment: Mapping[str, str] | None,
        drop: bool,
    ) -> SandboxResult:
        descriptors: list[int] = []
        try:
            output_fd = os.open(output_dir, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW)
            descriptors.append(output_fd)
            input_fd = None
            if input_file is not None:
                input_fd = os.open(input_file, os.O_PATH | os.O_NOFOLLOW)
                descriptors.append(input_fd)
            argv = self._bwrap_argv(command, input_fd, input_name, output_fd, limits,
                                    extra_paths, environment or {})
            return self._supervise(argv, descriptors, output_dir, limits, drop,
                                   tool=Path(command[0]).name)
        finally:
            for fd in descriptors:
                os.close(fd)

    def _bwrap_argv(
        self,
        command: Sequence[str],
        input_fd: int | None,
        input_name: str,
        output_fd: int,
        limits: SandboxLimits,
        extra_paths: Sequence[str],
        environment: Mapping[str, str],
    ) -> list[str]:
        argv = [
            self.bwrap,
            "--unshare-all", "--unshare-user", "--disable-userns",
            "--die-with-parent", "--new-session",
            "--uid", str(self.uid), "--gid", str(self.gid),
            "--cap-drop", "ALL",
        ]
        for path in (*self.system_paths, *extra_paths):
            if os.path.exists(path):
                argv += ["--ro-bind", path, path]
        argv += [
            "--symlink", "usr/bin", "/bin",
            "--symlink", "usr/sbin", "/sbin",
            "--symlink", "usr/lib", "/lib",
            "--symlink", "usr/lib64", "/lib64",
            # Locally installed programs are not Debian's and no converter needs them.
            "--tmpfs", "/usr/local",
            "--dev", "/dev",
            "--proc", "/proc",
            "--size", str(limits.tmp_bytes), "--tmpfs", SANDBOX_TMP,
            "--dir", SANDBOX_HOME,
            "--dir", INPUT_DIR,
            "--bind-fd", str(output_fd), OUTPUT_DIR,
        ]
        if input_fd is not None:
            argv += ["--ro-bind-fd", str(input_fd), f"{INPUT_DIR}/{input_name}"]
        # The root is a tmpfs of its own; read-only, so only the size-limited /tmp and /output
        # take writes.
        argv += ["--remount-ro", "/", "--chdir", SANDBOX_TMP, "--clearenv"]
        for name, value in {**self.base_environment, **environment}.items():
            argv += ["--setenv", name, value]
        return [*argv, "--", *command]

    def _supervise(
        self,
        argv: list[str],
        descriptors: list[int],
        output_dir: Path,
        limits: SandboxLimits,
        drop: bool,
        tool: str,
    ) -> SandboxResult:
        started = time.monotonic()
        info_read, info_write = os.pipe()
        os.set_blocking(info_read, False)
        argv = [argv[0], "--info-fd", str(info_write), *argv[1:]]
        info = _SandboxInfo(info_read)
        try:
            with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
                try:
                    pid = self._spawn(argv, [*descriptors, info_write], stdout, stderr,
                                      limits, drop)
                finally:
                    os.close(info_write)
                limit_hit: str | None = None
                while True:
                    info.read()
                    waited, status = os.waitpid(pid, os.WNOHANG)
                    if waited == pid:
                        break
                    if time.monotonic() - started > limits.wall_seconds:
                        limit_hit = LIMIT_TIME
                    elif _tree_size(output_dir) > limits.output_bytes:
                        limit_hit = LIMIT_OUTPUT
                    if limit_hit is not None:
                        _kill_group(pid)
                        _, status = os.waitpid(pid, 0)
                        break
                    time.sleep(POLL_SECONDS)
                info.read()
                # bwrap can return before its pid namespace is gone; nothing may still write
                # to /output while we read it.
                _end_namespace(info.child_pid)
                wall = time.monotonic() - started
                stdout.seek(0)
                out = stdout.read(limits.stdout_bytes)
                stderr_tail = _tail(stderr)
        finally:
            os.close(info_read)
        exit_status = os.waitstatus_to_exitcode(status)
        if limit_hit is None:
            limit_hit = _limit_from(exit_status, stderr_tail)
        if exit_status != 0 and limit_hit is None and info.child_pid is None:
            raise SandboxUnavailable(stderr_tail.decode("utf-8", "replace").strip()[-300:])
        return SandboxResult(
            tool=tool,
            exit_status=exit_status,
            limit_hit=limit_hit,
            stderr_tail=stderr_tail.decode("utf-8", "replace"),
            stdout=out,
            files=_regular_files(output_dir),
            wall_seconds=wall,
            limits=limits,
        )

    def _spawn(
        self,
        argv: list[str],
        descriptors: list[int],
        stdout: BinaryIO,
        stderr: BinaryIO,
        limits: SandboxLimits,
        drop: bool,
    ) -> int:
        rlimits = [
            (resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 2)),
            (resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes)),
            (resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes)),
            (resource.RLIMIT_NPROC, (limits.processes, limits.processes)),
            (resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files)),
            (resource.RLIMIT_CORE, (0, 0)),
        ]
        uid, gid = self.uid, self.gid

        def confine() -> None:
            # Runs in the child between fork and exec. Hard limits too, so nothing inside
            # can raise them again; then the uid, when we are root.
            for which, value in rlimits:
                resource.setrlimit(which, value)
            if drop:
                os.setgroups([])
                os.setgid(gid)
                os.setuid(uid)

        try:
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                env={},
                pass_fds=descriptors,
                start_new_session=True,
                preexec_fn=confine,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise SandboxUnavailable(f"cannot start {self.bwrap}: {exc}") from exc
        # We reap the child ourselves (polling, with the clock); tell Popen not to.
        process.returncode = 0
        return process.pid


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def _limit_from(exit_status: int, stderr_tail: bytes) -> str | None:
    """Which limit ended the run, judged from how it ended; None if it ended on its own.

    bwrap reports a child killed by signal N as exit status 128 + N. The CPU limit's soft
    value sends SIGXCPU and its hard value, a few seconds later, SIGKILL (for tools that catch
    SIGXCPU, as ffmpeg does); we send SIGKILL only for the limits we watch ourselves, so an
    unexplained SIGKILL is the CPU limit.
    """
    if exit_status == 0:
        return None
    if exit_status in (128 + signal.SIGXCPU, 128 + signal.SIGKILL) or _CPU_WORDS.search(
            stderr_tail):
        return LIMIT_CPU
    if exit_status == 128 + signal.SIGXFSZ or _FILE_SIZE_WORDS.search(stderr_tail):
        return LIMIT_FILE_SIZE
    if _MEMORY_WORDS.search(stderr_tail):
        return LIMIT_MEMORY
    if _PROCESS_WORDS.search(stderr_tail):
        return LIMIT_PROCESSES
    return None


class _SandboxInfo:
    """Reads bwrap's --info-fd JSON, which names the sandbox's init process (outside pid)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.data = b""
        self.child_pid: int | None = None

    def read(self) -> None:
        while True:
            try:
                chunk = os.read(self.fd, 4096)
            except BlockingIOError:
                break
            if not chunk:
                break
            self.data += chunk
        match = re.search(rb'"child-pid"\s*:\s*(\d+)', self.data)
        if match:
            self.child_pid = int(match.group(1))


def _end_namespace(child_pid: int | None) -> None:
    """Kill every process of the sandbox's pid namespace and wait until none is left.

    Killing its init should be enough (the kernel then kills the rest), but a fork bomb can keep
    that init waiting for CPU for a long time; so every member is killed, repeatedly, until the
    namespace is empty. Zombies run nothing and are not counted.
    """
    if child_pid is None:
        return
    try:
        namespace = os.readlink(f"/proc/{child_pid}/ns/pid")
    except OSError:
        return
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        members = [pid for pid in _process_ids() if _pid_namespace(pid) == namespace]
        if not members:
            return
        for pid in members:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(POLL_SECONDS)


def _process_ids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _pid_namespace(pid: int) -> str | None:
    """The pid namespace of a live process; None for a zombie (it runs nothing any more but
    keeps its namespace link until its new parent reaps it) or a process gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            if handle.read().rsplit(b")", 1)[-1].split()[:1] == [b"Z"]:
                return None
        return os.readlink(f"/proc/{pid}/ns/pid")
    except (OSError, IndexError):
        return None


def _tail(handle: BinaryIO) -> bytes:
    size = handle.seek(0, os.SEEK_END)
    handle.seek(max(0, size - STDERR_TAIL_BYTES))
    return handle.read()


def _tree_size(directory: Path) -> int:
    """Bytes under `directory`; each entry also counts a block, so a flood of empty files
    reaches the output limit too."""
    total = 0
    for root, dirs, files in os.walk(directory):
        for name in (*files, *dirs):
            try:
                total += os.lstat(os.path.join(root, name)).st_size + 4096
            except OSError:
                continue
    return total


def _copy_out(source: Path, target: Path) -> Path:
    """Copy a file the sandbox wrote, without following a link it may have put there."""
    fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as reader, target.open("xb") as writer:
        shutil.copyfileobj(reader, writer, 1024 * 1024)
    return target


def remove_abandoned_scratch(root: Path) -> list[str]:
    """Remove scratch directories (copies of evidence) left by runs whose process was killed."""
    removed = []
    for path in root.glob(f"{SCRATCH_PREFIX}*"):
        pid = path.name.removeprefix(SCRATCH_PREFIX).split("-")[0]
        if not pid.isdigit() or int(pid) == os.getpid() or not path.is_dir():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            remove_scratch(path)
            removed.append(path.name)
        except PermissionError:
            continue
    return removed


def remove_scratch(path: Path) -> None:
    for directory, _dirs, _files in os.walk(path):
        os.chmod(directory, 0o700)
    shutil.rmtree(path, ignore_errors=True)


def _regular_files(directory: Path) -> tuple[Path, ...]:
    """Regular files directly in `directory`, by name; links and special files are skipped."""
    found = []
    for entry in sorted(directory.iterdir()):
        mode = os.lstat(entry).st_mode
        if stat.S_ISREG(mode):
            found.append(entry)
    return tuple(found)
