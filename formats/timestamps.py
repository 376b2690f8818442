"""The trusted-timestamp parts of a version 2 transfer-bundle manifest, defined once.

docs/bundle-format.md ("Trusted timestamps") is the prose. An item's `timestamp` names its tree
and, for its ciphertext and its encrypted receipt, the leaf index and the inclusion path (sibling
hashes, hex, from the leaf up); the manifest's `trees` give each tree's root, size and token
members (`timestamps/tree-<id>/<n>.tsr`). The server builds these from its database
(core.bundle), the workstation reads them (workstation.bundle) and checks them
(workstation.timestamps). Parsers raise `InvalidManifest` for anything malformed; whether the
hashes actually lead to the root is the workstation's check, not a parse error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from formats.errors import InvalidManifest

TIMESTAMPS_FOLDER = "timestamps/"
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class LeafRef:
    """Where one file sits in a stamped tree: its leaf index and the path up to the root."""

    index: int
    path: tuple[str, ...]


@dataclass(frozen=True)
class ItemStamp:
    tree: int
    ciphertext: LeafRef
    receipt: LeafRef | None


@dataclass(frozen=True)
class TokenRef:
    """One token member: which authority, and the member's path, size and SHA-256."""

    tsa: str
    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class TreeRecord:
    id: int
    root: str
    size: int
    tokens: tuple[TokenRef, ...]


def token_member_path(tree_id: int, number: int) -> str:
    return f"{TIMESTAMPS_FOLDER}tree-{tree_id}/{number}.tsr"


def encode_stamp(stamp: ItemStamp | None) -> dict[str, Any] | None:
    if stamp is None:
        return None
    return {"tree": stamp.tree, "ciphertext": _encode_leaf(stamp.ciphertext),
            "receipt": None if stamp.receipt is None else _encode_leaf(stamp.receipt)}


def encode_trees(trees: tuple[TreeRecord, ...]) -> list[dict[str, Any]]:
    return [
        {"id": tree.id, "root": tree.root, "size": tree.size,
         "tokens": [{"tsa": t.tsa, "path": t.path, "size": t.size, "sha256": t.sha256}
                    for t in tree.tokens]}
        for tree in trees
    ]


def _encode_leaf(leaf: LeafRef) -> dict[str, Any]:
    return {"index": leaf.index, "path": list(leaf.path)}


def _count(value: Any, where: str, minimum: int = 0) -> int:
    if type(value) is not int or value < minimum:
        raise InvalidManifest(f"{where} is not a whole number >= {minimum}")
    return value


def _parse_leaf(value: Any, where: str) -> LeafRef:
    if not isinstance(value, dict):
        raise InvalidManifest(f"{where} is not an object")
    path = value.get("path")
    if not isinstance(path, list) or not all(isinstance(p, str) for p in path):
        raise InvalidManifest(f"{where} path is not a list of hashes")
    return LeafRef(index=_count(value.get("index"), f"{where} index"), path=tuple(path))


def parse_stamp(value: Any, uuid: str, has_receipt: bool) -> ItemStamp | None:
    """An item's `timestamp`: its leaves in a stamped tree, or None."""
    if value is None:
        return None
    where = f"timestamp of item {uuid}"
    if not isinstance(value, dict):
        raise InvalidManifest(f"{where} is not an object")
    receipt_raw = value.get("receipt")
    if (receipt_raw is None) == has_receipt:
        raise InvalidManifest(f"{where} does not match whether the item has a receipt")
    return ItemStamp(
        tree=_count(value.get("tree"), f"{where} tree"),
        ciphertext=_parse_leaf(value.get("ciphertext"), f"{where} ciphertext"),
        receipt=None if receipt_raw is None else _parse_leaf(receipt_raw, f"{where} receipt"),
    )


def _parse_token(value: Any, where: str) -> TokenRef:
    if not isinstance(value, dict):
        raise InvalidManifest(f"{where} is not an object")
    tsa, path = value.get("tsa"), value.get("path")
    size, digest = value.get("size"), value.get("sha256")
    if not isinstance(tsa, str) or not tsa:
        raise InvalidManifest(f"{where} names no authority")
    if not isinstance(path, str) or not path.startswith(TIMESTAMPS_FOLDER):
        raise InvalidManifest(f"{where} path {path!r} is not under {TIMESTAMPS_FOLDER}")
    if not isinstance(digest, str) or not _HEX64.fullmatch(digest):
        raise InvalidManifest(f"{where} sha256 {digest!r} is not 64 lower-case hex")
    return TokenRef(tsa=tsa, path=path, size=_count(size, f"{where} size"), sha256=digest)


def parse_trees(raw_trees: Any) -> tuple[TreeRecord, ...]:
    """The manifest's `trees` (version 2)."""
    if not isinstance(raw_trees, list):
        raise InvalidManifest("trees is not a list")
    trees: list[TreeRecord] = []
    seen: set[int] = set()
    for index, raw in enumerate(raw_trees):
        where = f"trees[{index}]"
        if not isinstance(raw, dict):
            raise InvalidManifest(f"{where} is not an object")
        root = raw.get("root")
        if not isinstance(root, str) or not _HEX64.fullmatch(root):
            raise InvalidManifest(f"{where} root is not 64 lower-case hex")
        raw_tokens = raw.get("tokens")
        if not isinstance(raw_tokens, list):
            raise InvalidManifest(f"{where} tokens is not a list")
        tree_id = _count(raw.get("id"), f"{where} id")
        if tree_id in seen:
            raise InvalidManifest(f"tree {tree_id} is listed twice")
        seen.add(tree_id)
        trees.append(TreeRecord(
            id=tree_id, root=root, size=_count(raw.get("size"), f"{where} size", 1),
            tokens=tuple(_parse_token(t, f"{where} token {n}") for n, t in enumerate(raw_tokens)),
        ))
    return tuple(trees)
