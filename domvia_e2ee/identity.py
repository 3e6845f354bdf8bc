"""Participant identities: an X25519 key to receive wrapped keys, an Ed25519 key to sign,
and optionally an X-Wing (ML-KEM-768 + X25519) key for post-quantum wrapping.

PublicIdentity is what others hold; Identity adds the private halves and is never printed.
Store an identity with Identity.save (encrypted under a passphrase, mode 0600, atomic, never
over an existing file unless asked) and read it back with Identity.load.

Error codes: E_FORMAT a malformed identity (the error names the field), E_BAD_KEY a public key
that is not a valid curve point, E_USAGE an argument of the wrong type; save and load also raise
storage.FileError naming the file, with E_IO, E_AUTH (wrong passphrase), E_POLICY or E_FORMAT.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import warnings
from pathlib import Path
from typing import Any, ClassVar, Final

from . import labels
from .encoding import (
    JsonText, b64decode, b64encode, check_fields, check_id, dumps, get_int, get_str, loads_object,
)
from .errors import FormatError, UsageError
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
    """Someone's public keys and stable participant id. Immutable; compare with ==.

    Two identities are equal when their fingerprints are (SHA-256 over the id and every key).
    Build one from a .pub file with from_json; the constructor raises FormatError (E_FORMAT) for an
    invalid id and InvalidKeyError (E_BAD_KEY) for an invalid key.
    """

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
        """The JSON object of spec/identity.md: {"v", "id", "enc", "sig"} and "pq" for X-Wing."""
        out: dict[str, Any] = {"v": IDENTITY_VERSION, "id": self.participant_id,
                               "enc": _jwk("X25519", self.x25519), "sig": _jwk("Ed25519", self.ed25519)}
        if self.xwing is not None:
            out["pq"] = {"kem": xwing.NAME, "pub": b64encode(self.xwing)}
        return out

    def to_json(self) -> JsonText:
        """The canonical JSON form of spec/identity.md, as text (a str): what a .pub file holds."""
        return JsonText(dumps(self.to_dict()).decode("ascii"))

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> PublicIdentity:
        """Parses the JSON object; FormatError (E_FORMAT) names a bad field, E_BAD_KEY an invalid key."""
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
        """Parses a .pub file's text or bytes (strict JSON, at most 8 KiB). Raises as from_dict does."""
        return cls.from_dict(loads_object(data, "identity", max_bytes=8192))


def xwing_public_checked(public: bytes) -> bytes:
    """public, if it is an X-Wing public key: FormatError (E_FORMAT) for its size, E_BAD_KEY for its halves."""
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
    """A participant's private keys. bytes(identity) is not defined and repr() shows no secret.

    Keep it with save() (encrypted, 0600, atomic) and load(). to_plaintext_private_dict() exports
    the private keys in the clear, for tests and other implementations' vectors only.
    """

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
        """Fresh random keys for participant_id (FormatError, E_FORMAT, if it is not a valid id).

        post_quantum adds an X-Wing (ML-KEM-768 + X25519) key, for rooms that wrap keys with it.
        """
        return cls(participant_id, x25519_private=os.urandom(32), ed25519_seed=os.urandom(32),
                   xwing_seed=os.urandom(32) if post_quantum else None)

    @property
    def participant_id(self) -> str:
        """The stable id others know this participant by (public.participant_id)."""
        return self.public.participant_id

    def __repr__(self) -> str:
        return f"Identity({self.participant_id!r}, fingerprint={self.public.fingerprint.hex()[:16]}…, <private>)"

    def sign(self, message: bytes) -> bytes:
        """An Ed25519 signature of message (64 bytes). The library signs labelled data only."""
        return self._signer.sign(message)

    def _x25519_private(self) -> bytes:
        return self._x25519

    def _xwing_private_key(self) -> Any:
        return self._xwing_private

    def to_plaintext_private_dict(self) -> dict[str, Any]:
        """The private identity object of spec/identity.md: every private key IN THE CLEAR.

        Warning: whoever reads this dict, or a file or log it reaches, can read every message of
        this participant and sign as it. To store an identity, use Identity.save(path,
        passphrase=...) instead: encrypted under the passphrase (Argon2id, AES-256-GCM), written
        atomically with mode 0600, never over an existing file.
        """
        out: dict[str, Any] = {"v": IDENTITY_VERSION, "id": self.participant_id,
                               "x25519": b64encode(self._x25519), "ed25519": b64encode(self._ed_seed)}
        if self._xwing_seed is not None:
            out["xwing"] = b64encode(self._xwing_seed)
        return out

    def to_private_dict(self) -> dict[str, Any]:
        """Deprecated name of to_plaintext_private_dict(), which says what it returns."""
        warnings.warn("to_private_dict() is now to_plaintext_private_dict(); to store an identity, use "
                      "Identity.save(path, passphrase=...)", DeprecationWarning, stacklevel=2)
        return self.to_plaintext_private_dict()

    def save(self, path: str | os.PathLike[str], *, passphrase: bytes | None, overwrite: bool = False,
             cost: str = "medium") -> None:
        """Writes the identity file of spec/files.md, as `domvia-e2ee identity new` does.

        passphrase: the file is encrypted under it (Argon2id at `cost`, "low", "medium" or "high",
        then AES-256-GCM); None writes the private keys in the clear (still mode 0600). The file is
        written atomically (temp file, fsync, rename) with mode 0600, and never over an existing
        file unless overwrite=True (which replaces it atomically: the old identity's keys, and
        whatever was encrypted to them, are then lost unless kept elsewhere). Raises UsageError (E_USAGE) for a passphrase that is not bytes
        or an unknown cost, PolicyError (E_POLICY) for an empty passphrase, storage.FileError with
        E_IO when the file exists (nothing is written) or cannot be written.
        """
        from . import storage  # storage imports this module

        if passphrase is not None and not isinstance(passphrase, bytes):
            raise UsageError(f"passphrase must be bytes or None, not {type(passphrase).__name__}"
                             + (" (encode it: passphrase.encode())" if isinstance(passphrase, str) else ""))
        if cost not in storage.COST_LEVELS:
            raise UsageError(f"cost must be one of {', '.join(sorted(storage.COST_LEVELS))}, not {cost!r}")
        data = storage.dump_identity(self, passphrase=passphrase, cost=storage.COST_LEVELS[cost])
        storage.write_atomic(Path(path), data, mode=storage.PRIVATE_MODE, exclusive=not overwrite)

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, passphrase: bytes | None = None) -> Identity:
        """Reads an identity file written by save() or by the command line.

        passphrase is needed when the file is encrypted. Raises storage.FileError naming the file:
        E_AUTH for a wrong passphrase or a modified file, E_POLICY for a missing passphrase or a
        file that group or others can read (chmod 600), E_FORMAT for a malformed file, E_IO for an
        operating-system error. Nothing is ever written.
        """
        from . import storage

        if passphrase is not None and not isinstance(passphrase, bytes):
            raise UsageError(f"passphrase must be bytes or None, not {type(passphrase).__name__}")
        given = passphrase
        return storage.load_identity(Path(path), None if given is None else lambda: given).identity

    @classmethod
    def from_private_dict(cls, obj: dict[str, Any]) -> Identity:
        """The inverse of to_plaintext_private_dict(); FormatError (E_FORMAT) names a bad field."""
        check_fields(obj, ("v", "id", "x25519", "ed25519"), ("xwing",))
        if get_int(obj, "v") != IDENTITY_VERSION:
            raise FormatError("v", "unsupported identity version")
        seed = b64decode(obj["xwing"], "xwing", size=32) if "xwing" in obj else None
        return cls(check_id(obj["id"], "id"), x25519_private=b64decode(obj["x25519"], "x25519", size=32),
                   ed25519_seed=b64decode(obj["ed25519"], "ed25519", size=32), xwing_seed=seed)
