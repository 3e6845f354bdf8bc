"""Key ring files: encrypted under the identity's key ring key exactly when the identity file is."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Final

from ..encoding import b64encode, check_fields, dumps, loads_object
from ..errors import AuthenticationError, DomviaError
from ..group.keyring import KeyRing
from ..group.keyring_state import keyring_from_plaintext, keyring_to_plaintext
from .atomic import Staged
from .envelope import _keyring_aad, _open, _seal
from .errors import FileError, _refusal, _wrap
from .identity_file import StoredIdentity
from .json_file import FILE_VERSION, MAX_STATE_BYTES, _check_owner, _load_json, _object

KEYRING_FILE: Final = "domvia-e2ee keyring"


def dump_keyring(ring: KeyRing, owner: StoredIdentity) -> bytes:
    """The key ring file's bytes: encrypted under the identity's key ring key iff the identity is."""
    public = ring.owner.public
    out: dict[str, Any] = {"file": KEYRING_FILE, "v": FILE_VERSION, "owner": public.participant_id,
                           "owner_fingerprint": b64encode(public.fingerprint)}
    cipher = owner.keyring_cipher()
    body = keyring_to_plaintext(ring)
    if cipher is None:
        out["keyring"] = body
    else:
        out.update(_seal(cipher, dumps(body), _keyring_aad(ring.owner)))
    return dumps(out) + b"\n"


def load_keyring(path: Path | str, owner: StoredIdentity) -> KeyRing:
    obj = _load_json(path, MAX_STATE_BYTES, KEYRING_FILE, private=True)
    try:
        _check_owner(obj, owner.identity)
        cipher = owner.keyring_cipher()
        if cipher is None:
            if "keyring" not in obj:
                raise _refusal("is encrypted but the identity file is not: they do not belong together")
            check_fields(obj, ("file", "v", "owner", "owner_fingerprint", "keyring"))
            body = _object(obj["keyring"], "keyring")
        else:
            if "keyring" in obj:
                raise _refusal("is not encrypted but the identity file is; refusing a downgraded key ring",
                               hint="restore the encrypted key ring from a backup")
            check_fields(obj, ("file", "v", "owner", "owner_fingerprint", "nonce", "ciphertext"))
            body = loads_object(_open(cipher, obj, _keyring_aad(owner.identity)), "keyring", max_bytes=MAX_STATE_BYTES)
        return keyring_from_plaintext(body, owner.identity)
    except AuthenticationError:
        raise FileError(path, "cannot be decrypted with this identity: modified, or written for another identity",
                        code=AuthenticationError.code) from None
    except DomviaError as error:
        raise _wrap(path, error, KEYRING_FILE + " file") from None
    except (TypeError, ValueError, KeyError, AttributeError):
        raise FileError(path, "not a valid domvia-e2ee keyring file: malformed structure") from None


def load_or_new_keyring(path: Path | str, owner: StoredIdentity) -> tuple[KeyRing, bool]:
    """The key ring at path, or a new empty one (True) when the file does not exist yet."""
    if not os.path.lexists(path):
        return KeyRing(owner.identity), True
    return load_keyring(path, owner), False


def stage_keyring(path: Path | str, ring: KeyRing, owner: StoredIdentity, *, new: bool = False) -> Staged:
    return Staged(path, dump_keyring(ring, owner), exclusive=new)
