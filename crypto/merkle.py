"""Merkle trees over file digests, hashed the way RFC 6962 (Certificate Transparency) does.

The server builds one tree over the SHA-256 of every ciphertext and encrypted receipt received
since the last tree and has its root time-stamped; the workstation and a recipient check that an
item's digest leads to that root. Both sides import this module, so the hashing is defined once.

Hashing, with a one-byte prefix for domain separation (a leaf can never pass for a node):

    leaf  = SHA-256(0x00 || d)        d = the 32 raw bytes of the file's SHA-256
    node  = SHA-256(0x01 || left || right)

The tree over n leaves splits at k, the largest power of two smaller than n (RFC 6962 §2.1), so
a tree of any size is well defined and an inclusion path has at most ceil(log2 n) hashes. The
path of leaf m lists the sibling hashes from the leaf up (RFC 6962 §2.1.1); which side each
sibling sits on follows from m and n (`path_sides`). ``root_from_path`` recomputes the root from
a leaf, its index, the tree size and the path (RFC 9162 §2.1.3.2); a wrong index, size or hash
gives a different root, never an exception. Malformed input (bad hex, an index outside the tree,
a path of the wrong length) raises :class:`BadInclusionPath`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from crypto.errors import BadInclusionPath

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
DIGEST_BYTES = 32


def leaf_hash(file_sha256: bytes) -> bytes:
    """The leaf for a file whose SHA-256 is ``file_sha256`` (32 raw bytes)."""
    if len(file_sha256) != DIGEST_BYTES:
        raise BadInclusionPath("a leaf is the 32-byte SHA-256 of a file")
    return hashlib.sha256(LEAF_PREFIX + file_sha256).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def tree_root(leaves: Sequence[bytes]) -> bytes:
    """The root over leaf hashes (already through ``leaf_hash``); at least one leaf."""
    if not leaves:
        raise BadInclusionPath("a tree needs at least one leaf")
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return node_hash(tree_root(leaves[:k]), tree_root(leaves[k:]))


def inclusion_path(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """The sibling hashes from leaf ``index`` up to the root (RFC 6962 PATH(m, D[n]))."""
    if not 0 <= index < len(leaves):
        raise BadInclusionPath(f"leaf {index} is outside a tree of {len(leaves)}")
    if len(leaves) == 1:
        return []
    k = _split(len(leaves))
    if index < k:
        return [*inclusion_path(leaves[:k], index), tree_root(leaves[k:])]
    return [*inclusion_path(leaves[k:], index - k), tree_root(leaves[:k])]


def all_paths(leaves: Sequence[bytes]) -> list[list[bytes]]:
    """Every leaf's inclusion path, computing each subtree root once (n log n, not n^2)."""
    paths: list[list[bytes]] = [[] for _ in leaves]

    def walk(lo: int, hi: int) -> bytes:
        if hi - lo == 1:
            return leaves[lo]
        k = _split(hi - lo)
        left, right = walk(lo, lo + k), walk(lo + k, hi)
        for i in range(lo, lo + k):
            paths[i].append(right)
        for i in range(lo + k, hi):
            paths[i].append(left)
        return node_hash(left, right)

    if not leaves:
        raise BadInclusionPath("a tree needs at least one leaf")
    walk(0, len(leaves))
    return paths


def path_sides(index: int, size: int) -> list[str]:
    """For each path hash, whether it sits "left" or "right" of the running hash."""
    if not 0 <= index < size:
        raise BadInclusionPath(f"leaf {index} is outside a tree of {size}")
    sides: list[str] = []
    fn, sn = index, size - 1
    while sn > 0:
        if fn % 2 == 1 or fn == sn:
            sides.append("left")
            if fn % 2 == 0:
                # Right edge of an unbalanced tree: climb until fn is a right child or the top.
                while fn % 2 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sides.append("right")
        fn >>= 1
        sn >>= 1
    return sides


def root_from_path(leaf: bytes, index: int, size: int, path: Sequence[bytes]) -> bytes:
    """Recompute the root from a leaf hash and its inclusion path (RFC 9162 §2.1.3.2)."""
    sides = path_sides(index, size)
    if len(sides) != len(path):
        raise BadInclusionPath(
            f"a path for leaf {index} of {size} has {len(sides)} hashes, not {len(path)}"
        )
    running = leaf
    for side, sibling in zip(sides, path, strict=True):
        if len(sibling) != DIGEST_BYTES:
            raise BadInclusionPath("every path hash is 32 bytes")
        running = node_hash(sibling, running) if side == "left" else node_hash(running, sibling)
    return running


def parse_hex_digest(text: object, what: str) -> bytes:
    """32 bytes from 64 lower-case hex characters; BadInclusionPath naming ``what`` if not."""
    if not isinstance(text, str) or len(text) != 2 * DIGEST_BYTES or text != text.lower():
        raise BadInclusionPath(f"{what} is not 64 lower-case hex characters")
    try:
        return bytes.fromhex(text)
    except ValueError as exc:
        raise BadInclusionPath(f"{what} is not 64 lower-case hex characters") from exc
