"""The built-in implementation of every conformance operation (spec/conformance.md).

Each handler takes a case's input object and returns its output object, or raises the
DomviaError whose code the vector expects. Fixed-randomness hooks are used here on purpose:
these operations exist to reproduce vectors, not to be called by applications.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import labels, padding
from .encoding import check_epoch, check_id
from .errors import FormatError
from .hazmat import curves, kdf
from .hazmat.suites import Suite
from .identity import Identity, PublicIdentity
from .keys import RoomKey, key_context
from .message import SealedMessage, header_prefix
from .sealing import OpenedMessage, _seal_from_parts, open_unsigned
from .sealing import open as open_signed
from .wrap import WrapKem, _wrap_with_ephemeral, unwrap

Input = dict[str, Any]
Handler = Callable[[Input], dict[str, Any]]
_LABELS = {"wrap": labels.INFO_WRAP, "history-wrap": labels.INFO_HISTORY_WRAP}


def unhex(value: object, field: str) -> bytes:
    if not isinstance(value, str) or value != value.lower():
        raise FormatError(field, "must be lowercase hex")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise FormatError(field, "must be lowercase hex") from None


def room_key(i: Input) -> RoomKey:
    return RoomKey(unhex(i["secret"], "secret"), room_id=i["room_id"], epoch=i["epoch"],
                   suite=Suite.from_label(i["suite"]))


def private_identity(obj: Input) -> Identity:
    xwing = unhex(obj["xwing"], "xwing") if "xwing" in obj else None
    return Identity(obj["id"], x25519_private=unhex(obj["x25519"], "x25519"),
                    ed25519_seed=unhex(obj["ed25519"], "ed25519"), xwing_seed=xwing)


def message_of(i: Input) -> SealedMessage:
    if "binary" in i:
        return SealedMessage.from_bytes(unhex(i["binary"], "binary"))
    return SealedMessage.from_json(i["json"])


def opened(o: OpenedMessage) -> dict[str, Any]:
    return {"content": o.plaintext.hex(), "sender_id": o.sender_id, "message_id": o.message_id,
            "content_type": o.content_type, "signed": o.signed}


def op_key_schedule(i: Input) -> dict[str, Any]:
    key = room_key(i)
    prk = kdf.extract(labels.ROOM_KEY_SALT, bytes(key))
    context = key_context(key.suite, key.room_id, key.epoch)
    sender = check_id(i["sender_id"], "sender_id").encode()
    info = labels.INFO_SENDER_KEY + context + bytes((len(sender),)) + sender
    return {"key_id": key.key_id.hex(), "sender_key": kdf.expand(prk, info, 32).hex()}


def op_pad(i: Input) -> dict[str, Any]:
    return {"padded": padding.pad(unhex(i["content"], "content")).hex()}


def op_unpad(i: Input) -> dict[str, Any]:
    return {"content": padding.unpad(unhex(i["padded"], "padded")).hex()}


def op_aad(i: Input) -> dict[str, Any]:
    header = header_prefix(Suite.from_label(i["suite"]), i["flags"], check_id(i["room_id"], "room_id"),
                           check_epoch(i["epoch"]), unhex(i["key_id"], "key_id"), check_id(i["sender_id"], "sender_id"),
                           i["content_type"])
    message_id = check_id(i["message_id"], "message_id").encode()
    header += bytes((len(message_id),)) + message_id
    return {"header": header.hex(), "aad": (labels.AAD_MESSAGE + header).hex()}


def op_seal(i: Input) -> dict[str, Any]:
    signer = curves.SigningKey(unhex(i["signing_seed"], "signing_seed")) if "signing_seed" in i else None
    sealed = _seal_from_parts(room_key(i), unhex(i["content"], "content"), message_id=i["message_id"],
                              sender_id=i["sender_id"], content_type=i["content_type"], pad=i["padded"],
                              nonce=unhex(i["nonce"], "nonce"), signer=signer)
    return {"binary": sealed.to_bytes().hex(), "json": str(sealed.to_json())}


def op_open(i: Input) -> dict[str, Any]:
    key, sealed = room_key(i), message_of(i)
    if "sender" in i:
        return opened(open_signed(key, sealed, sender=PublicIdentity.from_dict(i["sender"])))
    return opened(open_unsigned(key, sealed))


def op_convert(i: Input) -> dict[str, Any]:
    sealed = message_of(i)
    return {"binary": sealed.to_bytes().hex(), "json": str(sealed.to_json())}


def op_identity_import(i: Input) -> dict[str, Any]:
    identity = PublicIdentity.from_json(i["json"])
    return {"id": identity.participant_id, "fingerprint": identity.fingerprint.hex(),
            "safety_number": identity.safety_number}


def op_wrap(i: Input) -> dict[str, Any]:
    key = room_key(i)
    recipient = _recipient_stub(i["recipient_id"], unhex(i["recipient_public"], "recipient_public"))
    return {"wrapped": _wrap_with_ephemeral(key, recipient, unhex(i["ephemeral"], "ephemeral"),
                                            _LABELS[i["label"]]).hex()}


def _recipient_stub(participant_id: str, x25519_public: bytes) -> PublicIdentity:
    # Wrapping needs only the recipient's id and X25519 key; the signing key is irrelevant here.
    stub = Identity(participant_id, x25519_private=bytes(32), ed25519_seed=bytes(32))
    return PublicIdentity(participant_id, x25519=x25519_public, ed25519=stub.public.ed25519)


def op_unwrap(i: Input) -> dict[str, Any]:
    kem = WrapKem.from_wire(i["kem"])
    if kem is WrapKem.X25519:
        owner = Identity(i["recipient_id"], x25519_private=unhex(i["recipient_private"], "recipient_private"),
                         ed25519_seed=bytes(32))
    else:
        owner = Identity(i["recipient_id"], x25519_private=bytes(32), ed25519_seed=bytes(32),
                         xwing_seed=unhex(i["recipient_xwing_seed"], "recipient_xwing_seed"))
    key = unwrap(owner, unhex(i["wrapped"], "wrapped"), kem=kem, suite=Suite.from_label(i["suite"]),
                 room_id=i["room_id"], epoch=i["epoch"], key_id=unhex(i["key_id"], "key_id"), label=_LABELS[i["label"]])
    return {"secret": bytes(key).hex()}


OPS: dict[str, Handler] = {
    "key_schedule": op_key_schedule, "pad": op_pad, "unpad": op_unpad, "aad": op_aad, "seal": op_seal,
    "open": op_open, "convert": op_convert, "identity_import": op_identity_import, "wrap": op_wrap,
    "unwrap": op_unwrap,
}
