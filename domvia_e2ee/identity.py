"""Participant identities: an X25519 key to receive wrapped keys, an Ed25519 key to sign,
and optionally an X-Wing (ML-KEM-768 + X25519) key for post-quantum wrapping.

PublicIdentity is what others hold; Identity adds the private halves and is never printed.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Any, ClassVar, Final

from . import labels
from .encoding import (
    b64decode, b64encode, check_fields, check_id, dumps, get_int, get_str, loads_object,
)
from .errors import FormatError
from .hazmat import curves, xwing

FINGERPRINT_SIZE: Final = 32
IDENTITY_VERSION: Final = 1


def _jwk(crv: str, public: bytes) -> dict[str, str]:
    return {"crv": crv, "kty": "OKP", "x": b64encode(public)}


def _read_jwk(obj: object, field: str, crv: str) -> bytes:
    if not isinstance(obj, dict):
        raise FormatError(field, "must be a JWK object")
    check_fields(obj, ("kty", "crv", "x"))
    if obj["kty"] != "OKP" or obj["crv"] != crv:
        raise FormatError(field, f"must be an OKP JWK on {crv}")
    return b64decode(obj["x"], f"{field}.x", size=curves.PUBLIC_KEY_SIZE)


class PublicIdentity:
    """Someone's public keys and stable participant id. Immutable; compare with ==."""

    __slots__ = ("participant_id", "x25519", "ed25519", "xwing", "fingerprint")

    def __init__(self, participant_id: str, *, x25519: bytes, ed25519: bytes, xwing: bytes | None = None) -> None:
        self.participant_id = check_id(participant_id, "id")
        self.x25519 = curves.check_x25519_public(bytes(x25519), "enc")
        self.ed25519 = curves.check_ed25519_public(bytes(ed25519), "sig")
        self.xwing = None if xwing is None else xwing_public_checked(bytes(xwing))
        self.fingerprint: bytes = fingerprint_of(self.participant_id, self.x25519, self.ed25519, self.xwing)

    def __repr__(self) -> str:
        return f"PublicIdentity({self.participant_id!r}, fingerprint={self.fingerprint.hex()[:16]}…)"

    @classmethod
    def _signer_from_roster(cls, participant_id: str, *, x25519: bytes, ed25519: bytes, xwing: bytes | None,
                            fingerprint: bytes) -> PublicIdentity:
        """A member listed in a signed roster, to verify its signatures with: only the signing key is used
        on that path, so only it is validated (E_BAD_KEY). Never pin or wrap to such an identity."""
        self = object.__new__(cls)
        self.participant_id, self.x25519, self.xwing, self.fingerprint = participant_id, x25519, xwing, fingerprint
        self.ed25519 = curves.check_ed25519_public(ed25519, "sig")
        return self

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PublicIdentity):
            return NotImplemented
        return hmac.compare_digest(self.fingerprint, other.fingerprint)

    def __hash__(self) -> int:
        return hash(self.fingerprint)

    @property
    def safety_number(self) -> str:
        """30 digits in six groups, read aloud or compared side by side out of band."""
        fp = self.fingerprint
        return " ".join(f"{int.from_bytes(fp[i:i + 5], 'big') % 100000:05d}" for i in range(0, 30, 5))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"v": IDENTITY_VERSION, "id": self.participant_id,
                               "enc": _jwk("X25519", self.x25519), "sig": _jwk("Ed25519", self.ed25519)}
        if self.xwing is not None:
            out["pq"] = {"kem": xwing.NAME, "pub": b64encode(self.xwing)}
        return out

    def to_json(self) -> bytes:
        return dumps(self.to_dict())

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> PublicIdentity:
        check_fields(obj, ("v", "id", "enc", "sig"), ("pq",))
        if get_int(obj, "v") != IDENTITY_VERSION:
            raise FormatError("v", "unsupported identity version")
        pq = None
        if "pq" in obj:
            pq_obj = obj["pq"]
            if not isinstance(pq_obj, dict):
                raise FormatError("pq", "must be an object")
            check_fields(pq_obj, ("kem", "pub"))
            if get_str(pq_obj, "kem") != xwing.NAME:
                raise FormatError("pq.kem", "unknown KEM")
            pq = b64decode(pq_obj["pub"], "pq.pub", size=xwing.PUBLIC_KEY_SIZE)
        return cls(check_id(obj["id"], "id"), x25519=_read_jwk(obj["enc"], "enc", "X25519"),
                   ed25519=_read_jwk(obj["sig"], "sig", "Ed25519"), xwing=pq)

    @classmethod
    def from_json(cls, data: bytes | str) -> PublicIdentity:
        return cls.from_dict(loads_object(data, "identity", max_bytes=8192))


def xwing_public_checked(public: bytes) -> bytes:
    if len(public) != xwing.PUBLIC_KEY_SIZE:
        raise FormatError("pq.pub", f"must be {xwing.PUBLIC_KEY_SIZE} bytes")
    xwing.public_key(public)  # raises InvalidKeyError on a malformed ML-KEM or X25519 half
    return public


def fingerprint_of(participant_id: str, x25519: bytes, ed25519: bytes, pq: bytes | None) -> bytes:
    """SHA-256(FINGERPRINT || str8(id) || x25519 || ed25519 || bytes16(xwing or empty)) (spec/identity.md)."""
    name, pq = participant_id.encode("ascii"), pq or b""
    return hashlib.sha256(b"".join((labels.FINGERPRINT, bytes((len(name),)), name, x25519, ed25519,
                                    len(pq).to_bytes(2, "big"), pq))).digest()


class Identity:
    """A participant's private keys. bytes(identity) is not defined: export with to_private_dict."""

    SEED_SIZE: ClassVar[int] = 32

    __slots__ = ("public", "_x25519", "_signer", "_ed_seed", "_xwing_seed", "_xwing_private", "_x25519_key")

    def __init__(self, participant_id: str, *, x25519_private: bytes, ed25519_seed: bytes,
                 xwing_seed: bytes | None = None) -> None:
        if len(x25519_private) != 32 or len(ed25519_seed) != 32 or (xwing_seed is not None and len(xwing_seed) != 32):
            raise ValueError("identity secrets are 32 bytes each")
        self._x25519 = bytes(x25519_private)
        self._x25519_key: Any = None  # cryptography's key object, made once by wrap.unwrap
        self._ed_seed = bytes(ed25519_seed)
        self._signer = curves.SigningKey(self._ed_seed)
        self._xwing_seed = xwing_seed
        self._xwing_private = None if xwing_seed is None else xwing.private_key(xwing_seed)
        pq_public = None if xwing_seed is None else xwing.public_bytes(xwing_seed)
        self.public = PublicIdentity(participant_id, x25519=curves.x25519_public(self._x25519),
                                     ed25519=self._signer.public, xwing=pq_public)

    @classmethod
    def generate(cls, participant_id: str, *, post_quantum: bool = False) -> Identity:
        return cls(participant_id, x25519_private=os.urandom(32), ed25519_seed=os.urandom(32),
                   xwing_seed=os.urandom(32) if post_quantum else None)

    @property
    def participant_id(self) -> str:
        return self.public.participant_id

    def __repr__(self) -> str:
        return f"Identity({self.participant_id!r}, fingerprint={self.public.fingerprint.hex()[:16]}…, <private>)"

    def sign(self, message: bytes) -> bytes:
        return self._signer.sign(message)

    def _x25519_private(self) -> bytes:
        return self._x25519

    def _xwing_private_key(self) -> Any:
        return self._xwing_private

    def to_private_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"v": IDENTITY_VERSION, "id": self.participant_id,
                               "x25519": b64encode(self._x25519), "ed25519": b64encode(self._ed_seed)}
        if self._xwing_seed is not None:
            out["xwing"] = b64encode(self._xwing_seed)
        return out

    @classmethod
    def from_private_dict(cls, obj: dict[str, Any]) -> Identity:
        check_fields(obj, ("v", "id", "x25519", "ed25519"), ("xwing",))
        if get_int(obj, "v") != IDENTITY_VERSION:
            raise FormatError("v", "unsupported identity version")
        seed = b64decode(obj["xwing"], "xwing", size=32) if "xwing" in obj else None
        return cls(check_id(obj["id"], "id"), x25519_private=b64decode(obj["x25519"], "x25519", size=32),
                   ed25519_seed=b64decode(obj["ed25519"], "ed25519", size=32), xwing_seed=seed)
