"""Bridge lines an operator publishes: good lines pass, every kind of bad line is named."""

from pathlib import Path

import pytest

from core.bridges import MAX_BRIDGE_LINES, parse_bridge_lines
from core.errors import SettingsError
from core.settings import load_settings

FINGERPRINT = "0123456789ABCDEF0123456789ABCDEF01234567"
OBFS4 = f"obfs4 192.0.2.10:443 {FINGERPRINT} cert={'Q' * 70} iat-mode=0"
WEBTUNNEL = f"webtunnel [2001:db8::1]:443 {FINGERPRINT} url=https://example.org/path ver=0.0.1"


def test_obfs4_and_webtunnel_lines_pass_and_blank_lines_are_ignored() -> None:
    bridges, problems = parse_bridge_lines(f"\n  {OBFS4}  \n\n{WEBTUNNEL}\n")
    assert problems == []
    assert bridges.lines == (OBFS4, WEBTUNNEL)


@pytest.mark.parametrize(
    ("line", "advice"),
    [
        (f"Bridge {OBFS4}", "leave out the word 'Bridge'"),
        (f"meek_lite 192.0.2.1:80 {FINGERPRINT}", "starts with the transport"),
        (OBFS4.replace("192.0.2.10:443", "bridge.example:443"), "IPv4:PORT or [IPv6]:PORT"),
        (OBFS4.replace(":443", ":70000"), "IPv4:PORT or [IPv6]:PORT"),
        (OBFS4.replace(FINGERPRINT, "XYZ"), "40 hexadecimal characters"),
        (OBFS4.replace("cert=", "kert="), "cert=... option"),
        (OBFS4.replace("iat-mode=0", "iat-mode=7"), "iat-mode=0, 1 or 2"),
        (WEBTUNNEL.replace("https://", "http://"), "url=https://"),
        (WEBTUNNEL.replace("ver=0.0.1", "ver=latest"), "version number"),
    ],
)
def test_a_bad_line_is_named_by_number_with_what_to_fix(line: str, advice: str) -> None:
    _bridges, problems = parse_bridge_lines(f"{OBFS4}\n{line}")
    assert len(problems) == 1
    assert problems[0].startswith("bridge line 2: ")
    assert advice in problems[0]


def test_too_many_lines_are_refused() -> None:
    _bridges, problems = parse_bridge_lines("\n".join([OBFS4] * (MAX_BRIDGE_LINES + 1)))
    assert any(f"at most {MAX_BRIDGE_LINES}" in problem for problem in problems)


def test_settings_with_a_bad_bridge_line_do_not_load(tmp_path: Path) -> None:
    env = {"SKRYNKA_SOURCE_BRIDGE_LINES": f"{OBFS4}\nobfs4 nonsense"}
    with pytest.raises(SettingsError, match="SKRYNKA_SOURCE_BRIDGE_LINES: bridge line 2"):
        load_settings(env=env, data_dir=tmp_path)
    good = load_settings(env={"SKRYNKA_SOURCE_BRIDGE_LINES": OBFS4}, data_dir=tmp_path)
    assert good.source_bridge_lines == OBFS4
