"""A first app server set up for a shared directory the way docs/operations.md §10 says:
`skrynka init`, then its store/ and tmp/ moved into the shared directory beside it, then
settings added to its instance.json."""

import json
import shutil
from pathlib import Path
from typing import Any

from server.setup import init_instance
from tests.support.keys import KeyPair


def init_first_machine(
    data_dir: Path, shared: Path, keypair: KeyPair, **init_options: Any
) -> Path:
    """`skrynka init` into ``data_dir`` (development mode, fast KDF), then store/ and tmp/ moved
    into ``shared`` (created 0700). The instance does not point at ``shared`` yet: see
    :func:`update_instance_settings`."""
    init_instance(
        data_dir,
        keypair.public_armored,
        dev_mode=True,
        instance_settings={"kdf": "testing"},
        env={},
        **init_options,
    )
    shared.mkdir(mode=0o700)
    for name in ("store", "tmp"):
        shutil.move(data_dir / name, shared / name)
    return data_dir


def update_instance_settings(data_dir: Path, **settings: str) -> None:
    """Add or replace settings in ``data_dir``'s instance.json, as an administrator would."""
    path = data_dir / "instance.json"
    document = json.loads(path.read_text())
    document["settings"].update(settings)
    path.write_text(json.dumps(document, indent=2) + "\n")
