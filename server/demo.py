"""`skrynka demo`: a throw-away dev-mode instance with a stand-in for the air-gapped workstation.

The demo generates its own submission key pair. The public half goes into the instance like any
real submission key; the secret half is written to DATA_DIR/demo-workstation/, which stands in
for the air-gapped decryption workstation so a newcomer can check that what the server stored
really is ciphertext that only that key opens. A real instance never holds that secret key.

Post-init demo steps: `DEMO_STEPS` lists functions run once, right after a new demo instance is
created (e.g. to create a demo staff account). Each returns lines to show the user; they are
printed and also saved to DATA_DIR/demo-workstation/DEMO.txt so that later runs of
`skrynka demo` show them again. Add a step by appending a function to `DEMO_STEPS`.
"""

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from core.settings import Settings
from crypto.submission_key import export_public_key, export_secret_key, generate_key_pair
from server.commands.user import create_demo_admin
from server.setup import init_instance

DemoStep = Callable[[Settings], list[str]]
DEMO_KEY_NAME = "Skrynka demo submission key (NOT FOR REAL USE)"
DEMO_NOTES = "DEMO.txt"

WORKSTATION_README = """\
THIS DIRECTORY STANDS IN FOR THE AIR-GAPPED WORKSTATION.

It exists only because this is a demo instance made by `skrynka demo`. It holds the SECRET half
of the demo submission key, which a real Skrynka server never has: on a real installation the
secret key lives only on an offline decryption workstation (ideally on a smartcard), and the
server refuses to start if its own keyring contains any secret key.

  submission-key.secret.asc      the demo submission key, SECRET half (no passphrase)
  submission-key.public.asc      its public half (what the server imported)

Check that a stored submission decrypts to exactly the bytes you sent:

  export GNUPGHOME="$(mktemp -d)"
  gpg --import {workstation}/submission-key.secret.asc
  gpg --decrypt {store}/<source id>/1-<designation>-msg.gpg
  gpg --decrypt {store}/<source id>/2-<designation>-doc.gz.gpg | gunzip > the-file

Fingerprint of the demo submission key: {fingerprint}
"""


def show_demo_credentials(settings: Settings) -> list[str]:
    """Nothing to add yet; other demo steps (staff accounts) append their own lines."""
    return []


DEMO_STEPS: list[DemoStep] = [show_demo_credentials, create_demo_admin]


def create_demo_instance(data_dir: Path) -> Settings:
    """Create a dev-mode instance with a new demo key pair (secret half: demo-workstation/)."""
    data_dir = Path(data_dir).expanduser().absolute()
    # A short path (gpg-agent's socket path is limited to ~100 bytes), in RAM where possible.
    ram = Path("/dev/shm")  # noqa: S108 (a RAM-backed dir is the point)
    scratch = Path(tempfile.mkdtemp(prefix="skd-", dir=ram if ram.is_dir() else None))
    try:
        home = scratch / "g"
        home.mkdir(mode=0o700)
        fingerprint = generate_key_pair(home, DEMO_KEY_NAME)
        public = export_public_key(home, fingerprint)
        secret = export_secret_key(home, fingerprint)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    # The demo shows what sources see: the site in Belarusian first.
    settings = init_instance(
        data_dir,
        public,
        dev_mode=True,
        organization_name="Skrynka demo",
        instance_settings={"source_default_locale": "be"},
    )
    workstation = settings.demo_workstation_dir
    workstation.mkdir(mode=0o700)
    _write_private(workstation / "submission-key.secret.asc", secret)
    (workstation / "submission-key.public.asc").write_text(public, encoding="ascii")
    (workstation / "README.txt").write_text(
        WORKSTATION_README.format(
            workstation=workstation, store=settings.store_dir, fingerprint=fingerprint
        ),
        encoding="utf-8",
    )
    return settings


def prepare_demo(settings: Settings) -> list[str]:
    """Run every post-init demo step once; return (and save) the lines they produced."""
    lines: list[str] = []
    for step in DEMO_STEPS:
        lines.extend(step(settings))
    _write_private(
        settings.demo_workstation_dir / DEMO_NOTES, "".join(f"{line}\n" for line in lines)
    )
    return lines


def saved_demo_notes(settings: Settings) -> list[str]:
    """The lines the post-init steps produced when this demo instance was created."""
    try:
        text = (settings.demo_workstation_dir / DEMO_NOTES).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return text.splitlines()


def _write_private(path: Path, text: str | bytes) -> None:
    data = text.encode("utf-8") if isinstance(text, str) else text
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
