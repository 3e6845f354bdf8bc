"""The signed epoch header (spec/bundle.md, "Header"): one link of a room's chain.

A header commits to the previous epoch's header by hash, to the room's policy and admin set,
and to the member tree, so epoch E's header commits to the room's whole history up to E.
"""

from __future__ import annotations

import enum
import hashlib
import struct
from dataclasses import dataclass, field
from typing import Final

from .. import labels
from ..encoding import Reader, Writer, check_epoch, check_id
from ..errors import FormatError
from ..hazmat import merkle
from ..hazmat.suites import Suite
from ..keys import KEY_ID_SIZE
from ..wrap import WrapKem

MAX_MEMBERS: Final = 100_000
MAX_ADMINS: Final = 32
MAX_ISSUED_AT: Final = 253_402_300_799  # 9999-12-31T23:59:59Z: any later time cannot be shown as a date
MAX_LIMIT: Final = 0xFFFF_FFFF
NO_PREVIOUS: Final = bytes(32)
HASH_SIZE: Final = 32
_MIDDLE: Final = struct.Struct(">QBII")  # issued_at, flags, max_messages, max_age_seconds


class Flag(enum.IntFlag):
    """Header flag bits: ``MEMBERS_MAY_ROTATE`` (the policy) and ``DOWNGRADE`` (X-Wing to classic KEM)."""

    MEMBERS_MAY_ROTATE = 1
    DOWNGRADE = 2


KNOWN_FLAGS: Final = Flag.MEMBERS_MAY_ROTATE | Flag.DOWNGRADE


@dataclass(frozen=True)
class RoomPolicy:
    """What the room's admins decided, signed in every header: who rotates and when a rotation is due.
    Defaults follow Megolm (100 messages or 7 days); only admins may rotate by default.

    Raises FormatError (E_FORMAT) naming the field for a limit outside 1 to 2^32 - 1 or a
    non-bool ``members_may_rotate``."""

    max_messages: int = 100
    max_age_seconds: int = 7 * 24 * 3600
    members_may_rotate: bool = False

    def __post_init__(self) -> None:
        for name in ("max_messages", "max_age_seconds"):
            value = getattr(self, name)
            if type(value) is not int or not 1 <= value <= MAX_LIMIT:
                raise FormatError(name, f"must be an integer from 1 to {MAX_LIMIT}")
        if not isinstance(self.members_may_rotate, bool):
            raise FormatError("members_may_rotate", "must be true or false")


Admin = tuple[str, bytes]  # (participant id, identity fingerprint)


@dataclass(frozen=True)
class EpochHeader:
    """The signed part of a bundle, slice or announcement. Parsing raises FormatError (E_FORMAT) naming the field."""

    kem: WrapKem
    suite: Suite
    room_id: str
    epoch: int
    key_id: bytes
    previous: bytes
    rotator_id: str
    issued_at: int
    flags: Flag
    policy: RoomPolicy
    admins: tuple[Admin, ...]
    member_count: int
    root: bytes
    # The bytes it was parsed from, or once serialised. init=False so that dataclasses.replace()
    # starts it empty: a copied cache would sign and hash the old header's bytes.
    _raw: list[bytes] = field(default_factory=list, init=False, repr=False, compare=False)

    def to_bytes(self) -> bytes:
        """The header's bytes: those it was parsed from, else its serialisation (cached)."""
        if not self._raw:
            self._raw.append(self._serialise())
        return self._raw[0]

    def _serialise(self) -> bytes:
        w = (Writer().u8(self.kem).u8(self.suite).str8(self.room_id).u32(self.epoch).raw(self.key_id)
             .raw(self.previous).str8(self.rotator_id).u64(self.issued_at).u8(self.flags)
             .u32(self.policy.max_messages).u32(self.policy.max_age_seconds).u8(len(self.admins)))
        for admin_id, fingerprint in self.admins:
            w.str8(admin_id).raw(fingerprint)
        return w.u32(self.member_count).raw(self.root).getvalue()

    def signed_bytes(self) -> bytes:
        """What the rotator signs: the epoch signature label, then the header's bytes."""
        return labels.SIG_EPOCH + self.to_bytes()

    def epoch_hash(self) -> bytes:
        """This header's hash, which the next epoch's header carries as ``previous``."""
        return epoch_hash(self.to_bytes())

    def is_admin(self, participant_id: str, fingerprint: bytes) -> bool:
        """Whether (participant id, identity fingerprint) is in the header's admin set."""
        return (participant_id, fingerprint) in self.admins

    def governance(self) -> tuple[object, ...]:
        """What only an admin may change from one epoch to the next."""
        return (self.kem, self.suite, self.flags & Flag.MEMBERS_MAY_ROTATE, self.policy, self.admins)

    @classmethod
    def read(cls, r: Reader) -> EpochHeader:
        """Reads one header from ``r``, keeping its bytes. Raises FormatError (E_FORMAT) naming the field."""
        start = r.pos
        header = cls._read(r)
        header._raw.append(r.slice_from(start))
        return header

    @classmethod
    def _read(cls, r: Reader) -> EpochHeader:
        kem = WrapKem.from_wire(r.u8("kem"))
        suite = Suite.from_wire(r.u8("suite"))
        room_id = check_id(r.str8("room_id"), "room_id")
        epoch = check_epoch(r.u32("epoch"))
        key_id = r.raw(KEY_ID_SIZE, "key_id")
        previous = _check_previous(r.raw(HASH_SIZE, "previous"), epoch)
        rotator_id = check_id(r.str8("rotator_id"), "rotator_id")
        # One read for the fixed-size middle: headers are parsed on every join.
        if r.remaining() >= _MIDDLE.size:
            issued_at, flag_bits, max_messages, max_age = _MIDDLE.unpack(r.raw(_MIDDLE.size, "issued_at"))
        else:  # truncated: read field by field, so the error names the field that was cut
            issued_at, flag_bits = r.u64("issued_at"), r.u8("flags")
            max_messages, max_age = r.u32("max_messages"), r.u32("max_age_seconds")
        _bounded(issued_at, "issued_at", 0, MAX_ISSUED_AT)
        flags = _check_flags(flag_bits, epoch)
        policy = RoomPolicy(_bounded(max_messages, "max_messages", 1, MAX_LIMIT),
                            _bounded(max_age, "max_age_seconds", 1, MAX_LIMIT), bool(flags & Flag.MEMBERS_MAY_ROTATE))
        admins = _read_admins(r)
        count = _bounded(r.u32("member_count"), "member_count", 1, MAX_MEMBERS)
        return cls(kem, suite, room_id, epoch, key_id, previous, rotator_id, issued_at, flags, policy, admins,
                   count, r.raw(merkle.HASH_SIZE, "root"))

    @classmethod
    def from_bytes(cls, data: bytes) -> EpochHeader:
        """Parses exactly one header. Raises FormatError (E_FORMAT) naming the field, or for trailing bytes."""
        r = Reader(bytes(data))
        header = cls.read(r)
        r.end()
        return header


def epoch_hash(header_bytes: bytes) -> bytes:
    """SHA-256 of the epoch-hash label and a header's bytes: the next header's ``previous``."""
    return hashlib.sha256(labels.EPOCH_HASH + header_bytes).digest()


def _bounded(value: int, field: str, low: int, high: int) -> int:
    if not low <= value <= high:
        raise FormatError(field, f"must be from {low} to {high}")
    return value


def _check_previous(previous: bytes, epoch: int) -> bytes:
    if (previous == NO_PREVIOUS) != (epoch == 1):
        raise FormatError("previous", "must be all zero exactly in epoch 1")
    return previous


def _check_flags(value: int, epoch: int) -> Flag:
    if value & ~int(KNOWN_FLAGS):
        raise FormatError("flags", "unknown flag bits")
    if epoch == 1 and value & Flag.DOWNGRADE:
        raise FormatError("flags", "epoch 1 cannot be a downgrade")
    return Flag(value)


def _read_admins(r: Reader) -> tuple[Admin, ...]:
    count = _bounded(r.u8("admin_count"), "admin_count", 1, MAX_ADMINS)
    admins = tuple((check_id(r.str8("admin.id"), "admin.id"), r.raw(32, "admin.fingerprint")) for _ in range(count))
    check_admins(admins)
    return admins


def check_admins(admins: tuple[Admin, ...]) -> None:
    """Raises FormatError (E_FORMAT, field ``admins``) unless there are 1 to 32 admins, sorted by id bytes,
    no id twice."""
    ids = [a.encode() for a, _ in admins]
    if not 1 <= len(ids) <= MAX_ADMINS or ids != sorted(set(ids)):
        raise FormatError("admins", f"1 to {MAX_ADMINS}, sorted by id with no duplicates")
