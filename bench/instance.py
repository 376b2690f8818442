"""A throw-away Skrynka instance for a bench run, and bulk row inserts into its database."""

from pathlib import Path
from typing import Any

from sqlalchemy import insert

from core.instance import Instance, open_instance

# Rows handed to one execute() call.
ROW_BATCH = 5_000


def open_bench_instance(workdir: Path) -> Instance:
    """A dev-mode instance in `workdir` with a fresh submission key and the cheap test KDF."""
    from crypto.submission_key import export_public_key, generate_key_pair
    from server.setup import init_instance

    home = workdir / "key"
    home.mkdir(mode=0o700)
    fingerprint = generate_key_pair(home, "bench submission key")
    settings = init_instance(
        workdir / "data",
        export_public_key(home, fingerprint),
        dev_mode=True,
        instance_settings={"kdf": "testing"},
        env={},
    )
    return open_instance(settings)


def insert_rows(db: Any, model: Any, rows: list[dict[str, Any]]) -> None:
    """Insert plain-dict rows of `model` in batches of ROW_BATCH (the caller commits)."""
    for start in range(0, len(rows), ROW_BATCH):
        db.execute(insert(model), rows[start : start + ROW_BATCH])
