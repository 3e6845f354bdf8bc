"""The member tree: an RFC 9162 Merkle tree over member leaves, with inclusion proofs.

A per-recipient slice carries one leaf and its path, so checking one's own wrapped key
costs O(log n) hashes and bytes whatever the room size.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import Final

from .. import labels

HASH_SIZE: Final = 32
MAX_PATH: Final = 32


def leaf_hash(leaf: bytes) -> bytes:
    """The domain-separated hash of one member leaf (RFC 9162 2.1.1, with this protocol's label)."""
    return hashlib.sha256(labels.TREE_LEAF + leaf).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(labels.TREE_NODE + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly below n (RFC 9162 2.1.1)."""
    return 1 << ((n - 1).bit_length() - 1)


class Tree:
    """All node hashes of a tree over given leaf hashes, so every path is a lookup."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        if not leaves:
            raise ValueError("a member tree has at least one leaf")
        self._leaves = list(leaves)
        self._nodes: dict[tuple[int, int], bytes] = {}
        self.root = self._hash(0, len(self._leaves))

    def _hash(self, lo: int, hi: int) -> bytes:
        if hi - lo == 1:
            return self._leaves[lo]
        mid = lo + _split(hi - lo)
        value = _node(self._hash(lo, mid), self._hash(mid, hi))
        self._nodes[(lo, hi)] = value
        return value

    def _get(self, lo: int, hi: int) -> bytes:
        return self._leaves[lo] if hi - lo == 1 else self._nodes[(lo, hi)]

    def path(self, index: int) -> list[bytes]:
        """Inclusion proof for leaf index, bottom-up (RFC 9162 2.1.3.1)."""
        out: list[bytes] = []
        lo, hi = 0, len(self._leaves)
        while hi - lo > 1:
            mid = lo + _split(hi - lo)
            if index < mid:
                out.append(self._get(mid, hi))
                hi = mid
            else:
                out.append(self._get(lo, mid))
                lo = mid
        out.reverse()
        return out


def root_from_path(leaf: bytes, index: int, size: int, path: Sequence[bytes]) -> bytes | None:
    """RFC 9162 2.1.3.2: the root that leaf, index and path imply, or None if they are inconsistent."""
    if not 0 <= index < size:
        return None
    fn, sn, node = index, size - 1, leaf
    for sibling in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            node = _node(sibling, node)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            node = _node(node, sibling)
        fn >>= 1
        sn >>= 1
    return node if sn == 0 else None


def verify_inclusion(leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes) -> bool:
    """Whether `path` proves leaf hash `leaf` (see `leaf_hash`) at `index` of a tree of `size` leaves
    under `root` (constant-time compare).

    Returns False, and raises nothing, for any inconsistent input.
    """
    computed = root_from_path(leaf, index, size, path)
    return computed is not None and hmac.compare_digest(computed, root)
