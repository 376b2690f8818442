"""BagIt (RFC 8493) packaging, always in a separate process.

`bagit.make_bag` and `Bag.save` change the process's working directory while they run, which
would pull the ground from under anything else in our process; so both run in a child started
with the *spawn* method (a fresh interpreter, no inherited state) and report back plain strings.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import shutil
from pathlib import Path

import bagit

CHECKSUMS = ("sha256", "sha512")


def _build_in_child(bag_dir: str, tag_dir: str, bag_info: dict[str, str]) -> str | None:
    """Turn `bag_dir` into a bag, add the tag files from `tag_dir`, validate; None if valid."""
    try:
        bagit.make_bag(bag_dir, bag_info=bag_info, processes=1, checksums=list(CHECKSUMS))
        for entry in sorted(os.listdir(tag_dir)):
            shutil.move(os.path.join(tag_dir, entry), os.path.join(bag_dir, entry))
        bag = bagit.Bag(bag_dir)
        # Regenerates the tag manifests so they cover our own tag files too.
        bag.save(processes=1)
        bagit.Bag(bag_dir).validate(processes=1)
    except (bagit.BagError, OSError, RuntimeError) as exc:
        # bagit raises a bare RuntimeError for a payload directory that does not exist.
        return str(exc)
    return None


def _validate_in_child(bag_dir: str) -> str | None:
    try:
        bag = bagit.Bag(bag_dir)
        bag.validate(processes=1)
        missing = [alg for alg in CHECKSUMS if alg not in bag.algorithms]
        if missing:
            return f"the bag has no {', '.join(missing)} manifest"
    except bagit.BagValidationError as exc:
        details = "; ".join(str(detail) for detail in exc.details) or str(exc)
        return f"{exc.message}: {details}" if details else str(exc.message)
    except (bagit.BagError, OSError) as exc:
        return str(exc)
    return None


def _run_in_child(function: object, *args: object) -> str | None:
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        future: concurrent.futures.Future[str | None] = pool.submit(
            function, *args  # type: ignore[arg-type]
        )
        return future.result()


def build_bag(bag_dir: Path, tag_dir: Path, bag_info: dict[str, str]) -> str | None:
    """Make and validate a bag in a child process; return the problem, or None."""
    return _run_in_child(_build_in_child, str(bag_dir), str(tag_dir), bag_info)


def validate_bag(bag_dir: Path) -> str | None:
    """Validate a bag (every checksum) in a child process; return the problem, or None."""
    return _run_in_child(_validate_in_child, str(bag_dir))
