"""Progress bars: shown on a terminal, silent in scripts and logs."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import struct
import termios

import pytest

from workstation.progress import terminal_progress


def test_no_bar_when_stderr_is_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    captured = io.StringIO()
    monkeypatch.setattr("sys.stderr", captured)

    bar = terminal_progress(1000, "import")
    bar.update(500)
    bar.close()

    assert captured.getvalue() == ""


def test_a_bar_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    controller, terminal = pty.openpty()
    # A real terminal has a size; tqdm draws nothing on a 0×0 one.
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    with os.fdopen(terminal, "w") as stderr:
        monkeypatch.setattr("sys.stderr", stderr)
        bar = terminal_progress(1000, "import")
        bar.update(500)
        bar.close()
        stderr.flush()
        shown = os.read(controller, 65536).decode(errors="replace")
    os.close(controller)

    assert "import" in shown
    assert "B/s" in shown  # counts bytes
