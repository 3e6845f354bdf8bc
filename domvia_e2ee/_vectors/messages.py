"""Vectors for sealed messages: AAD, seal, open, convert, and the must-fail forms."""

from __future__ import annotations

import json
from typing import Any

from ..hazmat.suites import Suite
from ..keys import RoomKey
from ..encoding import b64decode, b64encode
from ..labels import AAD_MESSAGE, SIG_MESSAGE
from ..message import FLAG_PADDED, header_prefix
from ..padding import padded_size
from .fixtures import ROOM, Case, flip, identity, invalid, seed, valid
from .signatures import edge_signatures

ALICE, BOB, MALLORY = identity("alice"), identity("bob"), identity("mallory")


def base(suite: str = "A256GCM", **changes: Any) -> dict[str, Any]:
    nonce_size = 12 if suite == "A256GCM" else 24
    inputs = {"secret": seed("room-key/1").hex(), "suite": suite, "room_id": ROOM, "epoch": 1, "sender_id": "alice",
              "message_id": "msg-0001", "content_type": "text/plain", "padded": True,
              "nonce": seed(f"nonce/{suite}", nonce_size).hex(), "content": b"hello, room 42".hex()}
    inputs.update(changes)
    return inputs


def key_inputs(**changes: Any) -> dict[str, Any]:
    inputs = {"secret": seed("room-key/1").hex(), "suite": "A256GCM", "room_id": ROOM, "epoch": 1}
    inputs.update(changes)
    return inputs


SEALS: dict[str, tuple[str, dict[str, Any]]] = {
    "aes-signed": ("AES-256-GCM, signed, padded: the default", base(signing_seed=seed("alice/ed25519").hex())),
    "aes-unsigned": ("AES-256-GCM, unsigned (bot mode), padded", base()),
    "aes-unpadded": ("AES-256-GCM, unsigned, padding off", base(padded=False)),
    "xc20p-signed": ("XChaCha20-Poly1305, signed, padded", base("XC20P", signing_seed=seed("alice/ed25519").hex())),
    "xc20p-unpadded": ("XChaCha20-Poly1305, unsigned, unpadded", base("XC20P", padded=False)),
    "aes-empty": ("empty content pads to 32 bytes", base(content="")),
    "aes-1000": ("1000 bytes of content pad to 1024", base(content=seed("content/1000", 1000).hex())),
    "aes-content-type": ("a custom content type", base(content_type="application/vnd.domvia.attachment+json")),
    "aes-long-ids": ("ids of the maximum length, 128 characters", base(
        room_id="r" * 128, sender_id="s" * 128, message_id="m" * 128, signing_seed=seed("s" * 128 + "/ed25519").hex())),
}


def sealed(name: str) -> dict[str, Any]:
    from ..conformance_ops import OPS

    return OPS["seal"](SEALS[name][1])


def open_inputs(seal_name: str, form: str = "binary", message: Any = None, **changes: Any) -> dict[str, Any]:
    seal_in = SEALS[seal_name][1]
    inputs = key_inputs(secret=seal_in["secret"], suite=seal_in["suite"], room_id=seal_in["room_id"])
    inputs[form] = message if message is not None else sealed(seal_name)[form]
    if "signing_seed" in seal_in:
        inputs["sender"] = identity(seal_in["sender_id"]).public.to_dict()
    inputs.update(changes)
    return {name: value for name, value in inputs.items() if value is not None}


def valid_cases() -> list[Case]:
    cases = [valid(f"aad-{flags}", "aad", f"header and associated data with flags {flags}",
                   {"suite": "A256GCM", "flags": flags, "room_id": ROOM, "epoch": 1, "key_id": seed("kid").hex(),
                    "sender_id": "alice", "content_type": "text/plain", "message_id": "msg-0001"}) for flags in (0, 1, 2, 3)]
    cases.append(valid("aad-xc20p", "aad", "XChaCha suite byte in the header",
                       {"suite": "XC20P", "flags": 3, "room_id": "r", "epoch": 4294967295, "key_id": seed("kid").hex(),
                        "sender_id": "s", "content_type": "a/b", "message_id": "m"}))
    for name, (why, inputs) in SEALS.items():
        cases.append(valid(f"seal-{name}", "seal", why, inputs))
        for form in ("binary", "json"):
            cases.append(valid(f"open-{name}-{form}", "open", f"open the {form} form: {why}", open_inputs(name, form)))
    cases.append(valid("convert-binary-to-json", "convert", "the JSON spelling of a binary message",
                       {"binary": sealed("aes-signed")["binary"]}))
    cases.append(valid("convert-json-to-binary", "convert", "the binary spelling of a JSON message",
                       {"json": sealed("xc20p-unpadded")["json"]}))
    reordered = json.dumps(dict(reversed(list(json.loads(sealed("aes-unsigned")["json"]).items()))), indent=2)
    cases.append(valid("open-json-noncanonical-layout", "open", "receivers accept any member order and whitespace",
                       open_inputs("aes-unsigned", "json", reordered)))
    return cases


def cases() -> list[Case]:
    return valid_cases() + format_cases() + json_cases() + auth_cases() + signature_edge_cases(_bin("aes-signed"))


def _bin(name: str) -> bytes:
    return bytes.fromhex(sealed(name)["binary"])


def _offsets(data: bytes) -> dict[str, int]:
    room = 6
    epoch = room + 1 + data[room]
    key_id = epoch + 4
    sender = key_id + 32
    ctype = sender + 1 + data[sender]
    mid = ctype + 1 + data[ctype]
    nonce = mid + 1 + data[mid]
    return {"room": room, "epoch": epoch, "key_id": key_id, "sender": sender, "ctype": ctype, "mid": mid,
            "nonce": nonce}


def _bad_binary(case_id: str, why: str, data: bytes, code: str, reject: str, seal_name: str = "aes-unsigned",
                **changes: Any) -> Case:
    return invalid(case_id, "open", why, open_inputs(seal_name, "binary", data.hex(), **changes), code, reject)


def format_cases() -> list[Case]:
    data = _bin("aes-unsigned")
    at = _offsets(data)
    cases = [
        _bad_binary("msg-bad-magic", "unknown magic", b"DVX\x01" + data[4:], "E_FORMAT", "MR-MSG-MAGIC"),
        _bad_binary("msg-version-2", "format version 2 is not version 1", b"DVM\x02" + data[4:], "E_FORMAT", "MR-MSG-MAGIC"),
        _bad_binary("msg-bundle-magic", "a bundle's magic on a message", b"DVB\x01" + data[4:], "E_FORMAT", "MR-CONFUSION"),
        _bad_binary("msg-unknown-suite", "suite 3 does not exist", data[:4] + b"\x03" + data[5:], "E_FORMAT", "MR-MSG-SUITE"),
        _bad_binary("msg-unknown-flag", "flag bit 2 is not defined", data[:5] + bytes((data[5] | 4,)) + data[6:],
                    "E_FORMAT", "MR-MSG-FLAGS"),
        _bad_binary("msg-truncated-header", "cut inside the key id", data[:at["key_id"] + 10], "E_FORMAT", "MR-MSG-TRUNCATED"),
        _bad_binary("msg-truncated-ids", "cut inside the message id", data[:at["mid"] + 3], "E_FORMAT", "MR-MSG-TRUNCATED"),
        _bad_binary("msg-truncated-nonce", "cut inside the nonce", data[:at["nonce"] + 5], "E_FORMAT", "MR-MSG-TRUNCATED"),
        _bad_binary("msg-truncated-tag", "ciphertext shorter than the tag", data[:at["nonce"] + 12 + 15], "E_FORMAT",
                    "MR-MSG-SHORT-CIPHERTEXT"),
        _bad_binary("msg-empty", "zero bytes", b"", "E_FORMAT", "MR-MSG-TRUNCATED"),
        _bad_binary("msg-oversized", "one byte over the 69,632-byte limit", data + bytes(69633 - len(data)), "E_FORMAT",
                    "MR-MSG-OVERSIZED"),
        _bad_binary("msg-room-id-space", "a space in the room id", data.replace(b"room-42", b"room 42", 1), "E_FORMAT",
                    "MR-ID"),
        _bad_binary("msg-room-id-nonascii", "a non-ASCII byte in the room id", data.replace(b"room-42", b"room\xe942", 1),
                    "E_FORMAT", "MR-ID"),
        _bad_binary("msg-content-type-space", "a space in the content type",
                    data.replace(b"text/plain", b"text plain", 1), "E_FORMAT", "MR-CONTENT-TYPE"),
        _bad_binary("msg-epoch-zero", "epoch 0", data[:at["epoch"]] + bytes(4) + data[at["epoch"] + 4:], "E_FORMAT",
                    "MR-EPOCH"),
    ]
    unpadded = _bin("aes-unpadded")
    short = unpadded[:5] + bytes((unpadded[5] | FLAG_PADDED,)) + unpadded[6:]
    cases.append(_bad_binary("msg-padded-too-short", "padded flag on a ciphertext below the 32-byte floor", short,
                             "E_FORMAT", "MR-MSG-SHORT-CIPHERTEXT", seal_name="aes-unpadded"))
    cases.append(_bad_binary("msg-content-over-limit", "authentic and canonically padded, but 66,000 bytes of content",
                             _padded_message(b"x" * 66000), "E_FORMAT", "MR-MSG-OVERSIZED"))
    longest = bytes.fromhex(_sealed_binary(base(content=seed("content/65536", 65536).hex(), padded=False)))
    cases.append(_bad_binary("msg-extended-past-ciphertext-limit", "one byte appended to an unpadded message with "
                             "65,536 bytes of content: the ciphertext is over its 65,552-byte limit", longest + b"\x00",
                             "E_FORMAT", "MR-MSG-EXTENDED", seal_name="aes-unpadded"))
    too_big = base(content=bytes(65537).hex(), padded=False)
    cases.append(invalid("seal-content-too-long", "seal", "content over 64 KiB must go as an attachment", too_big,
                         "E_FORMAT", "MR-MSG-OVERSIZED"))
    return cases


def _json_variant(name: str, edit: Any) -> str:
    obj = json.loads(sealed(name)["json"])
    edited = edit(obj)
    return edited if isinstance(edited, str) else json.dumps(obj, separators=(",", ":"), sort_keys=True)


def _bad_json(case_id: str, why: str, text: str, code: str, reject: str, name: str = "aes-unsigned") -> Case:
    return invalid(case_id, "open", why, open_inputs(name, "json", text), code, reject)


def json_cases() -> list[Case]:
    text = sealed("aes-unsigned")["json"]
    obj = json.loads(text)
    c = obj["c"]

    def replace(field: str, value: Any) -> Any:
        return lambda o: o.__setitem__(field, value)

    def drop(field: str) -> Any:
        def edit(o: dict[str, Any]) -> None:
            del o[field]  # returns None: a str returned by an edit would be taken for the whole text
        return edit

    def shorter(field: str) -> str:
        # One byte fewer, canonically encoded, so that the decoded-length rule is the first one to fail.
        return b64encode(b64decode(field, "field")[:-1])

    key_id = obj["k"]
    last = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".index(key_id[-1])
    noncanonical_k = key_id[:-1] + "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last | 1]
    return [
        _bad_json("json-duplicate-member", "the ciphertext member twice",
                  text[:-1] + f',"c":"{c}"' + "}", "E_FORMAT", "MR-JSON-DUPLICATE"),
        _bad_json("json-duplicate-escaped", "\"c\" and \"\\u0063\" are the same member",
                  text[:-1] + f',"\\u0063":"{c}"' + "}", "E_FORMAT", "MR-JSON-DUPLICATE"),
        _bad_json("json-unknown-member", "an extra member", _json_variant("aes-unsigned", replace("x", 1)), "E_FORMAT",
                  "MR-JSON-UNKNOWN"),
        _bad_json("json-missing-nonce", "no nonce", _json_variant("aes-unsigned", drop("n")), "E_FORMAT", "MR-JSON-MISSING"),
        _bad_json("json-missing-padding-flag", "no p member", _json_variant("aes-unsigned", drop("p")), "E_FORMAT",
                  "MR-JSON-MISSING"),
        _bad_json("json-epoch-string", "epoch as a string", _json_variant("aes-unsigned", replace("e", "1")), "E_FORMAT",
                  "MR-JSON-TYPE"),
        _bad_json("json-epoch-float", "epoch as 1.0", text.replace('"e":1,', '"e":1.0,'), "E_FORMAT", "MR-JSON-TYPE"),
        _bad_json("json-padding-true", "p as true", _json_variant("aes-unsigned", replace("p", True)), "E_FORMAT",
                  "MR-JSON-TYPE"),
        _bad_json("json-padding-two", "p is 0 or 1", _json_variant("aes-unsigned", replace("p", 2)), "E_FORMAT",
                  "MR-JSON-TYPE"),
        _bad_json("json-epoch-zero", "epoch 0 in the JSON form", _json_variant("aes-unsigned", replace("e", 0)), "E_FORMAT", "MR-EPOCH"),
        _bad_json("json-empty-message-id", "an empty message id", _json_variant("aes-unsigned", replace("m", "")),
                  "E_FORMAT", "MR-ID"),
        _bad_json("json-long-sender-id", "a 129-character sender id", _json_variant("aes-unsigned", replace("u", "u" * 129)),
                  "E_FORMAT", "MR-ID"),
        _bad_json("json-content-type-long", "a 128-character content type",
                  _json_variant("aes-unsigned", replace("t", "t" * 128)), "E_FORMAT", "MR-CONTENT-TYPE"),
        _bad_json("json-version-2", "v is 2", _json_variant("aes-unsigned", replace("v", 2)), "E_FORMAT", "MR-MSG-MAGIC"),
        _bad_json("json-unknown-suite", "suite AES", _json_variant("aes-unsigned", replace("s", "AES")), "E_FORMAT",
                  "MR-MSG-SUITE"),
        _bad_json("json-array", "a JSON array, not an object", "[" + text + "]", "E_FORMAT", "MR-JSON-SYNTAX"),
        _bad_json("json-byte-order-mark", "a UTF-8 byte order mark before the object", "\ufeff" + text, "E_FORMAT",
                  "MR-JSON-SYNTAX"),
        _bad_json("json-lone-surrogate", "a lone UTF-16 surrogate escape in a string",
                  text.replace('"t":"text/plain"', '"t":"text/plain\\ud800"'), "E_FORMAT", "MR-JSON-SYNTAX"),
        _bad_json("json-negative-zero", "p as -0: not an integer of this format", text.replace('"p":1', '"p":-0'),
                  "E_FORMAT", "MR-JSON-TYPE"),
        _bad_json("json-epoch-exponent", "epoch as 1e0: an exponent is not an integer", text.replace('"e":1,', '"e":1e0,'),
                  "E_FORMAT", "MR-JSON-TYPE"),
        _bad_json("json-nesting-33", "the ciphertext member as 33 nested arrays: deeper than 32 levels",
                  text.replace(f'"c":"{c}"', '"c":' + "[" * 33 + "]" * 33), "E_FORMAT", "MR-JSON-DEPTH"),
        _bad_json("json-nesting-45000", "45,000 nested arrays: refused without exhausting the stack",
                  text.replace(f'"c":"{c}"', '"c":' + "[" * 45000 + "]" * 45000), "E_FORMAT", "MR-JSON-DEPTH"),
        _bad_json("json-syntax", "truncated JSON text", text[:-1], "E_FORMAT", "MR-JSON-SYNTAX"),
        _bad_json("json-oversized", "a JSON text over 98,304 bytes", text[:-1] + ',"x":"' + "a" * 98304 + '"}', "E_FORMAT",
                  "MR-MSG-OVERSIZED"),
        _bad_json("json-b64-padding", "base64url with = padding", _json_variant("aes-unsigned", replace("n", obj["n"] + "=")),
                  "E_FORMAT", "MR-B64-PAD"),
        _bad_json("json-b64-alphabet", "+ is standard base64, not base64url",
                  _json_variant("aes-unsigned", replace("c", "+" + c[1:])), "E_FORMAT", "MR-B64-ALPHABET"),
        _bad_json("json-b64-noncanonical", "non-zero unused bits in the key id",
                  _json_variant("aes-unsigned", replace("k", noncanonical_k)), "E_FORMAT", "MR-B64-NONCANONICAL"),
        _bad_json("json-nonce-length", "an 11-byte nonce", _json_variant("aes-unsigned", replace("n", shorter(obj["n"]))),
                  "E_FORMAT", "MR-B64-LENGTH"),
        _bad_json("json-key-id-length", "a 31-byte key id", _json_variant("aes-unsigned", replace("k", shorter(key_id))),
                  "E_FORMAT", "MR-B64-LENGTH"),
        _bad_json("json-ciphertext-short", "a 15-byte ciphertext", _json_variant("aes-unsigned", replace("c", c[:20])),
                  "E_FORMAT", "MR-MSG-SHORT-CIPHERTEXT"),
    ]


def _noncanonical_padding() -> str:
    return _padded_message(b"hi", 64).hex()


def _padded_message(content: bytes, size: int | None = None) -> bytes:
    """An unsigned AES-GCM message from alice whose plaintext is content || 0x80 || zeros, padded to size
    bytes (by default the canonical padme size), sealed by hand to go where the sealer will not."""
    key = RoomKey(seed("room-key/1"), room_id=ROOM, epoch=1)
    prefix = header_prefix(Suite.AES_256_GCM, FLAG_PADDED, ROOM, 1, key.key_id, "alice", "text/plain")
    header = prefix + b"\x08msg-0001"
    nonce = seed("nonce/padding", 12)
    body = content + b"\x80" + bytes((size or padded_size(len(content))) - len(content) - 1)
    return header + nonce + key.sender_cipher("alice").encrypt(nonce, body, AAD_MESSAGE + header)


def auth_cases() -> list[Case]:
    data, signed, long = _bin("aes-unsigned"), _bin("aes-signed"), _bin("aes-1000")
    at, sat = _offsets(data), _offsets(signed)
    other_sender = signed[: sat["sender"]] + b"\x05alicf" + signed[sat["sender"] + 6 :]
    impersonation = dict(base(signing_seed=seed("mallory/ed25519").hex()))
    return [
        _bad_binary("msg-other-room-key", "opened with the key of another room", data, "E_UNKNOWN_KEY",
                    "MR-MSG-UNKNOWN-KEY", room_id="room-43"),
        _bad_binary("msg-other-epoch-key", "opened with the key of another epoch", data, "E_UNKNOWN_KEY",
                    "MR-MSG-UNKNOWN-KEY", epoch=2),
        _bad_binary("msg-other-suite-key", "opened with the same secret in the other suite", data, "E_UNKNOWN_KEY",
                    "MR-MSG-UNKNOWN-KEY", suite="XC20P"),
        _bad_binary("msg-other-key-same-epoch", "another key for the same room and epoch: the key id commits to the "
                    "key and is checked before decryption, so even a ciphertext valid under both keys is refused",
                    data, "E_UNKNOWN_KEY", "MR-MSG-SALAMANDER", secret=seed("room-key/other").hex()),
        _bad_binary("msg-flip-key-id", "one bit of the key id", flip(data, at["key_id"]), "E_UNKNOWN_KEY",
                    "MR-MSG-UNKNOWN-KEY"),
        _bad_binary("msg-flip-tag", "one bit of the tag", flip(data, len(data) - 1), "E_AUTH", "MR-MSG-TAMPERED"),
        _bad_binary("msg-flip-ciphertext", "one bit of the ciphertext", flip(data, at["nonce"] + 12), "E_AUTH",
                    "MR-MSG-TAMPERED"),
        _bad_binary("msg-flip-nonce", "one bit of the nonce", flip(data, at["nonce"]), "E_AUTH", "MR-MSG-TAMPERED"),
        _bad_binary("msg-other-message-id", "moved to another message id", data.replace(b"msg-0001", b"msg-0002", 1),
                    "E_AUTH", "MR-MSG-TAMPERED"),
        _bad_binary("msg-other-content-type", "another content type", data.replace(b"text/plain", b"text/plaim", 1),
                    "E_AUTH", "MR-MSG-TAMPERED"),
        _bad_binary("msg-other-sender", "another sender id (unsigned)", data.replace(b"\x05alice", b"\x05alicf", 1),
                    "E_AUTH", "MR-MSG-TAMPERED"),
        _bad_binary("msg-padding-flag-cleared", "padded flag cleared", data[:5] + bytes((data[5] & ~FLAG_PADDED,)) + data[6:],
                    "E_AUTH", "MR-MSG-TAMPERED"),
        _bad_binary("msg-signed-flag-set", "signed flag set on an unsigned message: its last 64 bytes read as a signature",
                    long[:5] + bytes((long[5] | 1,)) + long[6:], "E_AUTH", "MR-MSG-TAMPERED", seal_name="aes-1000",
                    sender=ALICE.public.to_dict()),
        _bad_binary("msg-signature-stripped", "signature removed and signed flag cleared",
                    signed[:5] + bytes((signed[5] & ~1,)) + signed[6:-64], "E_AUTH", "MR-MSG-TAMPERED"),
        _bad_binary("msg-appended-byte", "one byte appended", data + b"\x00", "E_AUTH", "MR-MSG-EXTENDED"),
        _bad_binary("msg-concatenated", "two messages concatenated", data + data, "E_AUTH", "MR-MSG-EXTENDED"),
        _bad_binary("msg-signed-appended", "one byte appended to a signed message", signed + b"\x00", "E_AUTH",
                    "MR-MSG-EXTENDED", seal_name="aes-signed"),
        _bad_binary("msg-padding-noncanonical", "authentic, but padded to 64 bytes where 32 is canonical",
                    bytes.fromhex(_noncanonical_padding()), "E_AUTH", "MR-MSG-PADDING"),
        _bad_binary("msg-signature-flipped", "one bit of the signature", flip(signed, len(signed) - 40), "E_AUTH",
                    "MR-MSG-SIGNATURE", seal_name="aes-signed"),
        _bad_binary("msg-signed-message-id", "signed message moved to another message id",
                    signed.replace(b"msg-0001", b"msg-0002", 1), "E_AUTH", "MR-MSG-TAMPERED", seal_name="aes-signed"),
        _bad_binary("msg-signed-wrong-identity", "opened with bob's identity: not the sender", signed, "E_UNKNOWN_SENDER",
                    "MR-MSG-WRONG-SENDER", seal_name="aes-signed", sender=BOB.public.to_dict()),
        _bad_binary("msg-signed-other-sender", "sender id changed on a signed message", other_sender, "E_UNKNOWN_SENDER",
                    "MR-MSG-WRONG-SENDER", seal_name="aes-signed"),
        invalid("msg-impersonation", "open", "mallory signs a message claiming to be alice",
                open_inputs("aes-signed", "binary", _sealed_binary(impersonation)), "E_AUTH", "MR-MSG-IMPERSONATION"),
        _bad_binary("msg-signed-on-unsigned-path", "a signed message opened without its sender's identity", signed,
                    "E_POLICY", "MR-MSG-UNSIGNED", seal_name="aes-signed", sender=None),
        _bad_binary("msg-unsigned-on-signed-path", "an unsigned message where a signature is required", data,
                    "E_POLICY", "MR-MSG-UNSIGNED", sender=ALICE.public.to_dict()),
    ]


def signature_edge_cases(signed: bytes) -> list[Case]:
    """Signatures for which the verification equation holds and that must still be refused
    (signatures.edge_signatures): E_AUTH for the signature, E_BAD_KEY for a replaced sender key."""
    out = []
    for edge in edge_signatures(seed("alice/ed25519"), SIG_MESSAGE + signed[:-64]):
        sender = ALICE.public.to_dict()
        sender["sig"]["x"] = b64encode(edge.public)
        reject = "MR-ED25519-INVALID" if edge.replaces_key else "MR-MSG-SIGNATURE"
        why = f"the verification equation holds, but {edge.description}"
        out.append(_bad_binary(f"msg-signature-{edge.name}", why, signed[:-64] + edge.signature, edge.code, reject,
                               seal_name="aes-signed", sender=sender))
    return out


def _sealed_binary(inputs: dict[str, Any]) -> str:
    from ..conformance_ops import OPS

    return str(OPS["seal"](inputs)["binary"])
