"""mat2, driven through its command-line interface (its documented, stable surface).

The Debian package installs mat2 for the system Python only, so importing `libmat2` from a
virtualenv does not work; running `mat2` as a subprocess does, whatever Python runs us. mat2
answers 0 even when it cannot read a format, so its output is parsed, not just its exit code.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from workstation.errors import MetadataToolError

MAT2_TIMEOUT_SECONDS = 600
_NOT_SUPPORTED = re.compile(r"is not supported")
_FAILED = re.compile(r"^\[-\] something went wrong", re.MULTILINE)


@dataclass(frozen=True)
class MetadataReport:
    """What mat2 --show found in a file."""

    supported: bool
    fields: dict[str, str] = field(default_factory=dict)
    note: str = ""


class FormatNotSupported(Exception):
    """mat2 cannot clean this format (internal; callers fall back to a flagged byte copy)."""


class MetadataTool:
    """One mat2 executable."""

    def __init__(self, executable: str = "mat2") -> None:
        found = shutil.which(executable)
        if found is None:
            raise MetadataToolError(
                f"{executable} is not installed; install the Debian package mat2"
                " (apt install mat2) and retry"
            )
        self.executable = found

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                [self.executable, *args],
                capture_output=True,
                text=True,
                timeout=MAT2_TIMEOUT_SECONDS,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise MetadataToolError(f"mat2 could not run ({exc}); check the mat2 install") from exc

    def version(self) -> str:
        result = self._run("--version")
        text = result.stdout.strip() or result.stderr.strip()
        return text.removeprefix("mat2").strip()

    def show(self, path: Path) -> MetadataReport:
        result = self._run("--show", "--", str(path))
        output = result.stdout + result.stderr
        if _NOT_SUPPORTED.search(output):
            return MetadataReport(supported=False, note="format not supported by mat2")
        if _FAILED.search(output):
            return MetadataReport(supported=False, note="mat2 could not read this file")
        return MetadataReport(supported=True, fields=parse_show_output(result.stdout))

    def clean_in_place(self, path: Path) -> None:
        result = self._run("--inplace", "--", str(path))
        output = result.stdout + result.stderr
        if _NOT_SUPPORTED.search(output):
            raise FormatNotSupported(output.strip())
        if result.returncode != 0 or _FAILED.search(output):
            raise FormatNotSupported(output.strip() or f"mat2 exited with {result.returncode}")


def parse_show_output(text: str) -> dict[str, str]:
    """Turn mat2's indented `key: value` lines into a dict (members prefixed by their name)."""
    fields: dict[str, str] = {}
    prefix = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("[+]") or stripped.startswith("No metadata"):
            continue
        if stripped.startswith("- ") and stripped.endswith(":"):
            prefix = stripped[2:-1] + "/"
            continue
        key, sep, value = stripped.partition(": ")
        if sep:
            fields[prefix + key] = value
        elif stripped.endswith(":"):
            prefix = stripped[:-1] + "/"
    return fields
