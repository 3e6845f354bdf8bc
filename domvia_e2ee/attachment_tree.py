"""The chunk tree of an attachment (spec/attachment.md, "Chunk tree"): what lets a random-access
reader check one chunk against the reference without reading the rest of the blob.

    leaf_i = BLAKE3(ATTACHMENT_LEAF || chunk_i)             chunk_i: ciphertext and tag
    node   = BLAKE3(ATTACHMENT_NODE || left || right)
    tree   = RFC 9162 section 2.1 shape over leaf_0 .. leaf_{n-1}
    root   = BLAKE3(ATTACHMENT_ROOT || header || tree)      the reference's `root`

The tree is stored in the blob in post-order: after chunk i come leaf_i and the nodes of the perfect
subtrees that chunk i completes, lowest first (1 + tz(i+1) hashes). So a sealer holds O(log n)
hashes, and every node of a perfect subtree is at an offset computable from (level, index) alone.
A tree of n leaves is the perfect subtrees of the binary decomposition of n, left to right, folded
from the right: tree = node(P_1, node(P_2, ... P_m)).

Pure layout and hashing; no keys. BLAKE3 was chosen by measurement (README, "Dependencies").
"""

from __future__ import annotations

import hmac
from typing import Final

from blake3 import blake3

from . import labels

HASH_SIZE: Final = 32
"""Bytes of a leaf, a node and the root."""


def leaf_hash(chunk: bytes) -> bytes:
    """The leaf of one encrypted chunk (ciphertext and tag). Raises nothing."""
    hasher = blake3(labels.ATTACHMENT_LEAF)
    hasher.update(chunk)
    return hasher.digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """An interior node. Raises nothing."""
    return blake3(labels.ATTACHMENT_NODE + left + right).digest()


def root_hash(header: bytes, tree: bytes) -> bytes:
    """The reference's root: the tree's top bound to the 70-byte header. Raises nothing."""
    return blake3(labels.ATTACHMENT_ROOT + header + tree).digest()


def frame_hashes(index: int) -> int:
    """How many hashes follow chunk `index` in the blob: its leaf and 1 node per level it completes."""
    return ((index + 1) & -(index + 1)).bit_length()  # 1 + trailing zeros of index + 1


def hashes_before(index: int) -> int:
    """How many hashes the frames of chunks 0 .. index-1 hold: sum of 1 + tz(k), k = 1..index."""
    return 2 * index - index.bit_count()


def node_frame(level: int, position: int) -> int:
    """The chunk after which node (level, position) is stored: the last leaf it covers."""
    return ((position + 1) << level) - 1


def perfect_subtrees(count: int) -> list[tuple[int, int]]:
    """(level, position) of the perfect subtrees of a tree of `count` leaves, left to right."""
    out, start = [], 0
    for level in range(count.bit_length() - 1, -1, -1):
        if count >> level & 1:
            out.append((level, start >> level))
            start += 1 << level
    return out


def _subtree_of(index: int, count: int) -> tuple[int, int]:
    """(which perfect subtree holds leaf `index`, its level)."""
    start = 0
    for which, (level, _) in enumerate(perfect_subtrees(count)):
        if index < start + (1 << level):
            return which, level
        start += 1 << level
    raise ValueError("index outside the tree")


def proof_nodes(index: int, count: int) -> list[tuple[int, int]]:
    """(level, position) of the inclusion proof of leaf `index`, in proof order: the siblings inside its
    perfect subtree from the leaf up, then the other perfect subtrees left to right."""
    which, height = _subtree_of(index, count)
    siblings = [(level, (index >> level) ^ 1) for level in range(height)]
    others = [top for k, top in enumerate(perfect_subtrees(count)) if k != which]
    return siblings + others


def proof_root(leaf: bytes, index: int, count: int, proof: list[bytes], header: bytes) -> bytes:
    """The root that `proof` (hashes in proof_nodes order, as many) gives for `leaf` at `index`."""
    which, height = _subtree_of(index, count)
    top = leaf
    for level, sibling in enumerate(proof[:height]):
        top = node_hash(sibling, top) if index >> level & 1 else node_hash(top, sibling)
    tops = proof[height:]
    return root_hash(header, fold([*tops[:which], top, *tops[which:]]))


def fold(tops: list[bytes]) -> bytes:
    """The tree whose perfect subtrees are `tops`, left to right: node(P_1, node(P_2, ... P_m))."""
    tree = tops[-1]
    for top in reversed(tops[:-1]):
        tree = node_hash(top, tree)
    return tree


def proof_matches(leaf: bytes, index: int, count: int, proof: list[bytes], header: bytes, root: bytes) -> bool:
    """True when `proof` includes `leaf` at `index` in the tree that `root` names (constant-time compare)."""
    return hmac.compare_digest(proof_root(leaf, index, count, proof, header), root)


class TreeBuilder:
    """Builds the tree leaf by leaf, holding one hash per perfect subtree: O(log n)."""

    __slots__ = ("_stack",)

    def __init__(self) -> None:
        self._stack: list[tuple[int, bytes]] = []

    def add(self, chunk: bytes) -> bytes:
        """Adds the leaf of `chunk`; returns the hashes stored after it (leaf first, then each node it completes)."""
        leaf = leaf_hash(chunk)
        stored, stack = [leaf], self._stack
        stack.append((0, leaf))
        while len(stack) > 1 and stack[-1][0] == stack[-2][0]:
            (level, right), (_, left) = stack.pop(), stack.pop()
            stack.append((level + 1, node_hash(left, right)))
            stored.append(stack[-1][1])
        return b"".join(stored)

    def root(self, header: bytes) -> bytes:
        """The root over every leaf added so far (at least one). Raises nothing."""
        return root_hash(header, fold([top for _, top in self._stack]))
