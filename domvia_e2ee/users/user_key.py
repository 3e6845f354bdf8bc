"""A user's long-term signing key (spec/users.md, "User key").

A user is verified once, by the safety number of its user key; the user key signs the user's device
list, so every device on the list is verified through it. UserKey holds the private half and is
never printed; UserPublicKey is what other members pin.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Any, ClassVar, Final

from .. import labels
from ..encoding import JsonText, b64decode, b64encode, check_fields, check_id, dumps, get_int, loads_object
from ..errors import FormatError, UsageError
from ..hazmat import curves

USER_KEY_VERSION: Final = 1


def user_fingerprint(user_id: str, ed25519: bytes) -> bytes:
    """SHA-256(USER_FINGERPRINT || str8(user_id) || ed25519)."""
    name = user_id.encode("ascii")
    return hashlib.sha256(labels.USER_FINGERPRINT + bytes((len(name),)) + name + ed25519).digest()


class UserPublicKey:
    """A user's id and public signing key. Compare with ==; one safety number per user."""

    __slots__ = ("user_id", "ed25519", "fingerprint")

    def __init__(self, user_id: str, ed25519: bytes) -> None:
        self.user_id = check_user_id(user_id, "user_id")
        self.ed25519 = curves.check_ed25519_public(bytes(ed25519), "user_key")
        self.fingerprint = user_fingerprint(self.user_id, self.ed25519)

    def __repr__(self) -> str:
        return f"UserPublicKey({self.user_id!r}, fingerprint={self.fingerprint.hex()[:16]}…)"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, UserPublicKey):
            return NotImplemented
        return hmac.compare_digest(self.fingerprint, other.fingerprint)

    def __hash__(self) -> int:
        return hash(self.fingerprint)

    @property
    def safety_number(self) -> str:
        """30 digits in six groups, compared out of band once per user (not per device)."""
        fp = self.fingerprint
        return " ".join(f"{int.from_bytes(fp[i:i + 5], 'big') % 100000:05d}" for i in range(0, 30, 5))

    def to_dict(self) -> dict[str, Any]:
        """{"v": 1, "user": id, "sig": base64url Ed25519 key}: what a .user.pub file holds."""
        return {"v": USER_KEY_VERSION, "user": self.user_id, "sig": b64encode(self.ed25519)}

    def to_json(self) -> JsonText:
        """The canonical JSON text of to_dict()."""
        return JsonText(dumps(self.to_dict()).decode("ascii"))

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> UserPublicKey:
        """Parses to_dict()'s object. Raises FormatError (E_FORMAT) naming the field, E_BAD_KEY for the key."""
        check_fields(obj, ("v", "user", "sig"))
        if get_int(obj, "v") != USER_KEY_VERSION:
            raise FormatError("v", "unsupported user key version")
        return cls(check_user_id(obj["user"], "user"), b64decode(obj["sig"], "sig", size=curves.PUBLIC_KEY_SIZE))

    @classmethod
    def from_json(cls, data: bytes | str) -> UserPublicKey:
        """Parses a .user.pub file (strict JSON, at most 1 KiB)."""
        return cls.from_dict(loads_object(data, "user key", max_bytes=1024))


class UserKey:
    """The private user signing key. Never printed; SIZE is its seed's size."""

    SIZE: ClassVar[int] = curves.SEED_SIZE
    __slots__ = ("_signing", "public")

    def __init__(self, user_id: str, *, seed: bytes) -> None:
        if not isinstance(seed, bytes | bytearray) or len(seed) != self.SIZE:
            raise UsageError(f"a user key seed is {self.SIZE} bytes")
        self._signing = curves.SigningKey(bytes(seed))
        self.public = UserPublicKey(user_id, self._signing.public)

    @classmethod
    def generate(cls, user_id: str) -> UserKey:
        """A fresh user key for ``user_id``."""
        return cls(user_id, seed=os.urandom(cls.SIZE))

    @property
    def user_id(self) -> str:
        """The user's id."""
        return self.public.user_id

    def __repr__(self) -> str:
        return f"UserKey({self.user_id!r}, <private>)"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, UserKey):
            return NotImplemented
        return self.public == other.public  # the public key is a function of the seed

    def __hash__(self) -> int:
        return hash(self.public)

    def sign(self, message: bytes) -> bytes:
        """An Ed25519 signature; callers add the label of what they sign."""
        return self._signing.sign(message)

    def _seed_for_file(self) -> bytes:
        """The seed, for the key file writer only (storage/user_file.py)."""
        return bytes(self._signing._expanded[:curves.SEED_SIZE])  # libsodium keeps seed || public


def check_user_id(value: object, field: str) -> str:
    """A user id: an id (spec/encoding.md) without '/', which separates a user from its device names."""
    user_id = check_id(value, field)
    if "/" in user_id or len(user_id) > 96:
        raise FormatError(field, "a user id has at most 96 characters and no '/'")
    return user_id


def device_user(device_id: str) -> str | None:
    """The user id of a device id "user/name", or None for a participant that is not a user's device."""
    user, sep, name = device_id.partition("/")
    return user if sep and name and "/" not in name else None
