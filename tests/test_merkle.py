"""hazmat.merkle: RFC 9162 tree hashes and inclusion proofs, checked against a direct recursion."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domvia_e2ee.hazmat import merkle


def _leaves(count: int) -> list[bytes]:
    return [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(count)]


def reference_root(leaves: list[bytes]) -> bytes:
    """RFC 9162 2.1.1, written as the RFC writes it."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + reference_root(leaves[:k]) + reference_root(leaves[k:])).digest()


def test_domain_separation() -> None:
    # group state v3 (spec/bundle.md, "Member tree"): the leaf label names v3
    assert merkle.leaf_hash(b"x") == hashlib.sha256(b"\x00domvia-e2ee/v3 member" + b"x").digest()
    with pytest.raises(ValueError):
        merkle.Tree([])


@given(st.integers(1, 70))
def test_root_and_every_path(count: int) -> None:
    leaves = _leaves(count)
    tree = merkle.Tree(leaves)
    assert tree.root == reference_root(leaves)
    for index, leaf in enumerate(leaves):
        path = tree.path(index)
        assert len(path) <= max(1, count - 1).bit_length()
        assert merkle.root_from_path(leaf, index, count, path) == tree.root
        assert merkle.verify_inclusion(leaf, index, count, path, tree.root)


@given(st.integers(2, 40), st.data())
def test_wrong_leaf_index_or_path_fails(count: int, data: st.DataObject) -> None:
    leaves = _leaves(count)
    tree = merkle.Tree(leaves)
    index = data.draw(st.integers(0, count - 1))
    path = tree.path(index)
    leaf = leaves[index]
    other = data.draw(st.integers(0, count - 1).filter(lambda i: i != index))
    assert not merkle.verify_inclusion(leaves[other], index, count, path, tree.root)
    assert not merkle.verify_inclusion(leaf, other, count, path, tree.root)
    assert not merkle.verify_inclusion(leaf, index, count, path, merkle.leaf_hash(b"root"))
    assert not merkle.verify_inclusion(leaf, index, count, [*path, bytes(32)], tree.root)
    if path:
        assert not merkle.verify_inclusion(leaf, index, count, path[:-1], tree.root)
        position = data.draw(st.integers(0, len(path) - 1))
        bad = list(path)
        bad[position] = bytes(32)
        assert not merkle.verify_inclusion(leaf, index, count, bad, tree.root)
    assert merkle.root_from_path(leaf, count, count, path) is None
    assert merkle.root_from_path(leaf, -1, count, path) is None


def test_single_leaf() -> None:
    leaf = merkle.leaf_hash(b"only")
    tree = merkle.Tree([leaf])
    assert tree.root == leaf and tree.path(0) == []
    assert merkle.verify_inclusion(leaf, 0, 1, [], leaf)
    assert not merkle.verify_inclusion(leaf, 0, 1, [leaf], leaf)
