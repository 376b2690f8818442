"""Merkle trees over file digests: RFC 6962 hashing with domain separation, paths that
recompute the root, and any change to a leaf, index, size or path giving another root."""

from __future__ import annotations

import hashlib

import pytest

from crypto.errors import BadInclusionPath
from crypto.merkle import (
    all_paths,
    inclusion_path,
    leaf_hash,
    node_hash,
    parse_hex_digest,
    path_sides,
    root_from_path,
    tree_root,
)


def digest(n: int) -> bytes:
    return hashlib.sha256(f"file {n}".encode()).digest()


def leaves(n: int) -> list[bytes]:
    return [leaf_hash(digest(i)) for i in range(n)]


def h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def test_known_answers_spelled_out_from_the_definitions() -> None:
    d0, d1, d2 = digest(0), digest(1), digest(2)
    l0, l1, l2 = h(b"\x00" + d0), h(b"\x00" + d1), h(b"\x00" + d2)
    assert leaf_hash(d0) == l0
    assert tree_root([l0]) == l0
    assert tree_root([l0, l1]) == h(b"\x01" + l0 + l1)
    # Three leaves split 2 + 1 (the largest power of two below 3).
    assert tree_root([l0, l1, l2]) == h(b"\x01" + h(b"\x01" + l0 + l1) + l2)
    assert inclusion_path([l0, l1, l2], 2) == [h(b"\x01" + l0 + l1)]
    assert inclusion_path([l0, l1, l2], 0) == [l1, l2]
    assert path_sides(0, 3) == ["right", "right"]
    assert path_sides(2, 3) == ["left"]
    assert h(b"\x00" + d0) != h(d0)  # domain separation: a leaf is never a bare digest


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 33])
def test_every_leafs_path_leads_to_the_root(size: int) -> None:
    tree = leaves(size)
    root = tree_root(tree)
    paths = all_paths(tree)
    for index in range(size):
        assert paths[index] == inclusion_path(tree, index)
        assert root_from_path(tree[index], index, size, paths[index]) == root


def test_a_changed_leaf_index_size_or_path_gives_another_root() -> None:
    tree = leaves(11)
    root = tree_root(tree)
    path = inclusion_path(tree, 6)
    assert root_from_path(leaf_hash(digest(99)), 6, 11, path) != root
    assert root_from_path(tree[6], 7, 11, path) != root
    forged = [*path]
    forged[1] = h(b"forged")
    assert root_from_path(tree[6], 6, 11, forged) != root


def test_a_node_cannot_pass_for_a_leaf() -> None:
    # The second-preimage trick: present an inner node as a leaf of a smaller tree.
    tree = leaves(4)
    inner = node_hash(tree[0], tree[1])
    assert tree_root([inner, node_hash(tree[2], tree[3])]) == tree_root(tree)
    assert leaf_hash(hashlib.sha256(b"x").digest()) != inner


@pytest.mark.parametrize(("index", "size", "length"), [(5, 5, 3), (-1, 4, 2), (0, 4, 3)])
def test_malformed_paths_are_a_clear_error(index: int, size: int, length: int) -> None:
    with pytest.raises(BadInclusionPath, match="malformed Merkle inclusion path"):
        root_from_path(leaves(1)[0], index, size, [h(b"p")] * length)


def test_hex_digests_are_parsed_strictly() -> None:
    assert parse_hex_digest("ab" * 32, "root") == bytes.fromhex("ab" * 32)
    for bad in ("AB" * 32, "ab" * 31, "zz" * 32, 7):
        with pytest.raises(BadInclusionPath, match="root is not 64 lower-case hex"):
            parse_hex_digest(bad, "root")
    with pytest.raises(BadInclusionPath):
        leaf_hash(b"short")
    with pytest.raises(BadInclusionPath):
        tree_root([])
