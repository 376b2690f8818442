"""A small file system of its own (tmpfs) that a test can fill up and free again.

Mounting needs root, which the test machines and CI give; the mount is always undone.
"""

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

_FILLER = ".filler"
_BLOCK = 64 * 1024


class SmallDisk:
    """A tmpfs of ``size_bytes`` at ``mount_point``; :meth:`fill` and :meth:`free` its space."""

    def __init__(self, mount_point: Path) -> None:
        self.mount_point = mount_point

    @property
    def free_bytes(self) -> int:
        stats = os.statvfs(self.mount_point)
        return stats.f_bavail * stats.f_frsize

    def fill(self, leave_bytes: int = 0) -> None:
        """Take all but about ``leave_bytes`` of the free space with a filler file."""
        with (self.mount_point / _FILLER).open("ab") as filler:
            block = b"\0" * _BLOCK
            while self.free_bytes - _BLOCK >= leave_bytes:
                try:
                    filler.write(block)
                    filler.flush()
                except OSError:
                    break
            while self.free_bytes > leave_bytes:
                try:
                    filler.write(b"\0" * 4096)
                    filler.flush()
                except OSError:
                    break

    def free(self) -> None:
        (self.mount_point / _FILLER).unlink(missing_ok=True)


@contextlib.contextmanager
def small_disk(mount_point: Path, size_bytes: int) -> Iterator[SmallDisk]:
    mount_point.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_bytes},mode=0700", "tmpfs", str(mount_point)],
        check=True,
        capture_output=True,
    )
    try:
        yield SmallDisk(mount_point)
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False, capture_output=True)
