"""The passphrase envelope (spec/files.md): Argon2id derives an AES-256-GCM key from a passphrase.

The KDF parameters and salt are stored in the file and bound into the associated data, so each
file says how to open it and none of it can be changed unnoticed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from .. import labels
from ..encoding import Writer, b64decode, b64encode, check_fields, get_int
from ..errors import FormatError
from ..hazmat.suites import AeadKey, Suite
from ..identity import Identity
from .json_file import FILE_VERSION

KDF_NAME: Final = "argon2id"
SALT_SIZE: Final = 16
NONCE_SIZE: Final = 12
KEY_SIZE: Final = 32


@dataclass(frozen=True)
class KdfCost:
    """Argon2id parameters (RFC 9106). Stored in the file, so each file says how to open it."""

    memory_kib: int
    iterations: int
    lanes: int

    def check(self) -> KdfCost:
        for name, value, low, high in (("memory_kib", self.memory_kib, MIN_COST.memory_kib, MAX_MEMORY_KIB),
                                       ("iterations", self.iterations, 1, MAX_ITERATIONS),
                                       ("lanes", self.lanes, 1, MAX_LANES)):
            if not low <= value <= high:
                raise FormatError(f"kdf.{name}", f"must be from {low} to {high}")
        if self.memory_kib < 8 * self.lanes:
            raise FormatError("kdf.memory_kib", "must be at least 8 KiB per lane")
        return self

    def to_dict(self) -> dict[str, Any]:
        return {"name": KDF_NAME, "memory_kib": self.memory_kib, "iterations": self.iterations, "lanes": self.lanes}

    @classmethod
    def from_dict(cls, obj: object) -> KdfCost:
        if not isinstance(obj, dict):
            raise FormatError("kdf", "must be an object")
        check_fields(obj, ("name", "memory_kib", "iterations", "lanes"))
        if obj["name"] != KDF_NAME:
            raise FormatError("kdf.name", f"unsupported KDF; this version reads {KDF_NAME!r}")
        return cls(get_int(obj, "memory_kib"), get_int(obj, "iterations"), get_int(obj, "lanes")).check()


# OWASP's minimum, RFC 9106's second recommended option, and a heavier level.
MIN_COST: Final = KdfCost(19 * 1024, 2, 1)
COST_LEVELS: Final = {"low": MIN_COST, "medium": KdfCost(64 * 1024, 3, 4), "high": KdfCost(256 * 1024, 4, 4)}
DEFAULT_COST: Final = "medium"
MAX_MEMORY_KIB: Final = 1 << 20
MAX_ITERATIONS: Final = 10
MAX_LANES: Final = 16


def _passphrase_key(passphrase: bytes, salt: bytes, cost: KdfCost) -> AeadKey:
    kdf = Argon2id(salt=salt, length=KEY_SIZE, iterations=cost.iterations, lanes=cost.lanes,
                   memory_cost=cost.memory_kib)
    return AeadKey(Suite.AES_256_GCM, kdf.derive(passphrase))


def _identity_aad(cost: KdfCost, salt: bytes) -> bytes:
    return _passphrase_aad("identity", cost, salt)


def _passphrase_aad(kind: str, cost: KdfCost, salt: bytes) -> bytes:
    """AAD of a passphrase-encrypted file of this kind ("identity", "user-key"): the kind and every KDF
    parameter are bound, so a file of one kind never opens as another and no parameter can be changed."""
    return (Writer(labels.KEYFILE_AAD).u8(FILE_VERSION).str8(kind).str8(KDF_NAME).u32(cost.memory_kib)
            .u32(cost.iterations).u32(cost.lanes).bytes16(salt).getvalue())


def _keyring_aad(identity: Identity) -> bytes:
    public = identity.public
    return (Writer(labels.KEYFILE_AAD).u8(FILE_VERSION).str8("keyring").str8(public.participant_id)
            .raw(public.fingerprint).getvalue())


def _seal(key: AeadKey, plaintext: bytes, aad: bytes) -> dict[str, str]:
    nonce = key.random_nonce()
    return {"nonce": b64encode(nonce), "ciphertext": b64encode(key.encrypt(nonce, plaintext, aad))}


def _open(key: AeadKey, obj: dict[str, Any], aad: bytes) -> bytes:
    nonce = b64decode(obj["nonce"], "nonce", size=NONCE_SIZE)
    return key.decrypt(nonce, b64decode(obj["ciphertext"], "ciphertext"), aad)
