"""Running gpg: one place that decides the binary, the home and the options.

Private to the crypto package. Every gpg process we start gets the same defensive options:
batch mode without a terminal, no configuration file from the home (a planted ``gpg.conf``
must not change what we do), no key servers or automatic key lookups, and the ``always`` trust
model (the keyring holds exactly the keys the operator imported; there is no web of trust to
consult).
"""

import collections
import contextlib
import fcntl
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO

import gnupg

from crypto.errors import GpgFailed
from crypto.types import Fingerprint

SAFE_OPTIONS: tuple[str, ...] = (
    "--batch",
    "--no-tty",
    "--no-greeting",
    "--no-options",
    "--trust-model",
    "always",
    "--no-auto-key-retrieve",
    "--auto-key-locate",
    "local",
    "--keyid-format",
    "long",
)
#: Generous: key generation and small operations finish in well under a second here.
DEFAULT_TIMEOUT = 60.0
_STATUS_PREFIX = "[GNUPG:] "
#: Ask the kernel for a pipe this large so gpg and Python overlap instead of taking turns.
_PIPE_BYTES = 1024 * 1024
#: The tail of gpg's stderr kept for error messages; a chatty gpg must not grow memory.
_STDERR_KEEP = 64 * 1024


def gpg_binary() -> str:
    """Return the path of the gpg binary or explain how to install it."""
    path = shutil.which("gpg")
    if path is None:
        raise GpgFailed("The 'gpg' program was not found; install GnuPG (apt install gnupg).")
    return path


def prepare_home(home: Path) -> None:
    """Create ``home`` if needed, make it private (0700) as gpg insists, and give it a trustdb.

    With ``--trust-model always`` gpg never creates ``trustdb.gpg`` but still needs one the
    first time it meets an expired key ("Fatal: can't open trustdb"), which would turn a clear
    "expired" into an obscure failure.
    """
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(home, 0o700)
    if not (home / "trustdb.gpg").exists():
        subprocess.run(
            [
                gpg_binary(),
                "--homedir",
                str(home),
                *SAFE_OPTIONS,
                "--trust-model",
                "pgp",
                "--check-trustdb",
            ],
            capture_output=True,
            timeout=DEFAULT_TIMEOUT,
            check=False,
        )


def gpg_command(home: Path, *args: str) -> list[str]:
    """Return an argument vector for gpg working on ``home`` with the safe options."""
    return [gpg_binary(), "--homedir", str(home), *SAFE_OPTIONS, *args]


def make_gpg(home: Path) -> gnupg.GPG:
    """Return a python-gnupg handle on ``home`` with the same safe options."""
    prepare_home(home)
    # python-gnupg adds --batch, --no-tty and --homedir itself.
    options = [opt for opt in SAFE_OPTIONS if opt not in ("--batch", "--no-tty")]
    return gnupg.GPG(gpgbinary=gpg_binary(), gnupghome=str(home), options=options)


def run_gpg(
    home: Path,
    args: Sequence[str],
    *,
    stdin: bytes | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> subprocess.CompletedProcess[bytes]:
    """Run gpg to completion (small inputs only: everything is held in memory)."""
    try:
        return subprocess.run(
            gpg_command(home, "--status-fd", "2", *args),
            input=stdin if stdin is not None else b"",
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise GpgFailed(
            f"gpg did not finish within {timeout:.0f} s; is the machine overloaded?"
        ) from exc


class StderrCollector(threading.Thread):
    """Reads a process's stderr to the end so gpg can never block on a full stderr pipe."""

    def __init__(self, stream: IO[bytes]) -> None:
        super().__init__(name="gpg-stderr", daemon=True)
        self._stream = stream
        self._kept: collections.deque[bytes] = collections.deque()
        self._kept_bytes = 0

    def run(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            for line in self._stream:
                self._kept.append(line)
                self._kept_bytes += len(line)
                while self._kept_bytes > _STDERR_KEEP and len(self._kept) > 1:
                    self._kept_bytes -= len(self._kept.popleft())

    def text(self) -> bytes:
        self.join()
        return b"".join(self._kept)


def widen_pipe(fd: int) -> None:
    """Enlarge the pipe ``fd`` to :data:`_PIPE_BYTES` when the kernel allows it."""
    with contextlib.suppress(OSError):
        # Linux only, and may be refused; a default-sized pipe is just slower.
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)


def status_lines(stderr: bytes) -> list[tuple[str, list[str]]]:
    """Parse gpg's ``--status-fd`` lines (keyword, arguments) out of mixed stderr output."""
    parsed: list[tuple[str, list[str]]] = []
    for raw in stderr.decode("utf-8", "replace").splitlines():
        if raw.startswith(_STATUS_PREFIX):
            keyword, *rest = raw[len(_STATUS_PREFIX) :].split(" ")
            parsed.append((keyword, rest))
    return parsed


def describe_failure(result: subprocess.CompletedProcess[bytes]) -> str:
    """gpg's own human-readable complaint (status lines removed), for operator messages."""
    lines = [
        line
        for line in result.stderr.decode("utf-8", "replace").splitlines()
        if line and not line.startswith(_STATUS_PREFIX)
    ]
    return "; ".join(lines[-3:]) or f"gpg exited with status {result.returncode}"


def generate_key(
    home: Path,
    params: Mapping[str, str],
    *,
    faked_time: str | None = None,
) -> Fingerprint:
    """Generate an unprotected key from unattended-generation ``params``; return its fingerprint.

    ``faked_time`` (gpg's ``--faked-system-time`` syntax, e.g. ``20130514T000000!``) pins the
    clock gpg uses for the key and its self-signatures.
    """
    lines = ["%no-protection"]
    for name, value in params.items():
        if any(ch in value for ch in "\r\n\0") or any(ch in name for ch in ":\r\n\0"):
            raise ValueError("Key generation parameters must be single-line text.")
        lines.append(f"{name}: {value}")
    lines.append("%commit")
    extra = ["--faked-system-time", faked_time] if faked_time else []
    prepare_home(home)
    result = run_gpg(
        home, [*extra, "--generate-key"], stdin=("\n".join(lines) + "\n").encode("utf-8")
    )
    created = [args for keyword, args in status_lines(result.stderr) if keyword == "KEY_CREATED"]
    if result.returncode != 0 or not created or len(created[0]) < 2:
        raise GpgFailed(f"gpg could not generate a key: {describe_failure(result)}")
    return Fingerprint(created[0][1].upper())


def kill_agent(home: Path) -> None:
    """Stop any gpg-agent (and other daemons) gpg started for ``home``; ignore if none runs."""
    gpgconf = shutil.which("gpgconf")
    if gpgconf is None or not home.exists():
        return
    with contextlib.suppress(subprocess.SubprocessError, OSError):
        subprocess.run(
            [gpgconf, "--homedir", str(home), "--kill", "all"],
            capture_output=True,
            timeout=DEFAULT_TIMEOUT,
            check=False,
        )


def remove_home(home: Path) -> None:
    """Stop the home's agent and delete the home with everything in it."""
    kill_agent(home)
    for attempt in range(5):
        try:
            shutil.rmtree(home)
        except FileNotFoundError:
            return
        except OSError:
            # The agent may still be removing its sockets as it exits; try again shortly.
            if attempt == 4:
                raise
            time.sleep(0.02)
        else:
            return


@contextlib.contextmanager
def ephemeral_home(parent: Path) -> Iterator[Path]:
    """A fresh 0700 GNUPGHOME under ``parent`` that is removed (agent stopped) on exit."""
    home = Path(tempfile.mkdtemp(prefix="skr-", dir=parent))
    try:
        os.chmod(home, 0o700)
        yield home
    finally:
        remove_home(home)
