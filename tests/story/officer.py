"""The evidence officer's terminal: `skrynka-workstation` run as a separate program.

The story drives the installed console script, not ``workstation.cli.main``, so it exercises
what an officer types: the entry point, argument parsing, exit codes and printed output.
"""

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crypto.submission_key import export_secret_key
from tests.support.keys import KeyPair

BIN_DIR = Path(sys.executable).parent
WORKSTATION = BIN_DIR / "skrynka-workstation"
BAGIT_TOOL = BIN_DIR / "bagit.py"
SERVER_CONSOLE = BIN_DIR / "skrynka"


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str


@dataclass(frozen=True)
class EvidenceOfficer:
    """Runs workstation commands against one evidence store, as one named officer."""

    store: Path
    actor: str = "officer-anna"
    # Seconds a command may take (an import that OCRs pages on a loaded machine takes long).
    timeout: float = 120
    # What the terminal showed, command by command, for the story's record.
    transcript: list[str] = field(default_factory=list)

    def run(self, *args: str) -> Outcome:
        command = [str(WORKSTATION), args[0], "--store", str(self.store), "--actor", self.actor]
        result = subprocess.run(
            [*command, *args[1:]], capture_output=True, text=True, check=False,
            timeout=self.timeout,
        )
        self.transcript.append(
            f"$ skrynka-workstation {' '.join(args)}\n{result.stdout}{result.stderr}"
            f"[exit {result.returncode}]\n"
        )
        return Outcome(result.returncode, result.stdout, result.stderr)

    def ok(self, *args: str) -> str:
        """Run a command that must succeed; its standard output."""
        outcome = self.run(*args)
        assert outcome.code == 0, f"{' '.join(args)} failed ({outcome.code}):\n{outcome.err}"
        return outcome.out

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json"))

    def stop_gpg_agent(self) -> None:
        # Importing the secret key started a gpg-agent for the store's GnuPG home.
        subprocess.run(
            ["gpgconf", "--homedir", str(self.store / "gnupg"), "--kill", "gpg-agent"],
            check=False,
            capture_output=True,
        )


def validate_with_bagit_tool(package: Path) -> subprocess.CompletedProcess[str]:
    """The `bagit` library's own command line: a check that owes nothing to Skrynka's code."""
    return subprocess.run(
        [str(BAGIT_TOOL), "--validate", str(package)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def metadata_report(path: Path) -> str:
    """What Debian's `mat2 --show` reads in a file, asked directly rather than through Skrynka."""
    result = subprocess.run(
        ["mat2", "--show", str(path)], capture_output=True, text=True, check=False, timeout=60
    )
    return result.stdout + result.stderr


def run_server_console(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The server admin's `skrynka` command against a data dir."""
    return subprocess.run(
        [str(SERVER_CONSOLE), "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def carry_keys_to_workstation(
    data_dir: Path, keypair: KeyPair, directory: Path
) -> tuple[Path, Path, str]:
    """What the officer carries to the air-gapped machine at set-up: the submission secret key
    (from the key ceremony), and the server's signing public key with its fingerprint as the
    server console shows them; returns the two files and the fingerprint."""
    directory.mkdir()
    secret = directory / "submission-secret.asc"
    secret.write_bytes(export_secret_key(keypair.secret_home, keypair.fingerprint))
    console = run_server_console(data_dir, "check", "--keys")
    assert console.returncode == 0, console.stdout + console.stderr
    shown = dict(line.split(":", 1) for line in console.stdout.splitlines() if ":" in line)
    server_key = directory / "server-signing.pub"
    server_key.write_text(shown["server signing public key"].strip() + "\n", encoding="ascii")
    return secret, server_key, shown["server signing key fingerprint"].strip()
