"""Bundles, slices and announcements: three deliveries of one signed epoch header (spec/bundle.md).

A bundle lists every member; a slice is one member's entry and path plus the rotator's proof;
an announcement is the signed header and the rotator's proof alone, for participants who are not
members of the epoch but keep the room's chain. Acceptance lives in verify.py.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

from typing import Final

from .. import labels
from ..encoding import Reader, Writer
from ..errors import AuthenticationError, FormatError
from ..hazmat import curves, merkle
from ..identity import Identity, PublicIdentity
from ..keys import RoomKey
from ..wrap import Progress, WrapKem, wrap_many
from .header import MAX_MEMBERS, NO_PREVIOUS, Admin, EpochHeader, Flag, RoomPolicy, check_admins
from ..users.device_list import NO_LIST, DeviceList
from ..users.user_key import device_user
from .lists import Lists, lists_for, read_lists, write_lists
from .members import Member, MemberProof, MemberProofFile, RosterEntry, open_reader, read_path, write_path

MAX_BUNDLE_BYTES: Final = 128 << 20
MAX_SLICE_BYTES: Final = 64 << 10
DEFAULT_POLICY: Final = RoomPolicy()


@dataclass(frozen=True)
class SignedHeader:
    """A header, its signature and the rotator's authority proof (member-rotated rooms only)."""

    header: EpochHeader
    signature: bytes
    authority: MemberProof | None

    def write(self, w: Writer) -> Writer:
        """Writes the header, signature and optional authority proof to ``w`` and returns it."""
        w.raw(self.header.to_bytes()).raw(self.signature)
        if self.authority is None:
            return w.u8(0)
        return self.authority.write(w.u8(1))

    @classmethod
    def read(cls, r: Reader) -> SignedHeader:
        """Reads what write() wrote, verifying nothing. Raises FormatError (E_FORMAT) naming the field, e.g.
        an authority presence byte other than 0 or 1."""
        header = EpochHeader.read(r)
        signature = r.raw(curves.SIGNATURE_SIZE, "signature")
        present = r.u8("authority")
        if present not in (0, 1):
            raise FormatError("authority", "presence byte must be 0 or 1")
        return cls(header, signature, MemberProof.read(r, "authority") if present else None)


def _read_announced(r: Reader, limit: int) -> tuple[SignedHeader, MemberProof, Lists]:
    """What an announcement is and a slice starts with: the signed header, the rotator's proof and at most
    ``limit`` device lists."""
    signed = SignedHeader.read(r)
    return signed, MemberProof.read(r, "rotator", signed.header.kem), read_lists(r, limit)


@dataclass(frozen=True)
class Announcement:
    """The signed header of an epoch with the rotator's member proof: a link of the chain."""

    signed: SignedHeader
    rotator: MemberProof
    lists: Lists = ()

    @property
    def header(self) -> EpochHeader:
        """The signed epoch header."""
        return self.signed.header

    def to_bytes(self) -> bytes:
        """The announcement's bytes."""
        return write_lists(self.rotator.write(self.signed.write(Writer(labels.MAGIC_EPOCH))), self.lists).getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Announcement:
        """Parses an announcement of at most 64 KiB; signature and proof are checked by ``KeyRing.accept``.
        Raises FormatError (E_FORMAT) naming the field."""
        r = open_reader(data, labels.MAGIC_EPOCH, "announcement", MAX_SLICE_BYTES)
        signed, rotator, lists = _read_announced(r, 1)
        r.end()
        return cls(signed, rotator, lists)


@dataclass(frozen=True)
class Slice:
    """One member's view of a bundle: the announcement plus its own entry and inclusion path."""

    signed: SignedHeader
    rotator: MemberProof
    member: Member
    index: int
    path: tuple[bytes, ...]
    lists: Lists = ()

    @property
    def header(self) -> EpochHeader:
        """The signed epoch header."""
        return self.signed.header

    def to_bytes(self) -> bytes:
        """The slice's bytes."""
        w = write_lists(self.rotator.write(self.signed.write(Writer(labels.MAGIC_SLICE))), self.lists)
        self.member.write(w)
        return write_path(w.u32(self.index), self.path).getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Slice:
        """Parses a slice of at most 64 KiB; signature and paths are checked by ``KeyRing.accept``.
        Raises FormatError (E_FORMAT) naming the field."""
        r = open_reader(data, labels.MAGIC_SLICE, "slice", MAX_SLICE_BYTES)
        signed, rotator, lists = _read_announced(r, 2)
        member = Member.read(r, signed.header.kem)
        index = r.u32("index")
        path = read_path(r, "path")
        r.end()
        return cls(signed, rotator, member, index, path, lists)


@dataclass(frozen=True)
class Bundle:
    """A whole rotation: the signed header and every member's entry."""

    signed: SignedHeader
    members: tuple[Member, ...]
    lists: Lists = ()
    # A cache of the member tree. init=False so that dataclasses.replace() starts it empty:
    # a copied cache would vouch for the old members of a bundle whose members were replaced.
    _tree: list[merkle.Tree] = field(default_factory=list, init=False, repr=False, compare=False)

    @property
    def header(self) -> EpochHeader:
        """The signed epoch header."""
        return self.signed.header

    def to_bytes(self) -> bytes:
        """The bundle's bytes."""
        w = write_lists(self.signed.write(Writer(labels.MAGIC_BUNDLE)), self.lists)
        for member in self.members:
            member.write(w)
        return w.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Bundle:
        """Parses a bundle of at most 128 MiB and runs check(); signature and tree are checked by
        ``KeyRing.accept``. Raises FormatError (E_FORMAT) naming the field."""
        r = open_reader(data, labels.MAGIC_BUNDLE, "bundle", MAX_BUNDLE_BYTES)
        signed = SignedHeader.read(r)
        lists = read_lists(r, signed.header.member_count)
        members = tuple(Member.read(r, signed.header.kem) for _ in range(signed.header.member_count))
        r.end()
        bundle = cls(signed, members, lists)
        bundle.check()
        return bundle

    def check(self) -> None:
        """The structural rules a parsed bundle obeys, for bundles built in memory too. Raises FormatError
        (E_FORMAT) unless ``member_count`` matches the members, sorted by id bytes with no duplicates."""
        if len(self.members) != self.header.member_count:
            raise FormatError("member_count", "does not match the members listed")
        for before, after in itertools.pairwise(self.members):
            if before.participant_id.encode() >= after.participant_id.encode():
                raise FormatError("members", "must be sorted by id with no duplicates")

    def check_object(self) -> None:
        """check(), plus what parsing guarantees for bytes: each entry's digest is its wrapped key's
        (an object built in memory could carry a replaced key under the old digest). Raises E_AUTH."""
        self.check()
        for member in self.members:
            if not hmac.compare_digest(hashlib.sha256(member.wrapped).digest(), member.entry.wrapped_digest):
                raise AuthenticationError()

    def tree(self) -> merkle.Tree:
        """The member tree of the listed members (built once)."""
        if not self._tree:
            self._tree.append(merkle.Tree([m.entry.leaf() for m in self.members]))
        return self._tree[0]

    def index_of(self, participant_id: str) -> int | None:
        """The index of a member id in the sorted member list, or None if it is not listed."""
        lo, hi, target = 0, len(self.members), participant_id.encode()
        while lo < hi:  # members are sorted by id bytes: bisect, not scan, for 100,000 members
            mid = (lo + hi) // 2
            if self.members[mid].participant_id.encode() < target:
                lo = mid + 1
            else:
                hi = mid
        return lo if lo < len(self.members) and self.members[lo].participant_id == participant_id else None

    def proof_file_for(self, participant_id: str) -> MemberProofFile:
        """A member's proof file (DVP): its proof and its device list. Raises KeyError for a non-member."""
        proof = self.proof_for(participant_id)
        return MemberProofFile(self.header.room_id, self.header.epoch, proof, self.lists_of([proof.entry]))

    def lists_of(self, entries: Sequence[RosterEntry]) -> Lists:
        """The device lists that these entries name, from this bundle's lists."""
        return lists_for(entries, {d.digest: d for d in self.lists})

    def proof_for(self, participant_id: str) -> MemberProof:
        """A member's proof in this epoch: what the server serves for a sender, and a rotator attaches.
        Raises KeyError for an id that is not a member."""
        index = self._require(participant_id)
        return MemberProof(self.members[index].entry, index, tuple(self.tree().path(index)))

    def slice_for(self, participant_id: str) -> Slice:
        """The slice of one member. Raises KeyError for an id that is not a member."""
        index = self._require(participant_id)
        rotator = self.proof_for(self.header.rotator_id)
        return Slice(self.signed, rotator, self.members[index], index, tuple(self.tree().path(index)),
                     self.lists_of([rotator.entry, self.members[index].entry]))

    def announcement(self) -> Announcement:
        """The epoch's announcement: the signed header, the rotator's member proof and its device list."""
        rotator = self.proof_for(self.header.rotator_id)
        return Announcement(self.signed, rotator, self.lists_of([rotator.entry]))

    def _require(self, participant_id: str) -> int:
        index = self.index_of(participant_id)
        if index is None:
            raise KeyError(participant_id)
        return index


@dataclass(frozen=True)
class Plan:
    """Everything a rotation decides besides the key and the members."""

    previous: bytes = NO_PREVIOUS
    policy: RoomPolicy = DEFAULT_POLICY
    admins: tuple[Admin, ...] = ()
    downgrade: bool = False
    authority: MemberProof | None = None


def build_bundle(rotator: Identity, key: RoomKey, members: Sequence[PublicIdentity], *, kem: WrapKem,
                 issued_at: int, plan: Plan, progress: Progress | None = None,
                 lists: Sequence[DeviceList] = ()) -> Bundle:
    """Wraps key to every member, builds the member tree and signs the header. A member on one of
    ``lists`` is entered as that user's device. Raises ValueError for a duplicate id or not 1 to 100,000
    members, FormatError (E_FORMAT) for a bad admin set, and what ``wrap_many`` raises (E_BAD_KEY: no
    X-Wing key in an X-Wing room; E_AUTH)."""
    ordered = sorted(members, key=lambda m: m.participant_id.encode())
    if len({m.participant_id for m in ordered}) != len(ordered):
        raise ValueError("duplicate member id")
    if not 1 <= len(ordered) <= MAX_MEMBERS:
        raise ValueError(f"a room has 1 to {MAX_MEMBERS} members")
    return assemble(rotator, key, ordered, wrap_many(key, ordered, kem, progress), kem=kem, issued_at=issued_at,
                    plan=plan, lists=lists)


def _digests(ordered: Sequence[PublicIdentity], lists: Sequence[DeviceList]) -> list[bytes]:
    """Each member's list digest: its user's list if that list names it with this fingerprint, else NO_LIST."""
    by_user = {d.user_id: d for d in lists}
    digests = []
    for member in ordered:
        device_list = by_user.get(device_user(member.participant_id) or "")
        listed = device_list.device(member.participant_id) if device_list else None
        on_list = listed is not None and listed.fingerprint == member.fingerprint
        digests.append(device_list.digest if device_list is not None and on_list else NO_LIST)
    return digests


def assemble(rotator: Identity, key: RoomKey, ordered: Sequence[PublicIdentity], wrapped: Sequence[bytes], *,
             kem: WrapKem, issued_at: int, plan: Plan, lists: Sequence[DeviceList] = ()) -> Bundle:
    """Builds the tree and signs, given members sorted by id and their wrapped keys. Raises FormatError
    (E_FORMAT) for a bad admin set."""
    check_admins(plan.admins)
    digests = _digests(ordered, lists)
    unlisted = [m.participant_id for m, d in zip(ordered, digests, strict=True) if d == NO_LIST and "/" in m.participant_id]
    if unlisted:
        raise ValueError(f"devices not on their users' device lists: {unlisted}")
    members = tuple(Member.make(m, w, d) for m, w, d in zip(ordered, wrapped, digests, strict=True))
    used = {m.entry.list_digest for m in members}
    lists = tuple(sorted((d for d in lists if d.digest in used), key=lambda d: d.user_id.encode()))
    tree = merkle.Tree([m.entry.leaf() for m in members])
    flags = (Flag.MEMBERS_MAY_ROTATE if plan.policy.members_may_rotate else Flag(0)) | (
        Flag.DOWNGRADE if plan.downgrade else Flag(0))
    header = EpochHeader(kem, key.suite, key.room_id, key.epoch, key.key_id, plan.previous, rotator.participant_id,
                         issued_at, flags, plan.policy, plan.admins, len(members), tree.root)
    bundle = Bundle(SignedHeader(header, rotator.sign(header.signed_bytes()), plan.authority), members, lists)
    bundle._tree.append(tree)
    return bundle
