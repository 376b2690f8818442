"""Making text from a source inert before it reaches the evidence officer's terminal.

A message, a file name, a designation or a receipt field is whatever a source (or a forger)
chose. Printed raw, an escape sequence in it can retitle the window, write the clipboard (OSC
52), move the cursor to overwrite the consent or custody lines printed before it, or a
bidirectional override can make the line read differently from its bytes. Every line the
command prints therefore passes :func:`escape_controls`, which replaces each control, format
and bidirectional character by a visible escape (``\\x1b``, ``\\u202e``), so the officer sees
that it was there and the terminal never acts on it.
"""

from __future__ import annotations

import sys
import unicodedata
from typing import TextIO

# Unicode categories that are never text to show: controls (C0, DEL, C1), format characters
# (bidi embeddings, overrides and isolates, marks, zero-width joiners), surrogates left by bad
# UTF-8, and the line and paragraph separators that start a new line on some terminals.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def escape_controls(text: str) -> str:
    """``text`` with every control, format and bidi character replaced by a visible escape.

    Newlines are escaped too: a caller that prints several lines passes them one at a time.
    """
    if text.isprintable():
        return text  # the common case, and isprintable() is true of no character we escape
    return "".join(_escape(ch) if _is_hidden(ch) else ch for ch in text)


def escape_json_text(document: str) -> str:
    """A JSON document with the same characters escaped as JSON ``\\uXXXX`` sequences.

    ``json.dumps(..., ensure_ascii=False)`` escapes C0 controls but leaves DEL, C1 controls
    and bidi characters raw; outside strings JSON holds only ASCII, so this changes only the
    contents of strings and the document still parses to the same values. The newlines of
    the indentation stay (inside strings JSON has already escaped every newline).
    """
    if document.isprintable():
        return document
    return "".join(
        _json_escape(ch) if _is_hidden(ch) and ch != "\n" else ch for ch in document
    )


def say(line: str = "", *, err: bool = False) -> None:
    """Print one line to stdout (or stderr), escaped; the only way the command prints."""
    stream: TextIO = sys.stderr if err else sys.stdout
    print(escape_controls(line), file=stream)


def say_block(text: str, prefix: str = "  | ") -> None:
    """Print multi-line text from a source, every line marked with ``prefix``.

    The prefix shows where the source's text is on every line, so a line in it that imitates
    the command's own output ("consent ...", "custody: ...") cannot pass for one.
    """
    for line in text.split("\n") if text else [""]:
        say(prefix + line)


def _is_hidden(ch: str) -> bool:
    return unicodedata.category(ch) in _INVISIBLE_CATEGORIES


def _escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _json_escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
