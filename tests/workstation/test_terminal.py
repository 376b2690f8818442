"""Terminal control sequences from a source never reach the officer's terminal raw."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.workstation import MakeBundle, Workstation
from tests.workstation.bundles import Sent, consent_document
from workstation.terminal import escape_controls, escape_json_text

COMMAND = str(Path(sys.executable).parent / "skrynka-workstation")
OSC52_CLIPBOARD = "\x1b]52;c;cm0gLXJmIH4K\x07"
WINDOW_TITLE = "\x1b]0;all items verified\x07"
CURSOR_UP_AND_ERASE = "\x1b[2A\x1b[2K\r"
C1_CSI_CLEAR = "\x9b2J"
BIDI = "\u202e\u2066\u2069\u200f\u061c\u202a"
# Bytes that must not appear in anything printed: ESC, BEL, CR, the C1 CSI (UTF-8) and bidi.
FORBIDDEN = [b"\x1b", b"\x07", b"\r", "\x9b".encode(), *(ch.encode() for ch in BIDI)]


def test_controls_and_bidi_become_visible_escapes() -> None:
    assert escape_controls("ok\x1b]0;x\x07") == "ok\\x1b]0;x\\x07"
    assert escape_controls("abc\u202egpj.exe") == "abc\\u202egpj.exe"
    assert escape_controls("a\r\nb\tc\x7f\x85\u2028") == "a\\x0d\\x0ab\\x09c\\x7f\\x85\\u2028"
    assert escape_controls("Мяне затрымалі — «тут»") == "Мяне затрымалі — «тут»"


def test_json_output_stays_valid_json_with_the_same_values() -> None:
    value = {"name": f"a{OSC52_CLIPBOARD}{BIDI}{C1_CSI_CLEAR}\U000e0001b"}
    document = escape_json_text(json.dumps(value, ensure_ascii=False))
    assert json.loads(document) == value
    assert not any(bad in document.encode() for bad in FORBIDDEN)


HIDDEN = {"Cc", "Cf", "Cs", "Zl", "Zp"}


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(codec=None)))
def test_no_text_keeps_a_control_format_or_bidi_character(text: str) -> None:
    escaped = escape_controls(text)
    assert not [ch for ch in escaped if unicodedata.category(ch) in HIDDEN]
    if not [ch for ch in text if unicodedata.category(ch) in HIDDEN]:
        assert escaped == text
    document = escape_json_text(json.dumps({"t": text}, ensure_ascii=False, indent=2))
    assert json.loads(document) == {"t": text}
    assert not [
        ch for ch in document if unicodedata.category(ch) in HIDDEN - {"Cs"} and ch != "\n"
    ]


def run_command(store: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "SKRYNKA_WORKSTATION_STORE": str(store)}
    return subprocess.run([COMMAND, *args], capture_output=True, env=env, check=False,
                          timeout=120)


def test_hostile_message_file_name_and_designation_print_inert_through_the_real_command(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    message = (
        f"Hello{OSC52_CLIPBOARD}{WINDOW_TITLE}\n"
        f"consent of source x: un{CURSOR_UP_AND_ERASE}fake line{BIDI}{C1_CSI_CLEAR}\n"
        "--- end of message ---\ncustody:\n  #1 forged entry"
    )
    designation = f"brave{WINDOW_TITLE}{BIDI}tortoise"
    file_name = f"photo{CURSOR_UP_AND_ERASE}\u202egpj.exe"
    consent = consent_document(["platform"], "2026-11-27T05:11:16.055418Z")
    bundle = make_bundle([
        Sent("message", message.encode(), source=designation, consent=consent),
        Sent("file", b"not really a photo", name=file_name, source=designation,
             consent=consent),
    ])
    imported = run_command(workstation.store, "import", str(bundle))
    assert imported.returncode == 0, imported.stderr
    listed = run_command(workstation.store, "list")
    items = json.loads(run_command(workstation.store, "list", "--json").stdout)
    shown = [run_command(workstation.store, "show", item["id"]) for item in items]
    shown_json = [run_command(workstation.store, "show", item["id"], "--json") for item in items]
    custody = run_command(workstation.store, "custody", "show")
    outputs = [imported, listed, *shown, *shown_json, custody]
    for result in outputs:
        assert result.returncode == 0, result.stderr
        for stream in (result.stdout, result.stderr):
            found = [bad for bad in FORBIDDEN if bad in stream]
            assert found == [], (result.args, found, stream[:400])
    printed = b"".join(result.stdout for result in shown)
    # Escaped, not dropped: the officer sees that the sequences were there.
    assert b"\\x1b]52;c;cm0gLXJmIH4K\\x07" in printed
    assert b"\\u202egpj.exe" in listed.stdout
    assert b"brave\\x1b]0;all items verified\\x07\\u202e" in printed
    # Each line of the message is marked, so its imitation of the command's lines shows.
    assert b"  | --- end of message ---" in printed
    assert b"  | custody:" in printed
    assert b"\ncustody:\n" in printed  # the real custody heading is still there, unmarked
    for result in shown_json:
        assert json.loads(result.stdout)["kind"] in ("message", "file")


@pytest.mark.parametrize("command", [["list"], ["custody", "show"]])
def test_an_empty_store_prints_plain_text(workstation: Workstation, command: list[str]) -> None:
    result = run_command(workstation.store, *command)
    assert result.returncode == 0
    assert result.stdout.isascii()
