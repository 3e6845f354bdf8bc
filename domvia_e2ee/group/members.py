"""Members of an epoch: entries carrying each member's whole public identity, the member tree's
leaves, and member proofs (spec/bundle.md, "Member tree" and "Member proof").

A roster entry is what a holder knows of one member of one epoch: its keys, straight from the
signed tree. Keys are validated when first used (identity()), not when a 10,000-member bundle is read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from .. import labels
from ..encoding import Reader, Writer, check_epoch, check_id
from ..errors import FormatError
from ..hazmat import merkle, xwing
from ..identity import PublicIdentity, fingerprint_of
from ..users.device_list import NO_LIST, DeviceList
from ..users.user_key import device_user
from ..wrap import WrapKem
from .lists import read_lists, write_lists

MAX_PROOF_FILE_BYTES: Final = 64 << 10


@dataclass(frozen=True)
class RosterEntry:
    """One member of one epoch: id, keys, fingerprint and the digest of its wrapped key."""

    participant_id: str
    x25519: bytes
    ed25519: bytes
    xwing: bytes
    wrapped_digest: bytes
    fingerprint: bytes
    # The digest of the user's device list this device was taken from; NO_LIST for a participant
    # that is not a user's device.
    list_digest: bytes = NO_LIST

    @classmethod
    def make(cls, participant_id: str, x25519: bytes, ed25519: bytes, xwing_public: bytes,
             wrapped_digest: bytes, list_digest: bytes = NO_LIST) -> RosterEntry:
        """An entry from raw keys, its fingerprint computed; the keys are not validated here."""
        fingerprint = fingerprint_of(participant_id, x25519, ed25519, xwing_public or None)
        return cls(participant_id, x25519, ed25519, xwing_public, wrapped_digest, fingerprint, list_digest)

    @classmethod
    def of(cls, identity: PublicIdentity, wrapped_digest: bytes, list_digest: bytes = NO_LIST) -> RosterEntry:
        """The entry of a public identity whose wrapped key has the SHA-256 digest ``wrapped_digest``."""
        return cls(identity.participant_id, identity.x25519, identity.ed25519, identity.xwing or b"",
                   wrapped_digest, identity.fingerprint, list_digest)

    @property
    def user_id(self) -> str | None:
        """The user whose device this is, or None for a participant that is not a user's device."""
        return None if self.list_digest == NO_LIST else device_user(self.participant_id)

    def leaf(self) -> bytes:
        """The entry's leaf hash in the member tree."""
        return member_leaf(self.participant_id, self.fingerprint, self.list_digest, self.wrapped_digest)

    def identity(self) -> PublicIdentity:
        """The member's public identity; raises InvalidKeyError (E_BAD_KEY) for an unusable key."""
        return PublicIdentity(self.participant_id, x25519=self.x25519, ed25519=self.ed25519,
                              xwing=self.xwing or None)

    def signer(self) -> PublicIdentity:
        """The member as a signer: its Ed25519 key validated (E_BAD_KEY), the other keys unused."""
        return PublicIdentity._signer_from_roster(self.participant_id, x25519=self.x25519, ed25519=self.ed25519,
                                                  xwing=self.xwing or None, fingerprint=self.fingerprint)

    def write_keys(self, w: Writer) -> Writer:
        """Writes the id and keys (not the wrapped-key digest) to ``w`` and returns it."""
        return w.str8(self.participant_id).raw(self.x25519).raw(self.ed25519).bytes16(self.xwing).raw(self.list_digest)

    def write(self, w: Writer) -> Writer:
        """Writes the id, keys and wrapped-key digest to ``w`` and returns it."""
        return self.write_keys(w).raw(self.wrapped_digest)

    @classmethod
    def read(cls, r: Reader, field: str, kem: WrapKem | None) -> RosterEntry:
        """Reads what write() wrote. Raises FormatError (E_FORMAT) naming the field (as ``read_keys``)."""
        participant_id, x25519, ed25519, pq, digest = read_keys(r, field, kem)
        return cls.make(participant_id, x25519, ed25519, pq, r.raw(32, f"{field}.wrapped_digest"), digest)


def read_keys(r: Reader, field: str, kem: WrapKem | None) -> tuple[str, bytes, bytes, bytes, bytes]:
    """(id, X25519, Ed25519, X-Wing, list digest) as written by write_keys(), unvalidated. Raises FormatError
    (E_FORMAT) naming the field: a bad id, truncation, an X-Wing key of another size (or none in an X-Wing
    epoch), a device list digest on an id that is not "user/name"."""
    participant_id = check_id(r.str8(f"{field}.id"), f"{field}.id")
    if r.remaining() >= 64:
        keys = r.raw(64, f"{field}.x25519")
        x25519, ed25519 = keys[:32], keys[32:]
    else:  # truncated: name the key that was cut
        x25519, ed25519 = r.raw(32, f"{field}.x25519"), r.raw(32, f"{field}.ed25519")
    pq = r.bytes16(f"{field}.xwing")
    if len(pq) not in (0, xwing.PUBLIC_KEY_SIZE) or (kem is WrapKem.MLKEM768_X25519 and not pq):
        raise FormatError(f"{field}.xwing", f"must be {xwing.PUBLIC_KEY_SIZE} bytes (or empty in a classic epoch)")
    digest = r.raw(32, f"{field}.list_digest")
    # An id with "/" is a user's device and nothing else: an admin cannot list a "bob/x" that bob's list lacks.
    if (digest != NO_LIST) != ("/" in participant_id) or ("/" in participant_id and device_user(participant_id) is None):
        raise FormatError(f"{field}.list_digest", "a user's device (id user/name) names its device list; nothing else does")
    return participant_id, x25519, ed25519, pq, digest


def member_leaf(participant_id: str, fingerprint: bytes, list_digest: bytes, wrapped_digest: bytes) -> bytes:
    """The member tree's leaf hash of (id, identity fingerprint, device list digest, wrapped-key digest)."""
    return merkle.leaf_hash(Writer().str8(participant_id).raw(fingerprint).raw(list_digest).raw(wrapped_digest)
                            .getvalue())


@dataclass(frozen=True)
class Member:
    """A bundle's member entry: the roster entry plus the wrapped key itself."""

    entry: RosterEntry
    wrapped: bytes

    @property
    def participant_id(self) -> str:
        """The member's participant id."""
        return self.entry.participant_id

    @classmethod
    def make(cls, identity: PublicIdentity, wrapped: bytes, list_digest: bytes = NO_LIST) -> Member:
        """The member entry of ``identity`` (a device of the list of digest ``list_digest``) with its wrapped key."""
        return cls(RosterEntry.of(identity, hashlib.sha256(wrapped).digest(), list_digest), wrapped)

    def write(self, w: Writer) -> None:
        """Writes the id, keys and the wrapped key itself to ``w``."""
        self.entry.write_keys(w).bytes16(self.wrapped)

    @classmethod
    def read(cls, r: Reader, kem: WrapKem, field: str = "member") -> Member:
        """Reads a member entry of a ``kem`` epoch. Raises FormatError (E_FORMAT) naming the field, e.g. a
        wrapped key that is not ``kem.wrapped_size`` bytes."""
        participant_id, x25519, ed25519, pq, digest = read_keys(r, field, kem)
        wrapped = r.bytes16(f"{field}.wrapped_key")
        if len(wrapped) != kem.wrapped_size:
            raise FormatError(f"{field}.wrapped_key", f"must be {kem.wrapped_size} bytes")
        return cls(RosterEntry.make(participant_id, x25519, ed25519, pq, hashlib.sha256(wrapped).digest(), digest),
                   wrapped)


@dataclass(frozen=True)
class MemberProof:
    """One identity's leaf and inclusion path in an epoch's member tree."""

    entry: RosterEntry
    index: int
    path: tuple[bytes, ...]

    def write(self, w: Writer) -> Writer:
        """Writes the entry, index and path to ``w`` and returns it."""
        self.entry.write(w).u32(self.index)
        return write_path(w, self.path)

    @classmethod
    def read(cls, r: Reader, field: str, kem: WrapKem | None = None) -> MemberProof:
        """Reads what write() wrote, without verifying it. Raises FormatError (E_FORMAT) naming the field."""
        entry = RosterEntry.read(r, field, kem)
        return cls(entry, r.u32(f"{field}.index"), read_path(r, f"{field}.path"))

    def verifies(self, size: int, root: bytes) -> bool:
        """Whether the path proves the entry's leaf at ``index`` of a tree of ``size`` leaves under ``root``."""
        return merkle.verify_inclusion(self.entry.leaf(), self.index, size, self.path, root)


def write_path(w: Writer, path: Sequence[bytes]) -> Writer:
    """Writes an inclusion path (a count byte, then the hashes) to ``w`` and returns it."""
    w.u8(len(path))
    for node in path:
        w.raw(node)
    return w


def read_path(r: Reader, field: str) -> tuple[bytes, ...]:
    """Reads an inclusion path. Raises FormatError (E_FORMAT) naming ``field`` when truncated or longer than
    any tree allows."""
    size = r.u8(field)
    if size > merkle.MAX_PATH:
        raise FormatError(field, "longer than any tree allows")
    nodes = r.raw(merkle.HASH_SIZE * size, field)  # one read, then slices: paths are on the join's hot path
    return tuple(nodes[i : i + merkle.HASH_SIZE] for i in range(0, len(nodes), merkle.HASH_SIZE))


@dataclass(frozen=True)
class MemberProofFile:
    """A member proof as the product server serves it: which room and epoch it is for.

    Parsing does not verify the proof: ``KeyRing.accept`` checks it against the held epoch's root."""

    room_id: str
    epoch: int
    proof: MemberProof
    lists: tuple[DeviceList, ...] = ()

    def to_bytes(self) -> bytes:
        """The file's bytes: magic, room id, epoch, proof, the device list the proof's entry names."""
        w = self.proof.write(Writer(labels.MAGIC_MEMBER_PROOF).str8(self.room_id).u32(self.epoch))
        return write_lists(w, self.lists).getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> MemberProofFile:
        """Parses a member proof file of at most 64 KiB. Raises FormatError (E_FORMAT) naming the field."""
        r = open_reader(data, labels.MAGIC_MEMBER_PROOF, "member proof", MAX_PROOF_FILE_BYTES)
        room_id = check_id(r.str8("room_id"), "room_id")
        epoch = check_epoch(r.u32("epoch"))
        proof = MemberProof.read(r, "proof")
        lists = read_lists(r, 1)
        r.end()
        return cls(room_id, epoch, proof, lists)


def open_reader(data: bytes, magic: bytes, what: str, limit: int) -> Reader:
    """A Reader past the 4-byte ``magic`` of ``data``. Raises FormatError (E_FORMAT) for data that is not
    bytes, is over ``limit`` bytes or has another magic."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise FormatError(what, "must be bytes")
    if len(data) > limit:
        raise FormatError(what, f"larger than {limit} bytes")
    if bytes(data[:4]) != magic:
        raise FormatError("magic", f"not a version {magic[3]} {what}")
    return Reader(bytes(data), 4)
