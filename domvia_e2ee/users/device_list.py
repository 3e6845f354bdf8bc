"""A user's signed, versioned device list (spec/users.md, "Device list").

The list names each device by id and identity fingerprint; member entries of an epoch name the list
they were built from by its digest, so "this device was on its user's list for that epoch" is a
hash comparison. Revoked devices stay listed with the last backup chunk they may have written, so
a lost device can neither come back nor write backups after its removal.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from .. import labels
from ..encoding import Reader, Writer, check_id
from ..errors import FormatError, UnauthorizedError
from ..hazmat import curves
from ..identity import FINGERPRINT_SIZE, PublicIdentity
from .user_key import UserKey, UserPublicKey, check_user_id, device_user

MAX_DEVICES: Final = 16
MAX_REVOKED: Final = 64
MAX_LIST_BYTES: Final = 16 << 10
MAX_VERSION: Final = 0xFFFFFFFF
MAX_ISSUED_AT: Final = 253_402_300_799  # the bound of epoch headers: 9999-12-31T23:59:59Z
NO_LIST: Final = bytes(32)  # the list digest of a participant that is not a user's device


@dataclass(frozen=True)
class ListedDevice:
    """A device on the list: its participant id ("user/name") and identity fingerprint."""

    device_id: str
    fingerprint: bytes


@dataclass(frozen=True)
class RevokedDevice:
    """A removed device (or a device's replaced keys) and the last backup chunk it may have written."""

    device_id: str
    fingerprint: bytes
    backup_seq_limit: int


@dataclass(frozen=True)
class DeviceList:
    """A parsed device list. Parsing checks the structure; verify() checks the user's signature."""

    user_key: UserPublicKey
    version: int
    issued_at: int
    devices: tuple[ListedDevice, ...]
    revoked: tuple[RevokedDevice, ...]
    signature: bytes
    raw: bytes = field(repr=False)
    digest: bytes = field(repr=False)

    @property
    def user_id(self) -> str:
        """The user whose devices these are."""
        return self.user_key.user_id

    def to_bytes(self) -> bytes:
        """The list's bytes, as signed."""
        return self.raw

    @classmethod
    def from_bytes(cls, data: bytes) -> DeviceList:
        """Parses a list of at most 16 KiB, verifying nothing. Raises FormatError (E_FORMAT) naming the field,
        E_BAD_KEY for an invalid user key."""
        if not isinstance(data, bytes | bytearray | memoryview) or len(data) > MAX_LIST_BYTES:
            raise FormatError("device_list", f"must be at most {MAX_LIST_BYTES} bytes")
        data = bytes(data)
        if data[:4] != labels.MAGIC_DEVICE_LIST:
            raise FormatError("magic", "not a version 3 device list")
        r = Reader(data, 4)
        user_id = check_user_id(r.str8("user_id"), "user_id")
        user_key = UserPublicKey(user_id, r.raw(curves.PUBLIC_KEY_SIZE, "user_key"))
        version, issued_at = _read_bounds(r)
        devices = _read_devices(r, user_id)
        revoked = _read_revoked(r, user_id, devices)
        signature = r.raw(curves.SIGNATURE_SIZE, "signature")
        r.end()
        return cls(user_key, version, issued_at, devices, revoked, signature, data, list_digest(data))

    def verify(self, pinned: UserPublicKey | None = None) -> DeviceList:
        """Returns self if the user key signed it (and is ``pinned``, when given). Raises AuthenticationError
        (E_AUTH) for a bad signature, UnauthorizedError (E_UNAUTHORIZED) for another key than the pinned one."""
        if pinned is not None and pinned != self.user_key:
            raise UnauthorizedError(f"the device list of {self.user_id!r} is signed by a key other than the pinned one")
        curves.verify(self.user_key.ed25519, self.signature, labels.SIG_DEVICE_LIST + self.raw[:-64])
        return self

    def device(self, device_id: str) -> ListedDevice | None:
        """The listed device of that id, or None."""
        return next((d for d in self.devices if d.device_id == device_id), None)

    def require(self, device_id: str, fingerprint: bytes) -> None:
        """Raises UnauthorizedError (E_UNAUTHORIZED) unless the device is listed with this fingerprint."""
        listed = self.device(device_id)
        if listed is None or not hmac.compare_digest(listed.fingerprint, fingerprint):
            raise UnauthorizedError(f"{device_id!r} is not on version {self.version} of its user's device list")

    def revocation(self, device_id: str, fingerprint: bytes) -> RevokedDevice | None:
        """The revocation of that device and fingerprint, or None."""
        return next((d for d in self.revoked if d.device_id == device_id
                     and hmac.compare_digest(d.fingerprint, fingerprint)), None)


def list_digest(raw: bytes) -> bytes:
    """SHA-256(DEVICE_LIST_HASH || list bytes): how member entries name a list."""
    return hashlib.sha256(labels.DEVICE_LIST_HASH + raw).digest()


def _read_bounds(r: Reader) -> tuple[int, int]:
    version = r.u32("version")
    if version == 0:
        raise FormatError("version", "must be 1 or more")
    issued_at = r.u64("issued_at")
    if issued_at > MAX_ISSUED_AT:
        raise FormatError("issued_at", f"must be from 0 to {MAX_ISSUED_AT}")
    return version, issued_at


def _read_device_id(r: Reader, field: str, user_id: str) -> str:
    device_id = check_id(r.str8(field), field)
    if device_user(device_id) != user_id:
        raise FormatError(field, f"a device of {user_id!r} has an id {user_id!r}/name")
    return device_id


def _read_devices(r: Reader, user_id: str) -> tuple[ListedDevice, ...]:
    count = r.u8("device_count")
    if not 1 <= count <= MAX_DEVICES:
        raise FormatError("device_count", f"must be 1 to {MAX_DEVICES}")
    devices = tuple(ListedDevice(_read_device_id(r, "device.id", user_id), r.raw(FINGERPRINT_SIZE, "device.fingerprint"))
                    for _ in range(count))
    _check_sorted(d.device_id for d in devices)
    return devices


def _read_revoked(r: Reader, user_id: str, devices: Sequence[ListedDevice]) -> tuple[RevokedDevice, ...]:
    count = r.u8("revoked_count")
    if count > MAX_REVOKED:
        raise FormatError("revoked_count", f"must be at most {MAX_REVOKED}")
    revoked = tuple(RevokedDevice(_read_device_id(r, "revoked.id", user_id), r.raw(FINGERPRINT_SIZE, "revoked.fingerprint"),
                                  r.u32("revoked.backup_seq_limit")) for _ in range(count))
    keys = [(d.device_id.encode(), d.fingerprint) for d in revoked]
    if keys != sorted(set(keys)):
        raise FormatError("revoked", "must be sorted by (id, fingerprint) with no duplicates")
    listed = {(d.device_id, d.fingerprint) for d in devices}
    if any((d.device_id, d.fingerprint) in listed for d in revoked):
        raise FormatError("revoked", "a revoked device and fingerprint cannot be listed")
    return revoked


def _check_sorted(ids: Iterable[str]) -> None:
    for before, after in itertools.pairwise(ids):
        if before.encode() >= after.encode():
            raise FormatError("devices", "must be sorted by id with no duplicates")


def sign_device_list(user: UserKey, *, version: int, devices: Iterable[PublicIdentity],
                     revoked: Iterable[RevokedDevice] = (), issued_at: int) -> DeviceList:
    """A device list signed by the user key. Raises FormatError (E_FORMAT) for what parsing would refuse:
    a device not named "user/name", no device or more than 16, a revoked device still listed."""
    listed = sorted((ListedDevice(d.participant_id, d.fingerprint) for d in devices), key=lambda d: d.device_id.encode())
    gone = sorted(revoked, key=lambda d: (d.device_id.encode(), d.fingerprint))
    if len(gone) > MAX_REVOKED or not 1 <= len(listed) <= MAX_DEVICES:
        raise FormatError("devices", f"1 to {MAX_DEVICES} devices and at most {MAX_REVOKED} revoked ones")
    w = Writer(labels.MAGIC_DEVICE_LIST).str8(user.user_id).raw(user.public.ed25519).u32(version).u64(issued_at)
    w.u8(len(listed))
    for device in listed:
        w.str8(device.device_id).raw(device.fingerprint)
    w.u8(len(gone))
    for revocation in gone:
        w.str8(revocation.device_id).raw(revocation.fingerprint).u32(revocation.backup_seq_limit)
    body = w.getvalue()
    if not 1 <= version <= MAX_VERSION:
        raise FormatError("version", "must be 1 to 2^32 - 1")
    return DeviceList.from_bytes(body + user.sign(labels.SIG_DEVICE_LIST + body))


def next_device_list(user: UserKey, current: DeviceList, *, devices: Iterable[PublicIdentity],
                     backup_seqs: dict[str, int] | None = None, issued_at: int) -> DeviceList:
    """The next version of ``current`` with exactly ``devices``: every device or key it drops is revoked,
    with the last backup chunk the server showed for it (``backup_seqs``, device id to seq; 0 if absent)."""
    devices = list(devices)
    kept = {(d.participant_id, d.fingerprint) for d in devices}
    seqs = backup_seqs or {}
    dropped = [RevokedDevice(d.device_id, d.fingerprint, seqs.get(d.device_id, 0))
               for d in current.devices if (d.device_id, d.fingerprint) not in kept]
    still = [d for d in current.revoked if (d.device_id, d.fingerprint) not in kept]
    return sign_device_list(user, version=current.version + 1, devices=devices, revoked=still + dropped,
                            issued_at=issued_at)
