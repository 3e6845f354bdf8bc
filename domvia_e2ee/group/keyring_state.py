"""The key ring's PLAINTEXT export form (spec/files.md). It holds room keys in the clear: store it only
inside the storage package's passphrase envelope (storage.keyring_file), never as it is.

Loading is strict and all-or-nothing: a bad field raises FormatError naming it, and no KeyRing is
returned half-built. The chain is re-checked on load (each header hashes into the next one's
`previous`), so a file edited without the passphrase cannot splice in another room's history.
"""

from __future__ import annotations

import hmac
import itertools
from collections.abc import Mapping
from typing import Any

from ..encoding import Reader, Writer, b64decode, b64encode, check_epoch, check_fields, check_id, get_int, get_str
from ..errors import AuthenticationError, FormatError, InvalidKeyError, PolicyError, UnauthorizedError
from ..hazmat import curves, merkle
from ..identity import Identity, PublicIdentity
from ..keys import MAX_MESSAGES_PER_SENDER, RoomKey
from ..users.device_list import DeviceList
from ..users.user_key import UserPublicKey
from .epoch import SOURCES, EpochRecord
from .forks import ForkEvidence
from .header import EpochHeader
from .keyring import KeyRing
from .members import MemberProof, RosterEntry

VERSION = 3
U64_MAX = (1 << 64) - 1
_FIELDS = ("v", "owner", "owner_fingerprint", "allow_unsigned", "replay_capacity", "live_epochs", "directory",
           "anchors", "rooms", "replay", "forks", "users", "lists", "restored", "backed_up")
_RECORD = ("header", "signature", "authority", "rotator", "secret", "roster", "complete", "source", "messages",
           "sealed", "rotator_lists", "withheld")


def _proof(proof: MemberProof | None) -> str | None:
    return None if proof is None else b64encode(proof.write(Writer()).getvalue())


def _dump_record(record: EpochRecord, owner_id: str) -> dict[str, Any]:
    return {
        "header": b64encode(record.header_bytes),
        "signature": None if record.signature is None else b64encode(record.signature),
        "authority": _proof(record.authority), "rotator": _proof(record.rotator),
        "secret": None if record.key is None else b64encode(bytes(record.key)),
        "roster": [b64encode(e.write(Writer()).getvalue()) for _, e in sorted(record.roster.items())],
        "complete": record.complete, "source": record.source, "messages": record.messages,
        "sealed": 0 if record.key is None else record.key.sealed_count(owner_id),
        "rotator_lists": [b64encode(d.digest) for d in record.rotator_lists], "withheld": record.withheld,
    }


def keyring_to_plaintext(ring: KeyRing) -> dict[str, Any]:
    """Every secret of the key ring, in the clear. Encrypt it (storage.keyring_file) before storing it."""
    owner = ring.owner
    return {
        "v": VERSION, "owner": owner.participant_id, "owner_fingerprint": b64encode(owner.public.fingerprint),
        "allow_unsigned": ring.allow_unsigned, "replay_capacity": ring._replay.capacity,
        "live_epochs": ring._replay.live_epochs,
        "directory": [i.to_dict() for i in sorted(ring.directory(), key=lambda i: i.participant_id)],
        "anchors": {room: sorted(b64encode(f) for f in fps) for room, fps in sorted(ring._anchors.items())},
        "rooms": {room: [_dump_record(ring.record(room, e), owner.participant_id) for e in ring.epochs(room)]
                  for room in ring.rooms()},
        "replay": ring._replay.dump(),
        "forks": [e.to_dict() for room in sorted(ring._forks) for e in ring._forks[room]],
        "users": [u.to_dict() for u in sorted(ring.users.users(), key=lambda u: u.user_id)],
        "lists": [b64encode(d.raw) for _, d in sorted(ring.users.by_digest().items())],
        "restored": sorted(ring._restored), "backed_up": sorted([r, e, k] for r, e, k in ring._backed_up),
    }


def _count(obj: dict[str, Any], key: str, high: int) -> int:
    """A count read back from the file: a negative sealed count would extend the nonce budget."""
    value = get_int(obj, key)
    if not 0 <= value <= high:
        raise FormatError(key, f"must be from 0 to {high}")
    return value


def _read_proof(text: Any, field: str) -> MemberProof | None:
    if text is None:
        return None
    r = Reader(b64decode(text, field))
    proof = MemberProof.read(r, field)
    r.end(field)
    return proof


def _read_entry(text: Any) -> RosterEntry:
    r = Reader(b64decode(text, "roster"))
    entry = RosterEntry.read(r, "roster", None)
    r.end("roster")
    return entry


def _load_lists(ring: KeyRing, users: Any, lists: Any) -> None:
    """Pinned user keys, then every held list, each verified again (a file edited without the passphrase
    must not plant a device list its user never signed)."""
    for item in users:
        ring.users.pin(UserPublicKey.from_dict(item))
    loaded = [DeviceList.from_bytes(b64decode(text, "lists")) for text in lists]
    for device_list in loaded:
        try:
            device_list.verify(ring.users.pinned(device_list.user_id))
        except (AuthenticationError, UnauthorizedError):
            raise FormatError("lists", f"a device list of {device_list.user_id!r} does not verify") from None
    ring.users.keep(sorted(loaded, key=lambda d: d.version))


def _load_record(obj: Any, room_id: str, owner_id: str, held: Mapping[bytes, DeviceList]) -> EpochRecord:
    if not isinstance(obj, dict):
        raise FormatError("rooms.epoch", "must be an object")
    check_fields(obj, _RECORD)
    header_bytes = b64decode(obj["header"], "header")
    header = EpochHeader.from_bytes(header_bytes)
    if header.room_id != room_id:
        raise FormatError("header", "belongs to another room")
    key = None
    if obj["secret"] is not None:
        key = RoomKey(b64decode(obj["secret"], "secret", size=32), room_id=room_id, epoch=header.epoch,
                      suite=header.suite)
        if not key.matches(header.key_id):
            raise FormatError("secret", "does not match the header's key id")
        key._restore_sealed_count(owner_id, _count(obj, "sealed", MAX_MESSAGES_PER_SENDER))
    roster = {e.participant_id: e for e in (_read_entry(t) for t in obj["roster"])}
    source = get_str(obj, "source")
    if source not in SOURCES or not isinstance(obj["complete"], bool):
        raise FormatError("source", "unknown source or malformed completeness")
    signature = None if obj["signature"] is None else b64decode(obj["signature"], "signature", size=64)
    try:
        rotator_lists = tuple(held[b64decode(d, "rotator_lists", size=32)] for d in obj["rotator_lists"])
    except KeyError:
        raise FormatError("rotator_lists", "names a device list the key ring does not hold") from None
    record = EpochRecord(header, header_bytes, signature, _read_proof(obj["authority"], "authority"),
                         _read_proof(obj["rotator"], "rotator"), key, roster, obj["complete"], source,
                         _count(obj, "messages", U64_MAX), rotator_lists, _flag(obj, "withheld"))
    _check_signed(record)
    return record


def _flag(obj: dict[str, Any], key: str) -> bool:
    if not isinstance(obj[key], bool):
        raise FormatError(key, "must be true or false")
    return bool(obj[key])


def _load_backup_state(ring: KeyRing, restored: Any, backed_up: Any) -> None:
    ring._restored = {check_id(r, "restored") for r in restored}
    for room, epoch, with_key in backed_up:
        if not isinstance(with_key, bool):
            raise FormatError("backed_up", "malformed entry")
        ring._backed_up.add((check_id(room, "backed_up"), check_epoch(epoch, "backed_up"), with_key))


def _check_signed(record: EpochRecord) -> None:
    """What a file edited without the passphrase could change is checked again: a full roster hashes to its
    header's root, and a signed header verifies under its rotator, whose proof verifies against the root.
    (The members of a partial roster were proved when received; their paths are not kept.)"""
    header = record.header
    if record.complete:
        entries = sorted(record.roster.values(), key=lambda e: e.participant_id.encode())
        if len(entries) != header.member_count or not hmac.compare_digest(
                merkle.Tree([e.leaf() for e in entries]).root, header.root):
            raise FormatError("roster", "does not match the signed member tree")
    if record.signature is None:
        return
    rotator = record.rotator
    if rotator is None or rotator.entry.participant_id != header.rotator_id or not rotator.verifies(
            header.member_count, header.root):
        raise FormatError("rotator", "does not prove the rotator's membership")
    try:
        curves.verify(rotator.entry.ed25519, record.signature, header.signed_bytes())
    except AuthenticationError:
        raise FormatError("signature", "does not verify") from None


def _load_room(ring: KeyRing, room_id: str, records: Any) -> None:
    loaded = [_load_record(r, room_id, ring.owner.participant_id, ring.users.by_digest()) for r in records]
    epochs = [r.epoch for r in loaded]
    if not loaded or epochs != list(range(epochs[0], epochs[0] + len(epochs))):
        raise FormatError("rooms", "epochs must be a contiguous range")
    for before, after in itertools.pairwise(loaded):
        if not hmac.compare_digest(after.header.previous, before.header.epoch_hash()):
            raise FormatError("rooms", "the epochs do not form a chain")
    ring._rooms[room_id] = {r.epoch: r for r in loaded}


def _load_replay(ring: KeyRing, rooms: Any) -> None:
    for room, epochs in dict(rooms).items():
        for epoch, closed, seen in epochs:
            entries = {(check_id(s, "replay"), check_id(m, "replay")): int(bits) for s, m, bits in seen}
            if not isinstance(closed, bool) or any(not 1 <= b <= 3 for b in entries.values()):
                raise FormatError("replay", "malformed entry")
            ring._replay.restore(check_id(room, "replay"), check_epoch(epoch, "replay"), closed, entries)


def keyring_from_plaintext(obj: dict[str, Any], owner: Identity) -> KeyRing:
    """The inverse of keyring_to_plaintext. Refuses a key ring of another identity, even under the same id.
    Raises FormatError (E_FORMAT) naming the bad field, for another owner, a broken chain or signature, or
    any malformed structure."""
    check_fields(obj, _FIELDS)
    if get_int(obj, "v") != VERSION:
        raise FormatError("v", "unsupported key ring version")
    if obj["owner"] != owner.participant_id or not hmac.compare_digest(
            b64decode(obj["owner_fingerprint"], "owner_fingerprint", size=32), owner.public.fingerprint):
        raise FormatError("owner", "this key ring belongs to another identity")
    if not isinstance(obj["allow_unsigned"], bool):
        raise FormatError("allow_unsigned", "must be true or false")
    try:
        ring = KeyRing(owner, replay_capacity=get_int(obj, "replay_capacity"), live_epochs=get_int(obj, "live_epochs"),
                       allow_unsigned=obj["allow_unsigned"])
        for item in obj["directory"]:
            identity = PublicIdentity.from_dict(item)
            if identity.participant_id != owner.participant_id:
                ring.add_identity(identity)
        for room, fingerprints in dict(obj["anchors"]).items():
            ring._anchors[check_id(room, "anchors")] = {b64decode(f, "anchors", size=32) for f in fingerprints}
        _load_lists(ring, obj["users"], obj["lists"])
        for room, records in dict(obj["rooms"]).items():
            _load_room(ring, check_id(room, "rooms"), records)
        _load_replay(ring, obj["replay"])
        _load_backup_state(ring, obj["restored"], obj["backed_up"])
        for item in obj["forks"]:
            ring._keep(ForkEvidence.from_dict(item))
    except (TypeError, ValueError, AttributeError, KeyError):
        raise FormatError("keyring", "malformed structure") from None
    except (InvalidKeyError, PolicyError) as error:  # an invalid or duplicated pinned identity: a bad file
        raise FormatError("directory", str(error)) from None
    return ring
