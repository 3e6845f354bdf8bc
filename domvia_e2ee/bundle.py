"""Signed rotation bundles and per-recipient slices (spec/bundle.md).

A bundle announces one new epoch: a signed header whose member-tree root commits to every
member's id, identity fingerprint and wrapped key. A slice is the same signed header with
one member's leaf and inclusion path, so a member of a 10,000-member room checks ~1 KiB.
Verification against what a participant already holds lives in keyring.py.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from . import labels
from .encoding import Reader, Writer, check_epoch, check_id
from .errors import FormatError
from .hazmat import curves, merkle
from .hazmat.suites import Suite
from .identity import Identity, PublicIdentity
from .keys import KEY_ID_SIZE, RoomKey
from .wrap import Progress, WrapKem, wrap_many

MAX_MEMBERS: Final = 100_000
MAX_BUNDLE_BYTES: Final = 128 << 20


@dataclass(frozen=True)
class BundleHeader:
    """The signed part of a bundle: everything a member needs to trust its own key."""

    kem: WrapKem
    suite: Suite
    room_id: str
    epoch: int
    key_id: bytes
    rotator_id: str
    issued_at: int
    member_count: int
    root: bytes

    def to_bytes(self) -> bytes:
        return (Writer().u8(self.kem).u8(self.suite).str8(self.room_id).u32(self.epoch).raw(self.key_id)
                .str8(self.rotator_id).u64(self.issued_at).u32(self.member_count).raw(self.root).getvalue())

    def signed_bytes(self) -> bytes:
        return labels.SIG_BUNDLE + self.to_bytes()

    @classmethod
    def read(cls, r: Reader) -> BundleHeader:
        kem = WrapKem.from_wire(r.u8("kem"))
        suite = Suite.from_wire(r.u8("suite"))
        room_id = check_id(r.str8("room_id"), "room_id")
        epoch = check_epoch(r.u32("epoch"))
        key_id = r.raw(KEY_ID_SIZE, "key_id")
        rotator_id = check_id(r.str8("rotator_id"), "rotator_id")
        issued_at = r.u64("issued_at")
        count = r.u32("member_count")
        if not 1 <= count <= MAX_MEMBERS:
            raise FormatError("member_count", f"must be from 1 to {MAX_MEMBERS}")
        return cls(kem, suite, room_id, epoch, key_id, rotator_id, issued_at, count,
                   r.raw(merkle.HASH_SIZE, "root"))


@dataclass(frozen=True)
class Member:
    """One leaf of the member tree."""

    participant_id: str
    fingerprint: bytes
    wrapped: bytes

    def leaf(self) -> bytes:
        return member_leaf(self.participant_id, self.fingerprint, hashlib.sha256(self.wrapped).digest())

    def write(self, w: Writer) -> None:
        w.str8(self.participant_id).raw(self.fingerprint).bytes16(self.wrapped)

    @classmethod
    def read(cls, r: Reader, kem: WrapKem) -> Member:
        participant_id = check_id(r.str8("member.id"), "member.id")
        fingerprint = r.raw(32, "member.fingerprint")
        wrapped = r.bytes16("member.wrapped_key")
        if len(wrapped) != kem.wrapped_size:
            raise FormatError("member.wrapped_key", f"must be {kem.wrapped_size} bytes")
        return cls(participant_id, fingerprint, wrapped)


def member_leaf(participant_id: str, fingerprint: bytes, wrapped_digest: bytes) -> bytes:
    return merkle.leaf_hash(Writer().str8(participant_id).raw(fingerprint).raw(wrapped_digest).getvalue())


@dataclass(frozen=True)
class MembershipProof:
    """Proof that the signer is a leaf of an earlier epoch's member tree: its authority."""

    wrapped_digest: bytes
    index: int
    path: tuple[bytes, ...]

    def write(self, w: Writer) -> None:
        w.u8(1).raw(self.wrapped_digest).u32(self.index)
        write_path(w, self.path)

    @classmethod
    def read_optional(cls, r: Reader) -> MembershipProof | None:
        present = r.u8("proof")
        if present == 0:
            return None
        if present != 1:
            raise FormatError("proof", "presence byte must be 0 or 1")
        return cls(r.raw(32, "proof.wrapped_digest"), r.u32("proof.index"), read_path(r, "proof.path"))

    def verifies(self, signer: PublicIdentity, size: int, root: bytes) -> bool:
        leaf = member_leaf(signer.participant_id, signer.fingerprint, self.wrapped_digest)
        return merkle.verify_inclusion(leaf, self.index, size, self.path, root)


def write_path(w: Writer, path: Sequence[bytes]) -> None:
    w.u8(len(path))
    for node in path:
        w.raw(node)


def read_path(r: Reader, name: str) -> tuple[bytes, ...]:
    size = r.u8(name)
    if size > merkle.MAX_PATH:
        raise FormatError(name, "longer than any tree allows")
    return tuple(r.raw(merkle.HASH_SIZE, name) for _ in range(size))


def _write_proof(w: Writer, proof: MembershipProof | None) -> None:
    if proof is None:
        w.u8(0)
    else:
        proof.write(w)


@dataclass(frozen=True)
class Slice:
    """One member's view of a bundle: signed header, its own leaf and inclusion path."""

    header: BundleHeader
    signature: bytes
    proof: MembershipProof | None
    member: Member
    index: int
    path: tuple[bytes, ...]

    def to_bytes(self) -> bytes:
        w = Writer(labels.MAGIC_SLICE).raw(self.header.to_bytes()).raw(self.signature)
        _write_proof(w, self.proof)
        self.member.write(w)
        w.u32(self.index)
        write_path(w, self.path)
        return w.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Slice:
        r = _open_reader(data, labels.MAGIC_SLICE, "slice", 64 << 10)
        header = BundleHeader.read(r)
        signature = r.raw(curves.SIGNATURE_SIZE, "signature")
        proof = MembershipProof.read_optional(r)
        member = Member.read(r, header.kem)
        index = r.u32("index")
        path = read_path(r, "path")
        r.end()
        return cls(header, signature, proof, member, index, path)


@dataclass(frozen=True)
class Bundle:
    """A whole rotation: signed header, the rotator's authority proof, every member's leaf."""

    header: BundleHeader
    signature: bytes
    proof: MembershipProof | None
    members: tuple[Member, ...]
    # A cache of the member tree. init=False so that dataclasses.replace() starts it empty:
    # a copied cache would vouch for the old members of a bundle whose members were replaced.
    _tree: list[merkle.Tree] = field(default_factory=list, init=False, repr=False, compare=False)

    def to_bytes(self) -> bytes:
        w = Writer(labels.MAGIC_BUNDLE).raw(self.header.to_bytes()).raw(self.signature)
        _write_proof(w, self.proof)
        for member in self.members:
            member.write(w)
        return w.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Bundle:
        r = _open_reader(data, labels.MAGIC_BUNDLE, "bundle", MAX_BUNDLE_BYTES)
        header = BundleHeader.read(r)
        signature = r.raw(curves.SIGNATURE_SIZE, "signature")
        proof = MembershipProof.read_optional(r)
        members = tuple(Member.read(r, header.kem) for _ in range(header.member_count))
        r.end()
        bundle = cls(header, signature, proof, members)
        bundle.check()
        return bundle

    def check(self) -> None:
        """The structural rules a parsed bundle obeys, for bundles built in memory too."""
        if len(self.members) != self.header.member_count:
            raise FormatError("member_count", "does not match the members listed")
        check_sorted(self.members)

    def tree(self) -> merkle.Tree:
        if not self._tree:
            self._tree.append(merkle.Tree([m.leaf() for m in self.members]))
        return self._tree[0]

    def index_of(self, participant_id: str) -> int | None:
        for index, member in enumerate(self.members):
            if member.participant_id == participant_id:
                return index
        return None

    def slice_for(self, participant_id: str) -> Slice:
        index = self.index_of(participant_id)
        if index is None:
            raise KeyError(participant_id)
        return Slice(self.header, self.signature, self.proof, self.members[index], index,
                     tuple(self.tree().path(index)))

    def proof_for(self, participant_id: str) -> MembershipProof:
        """The proof a member of this epoch attaches when it signs the next rotation."""
        index = self.index_of(participant_id)
        if index is None:
            raise KeyError(participant_id)
        digest = hashlib.sha256(self.members[index].wrapped).digest()
        return MembershipProof(digest, index, tuple(self.tree().path(index)))


def check_sorted(members: Sequence[Member]) -> None:
    for before, after in itertools.pairwise(members):
        if before.participant_id.encode() >= after.participant_id.encode():
            raise FormatError("members", "must be sorted by id with no duplicates")


def _open_reader(data: bytes, magic: bytes, what: str, limit: int) -> Reader:
    if len(data) > limit:
        raise FormatError(what, f"larger than {limit} bytes")
    if data[:4] != magic:
        raise FormatError("magic", f"not a version 1 {what}")
    return Reader(bytes(data), 4)


def build_bundle(rotator: Identity, key: RoomKey, members: Sequence[PublicIdentity], *, kem: WrapKem,
                 issued_at: int, proof: MembershipProof | None,
                 progress: Progress | None = None) -> Bundle:
    """Wraps key to every member, builds the member tree and signs the header."""
    ordered = sorted(members, key=lambda m: m.participant_id.encode())
    if len({m.participant_id for m in ordered}) != len(ordered):
        raise ValueError("duplicate member id")
    if not 1 <= len(ordered) <= MAX_MEMBERS:
        raise ValueError(f"a room has 1 to {MAX_MEMBERS} members")
    return _assemble(rotator, key, ordered, wrap_many(key, ordered, kem, progress), kem=kem,
                     issued_at=issued_at, proof=proof)


def _assemble(rotator: Identity, key: RoomKey, ordered: Sequence[PublicIdentity], wrapped: Sequence[bytes], *,
              kem: WrapKem, issued_at: int, proof: MembershipProof | None) -> Bundle:
    """Builds the tree and signs, given members sorted by id and their wrapped keys."""
    leaves = tuple(Member(m.participant_id, m.fingerprint, w) for m, w in zip(ordered, wrapped, strict=True))
    tree = merkle.Tree([leaf.leaf() for leaf in leaves])
    header = BundleHeader(kem, key.suite, key.room_id, key.epoch, key.key_id, rotator.participant_id,
                          issued_at, len(leaves), tree.root)
    bundle = Bundle(header, rotator.sign(header.signed_bytes()), proof, leaves)
    bundle._tree.append(tree)
    return bundle
