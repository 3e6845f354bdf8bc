"""Fixed identities, keys and helpers shared by the vector builders."""

from __future__ import annotations

import hashlib
from typing import Any

from ..conformance_registry import all_ops
from ..encoding import b64decode
from ..errors import DomviaError
from ..identity import Identity

Case = dict[str, Any]
ROOM = "room-42"


def seed(label: str, size: int = 32) -> bytes:
    return hashlib.shake_256(b"domvia-e2ee vectors/" + label.encode()).digest(size)


def identity(name: str, *, post_quantum: bool = False) -> Identity:
    return Identity(name, x25519_private=seed(f"{name}/x25519"), ed25519_seed=seed(f"{name}/ed25519"),
                    xwing_seed=seed(f"{name}/xwing") if post_quantum else None)


def private_obj(who: Identity) -> dict[str, Any]:
    obj = who.to_plaintext_private_dict()
    return {name: obj[name] if name == "id" else b64decode(obj[name], name).hex() for name in obj if name != "v"}


def _handler(op: str) -> Any:
    return all_ops()[op]


def valid(case_id: str, op: str, description: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """A case whose output is what the reference handler returns."""
    return {"id": case_id, "op": op, "description": description, "input": inputs, "output": _handler(op)(inputs)}


def invalid(case_id: str, op: str, description: str, inputs: dict[str, Any], code: str, reject: str) -> dict[str, Any]:
    """A must-fail case, built only after checking the handler fails with exactly this code."""
    try:
        _handler(op)(inputs)
    except DomviaError as error:
        if error.code != code:
            raise AssertionError(f"{case_id}: expected {code}, handler raised {error.code}: {error}") from None
    else:
        raise AssertionError(f"{case_id}: expected {code}, handler succeeded")
    return {"id": case_id, "op": op, "description": description, "input": inputs, "error": code, "reject": reject}


def flip(data: bytes, index: int, mask: int = 0x01) -> bytes:
    return data[:index] + bytes((data[index] ^ mask,)) + data[index + 1 :]
