"""Identity files: clear, or encrypted under a passphrase together with a random key ring key,
so the key ring is encrypted at rest exactly when the identity is, without a second derivation."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from ..encoding import b64decode, b64encode, check_fields, dumps, loads_object
from ..errors import DomviaError, PolicyError
from ..hazmat.suites import AeadKey, Suite
from ..identity import Identity
from .envelope import (COST_LEVELS, DEFAULT_COST, KEY_SIZE, SALT_SIZE, KdfCost, _identity_aad, _open,
                       _passphrase_key, _seal)
from .errors import FileError, _wrap
from .json_file import FILE_VERSION, _load_json, _object

IDENTITY_FILE: Final = "domvia-e2ee identity"
MAX_IDENTITY_BYTES: Final = 64 << 10
Passphrase = Callable[[], bytes]


class StoredIdentity:
    """An identity loaded from its file, with the key ring key when the file is encrypted."""

    __slots__ = ("_keyring_key", "identity", "path")

    def __init__(self, identity: Identity, path: Path | str, keyring_key: bytes | None) -> None:
        self.identity = identity
        self.path = Path(path)
        self._keyring_key = keyring_key

    def __repr__(self) -> str:
        return f"StoredIdentity({self.identity!r}, path={str(self.path)!r}, encrypted={self.encrypted})"

    @property
    def encrypted(self) -> bool:
        return self._keyring_key is not None

    def keyring_cipher(self) -> AeadKey | None:
        return None if self._keyring_key is None else AeadKey(Suite.AES_256_GCM, self._keyring_key)


def dump_identity(identity: Identity, *, passphrase: bytes | None = None, cost: KdfCost | None = None) -> bytes:
    """The identity file's bytes; encrypted (with a fresh key ring key inside) when given a passphrase."""
    out: dict[str, Any] = {"file": IDENTITY_FILE, "v": FILE_VERSION}
    if passphrase is None:
        out["identity"] = identity.to_plaintext_private_dict()
        return dumps(out) + b"\n"
    if not passphrase:
        raise PolicyError("an empty passphrase protects nothing")
    salt = os.urandom(SALT_SIZE)
    inner = dumps({"identity": identity.to_plaintext_private_dict(), "keyring_key": b64encode(os.urandom(KEY_SIZE))})
    cost = (cost or COST_LEVELS[DEFAULT_COST]).check()
    out["kdf"] = cost.to_dict()
    out["salt"] = b64encode(salt)
    out.update(_seal(_passphrase_key(passphrase, salt, cost), inner, _identity_aad(cost, salt)))
    return dumps(out) + b"\n"


def load_identity(path: Path | str, passphrase: Passphrase | None = None) -> StoredIdentity:
    """Reads an identity file; passphrase() is called only if the file is encrypted."""
    obj = _load_json(path, MAX_IDENTITY_BYTES, IDENTITY_FILE, private=True)
    try:
        if "kdf" not in obj:
            check_fields(obj, ("file", "v", "identity"))
            return StoredIdentity(Identity.from_private_dict(_object(obj["identity"], "identity")), path, None)
        check_fields(obj, ("file", "v", "kdf", "salt", "nonce", "ciphertext"))
        cost = KdfCost.from_dict(obj["kdf"])
        salt = b64decode(obj["salt"], "salt", size=SALT_SIZE)
        if passphrase is None:
            raise FileError(path, "is encrypted and no passphrase was given", code=PolicyError.code)
        inner = _open(_passphrase_key(passphrase(), salt, cost), obj, _identity_aad(cost, salt))
        secret = loads_object(inner, "identity")
        check_fields(secret, ("identity", "keyring_key"))
        key = b64decode(secret["keyring_key"], "keyring_key", size=KEY_SIZE)
        return StoredIdentity(Identity.from_private_dict(_object(secret["identity"], "identity")), path, key)
    except DomviaError as error:
        raise _wrap(path, error, IDENTITY_FILE + " file") from None
    except (TypeError, ValueError, KeyError, AttributeError):
        raise FileError(path, "not a valid domvia-e2ee identity file: malformed structure") from None
