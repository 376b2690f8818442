"""Progress bars for long operations, shown only when a person is watching stderr."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Protocol

from tqdm import tqdm


class Progress(Protocol):
    def update(self, amount: int) -> None: ...

    def close(self) -> None: ...


ProgressFactory = Callable[[int, str], Progress]


class _Silent:
    def update(self, amount: int) -> None:
        """Nothing to show."""

    def close(self) -> None:
        """Nothing to close."""


def silent_progress(total: int, description: str) -> Progress:
    return _Silent()


def terminal_progress(total: int, description: str) -> Progress:
    """A byte-counting tqdm bar on stderr, or nothing when stderr is not a terminal."""
    if not sys.stderr.isatty():
        return _Silent()
    bar: Progress = tqdm(
        total=total,
        desc=description,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        file=sys.stderr,
        leave=False,
    )
    return bar
