"""Vectors for public identity import: JWKs, key validation, fingerprints, safety numbers."""

from __future__ import annotations

import json
from typing import Any

from nacl import bindings as sodium

from ..encoding import b64decode, b64encode
from .fixtures import Case, identity, invalid, valid

ALICE = identity("alice")
# X25519 u-coordinates of small order (canonical ones), then non-canonical encodings (u >= 2^255 - 19).
SMALL_ORDER_X25519 = {
    "zero": "00" * 32,
    "one": "01" + "00" * 31,
    "order8-a": "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    "order8-b": "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
    "p-minus-1": "ec" + "ff" * 30 + "7f",
}
NONCANONICAL_X25519 = {
    "p": "ed" + "ff" * 30 + "7f",
    "p-plus-1": "ee" + "ff" * 30 + "7f",
    "top-bit": "09" + "00" * 30 + "80",
}
ED25519_ORDER8 = "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"
_P = 2**255 - 19
# Small-order points and non-canonical encodings that a lenient decoder (y mod p, x = 0 with either
# sign) accepts: the keys for which a forger can satisfy the verification equation (signatures.py).
ED25519_EDGE_KEYS = {
    "identity-y-plus-p": (_P + 1).to_bytes(32, "little").hex(),
    "identity-negative-zero": (1 | 1 << 255).to_bytes(32, "little").hex(),
    "order2": (_P - 1).to_bytes(32, "little").hex(),
    "order2-negative-zero": (_P - 1 | 1 << 255).to_bytes(32, "little").hex(),
    "order4": "00" * 32,
    "noncanonical-y3-plus-p": (_P + 3).to_bytes(32, "little").hex(),
}


def text(obj: dict[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True)


def with_key(member: str, key_hex: str) -> str:
    obj = ALICE.public.to_dict()
    obj[member]["x"] = b64encode(bytes.fromhex(key_hex))
    return text(obj)


def _not_on_curve() -> str:
    for y in range(2, 1000):
        candidate = y.to_bytes(32, "little")
        if not sodium.crypto_core_ed25519_is_valid_point(candidate):
            return candidate.hex()
    raise AssertionError("no off-curve y found")


def _mixed_order() -> str:
    public = ALICE.public.ed25519
    return bytes(sodium.crypto_core_ed25519_add(public, bytes.fromhex(ED25519_ORDER8))).hex()


def cases() -> list[Case]:
    out = [valid("identity-alice", "identity_import", "a classic identity",
                 {"json": ALICE.public.to_json()}),
           valid("identity-pq", "identity_import", "an identity with an X-Wing key",
                 {"json": identity("erin", post_quantum=True).public.to_json()}),
           valid("identity-device-id", "identity_import", "a device-scoped participant id",
                 {"json": identity("user-1/device-a").public.to_json()})]
    for name, key in SMALL_ORDER_X25519.items():
        out.append(invalid(f"identity-x25519-small-order-{name}", "identity_import", f"X25519 key of small order ({name})",
                           {"json": with_key("enc", key)}, "E_BAD_KEY", "MR-X25519-LOW-ORDER"))
    for name, key in NONCANONICAL_X25519.items():
        out.append(invalid(f"identity-x25519-noncanonical-{name}", "identity_import", f"X25519 key >= p ({name})",
                           {"json": with_key("enc", key)}, "E_BAD_KEY", "MR-X25519-NONCANONICAL"))
    ed_bad = {"identity": "01" + "00" * 31, "order8": ED25519_ORDER8, "noncanonical-y": "ed" + "ff" * 30 + "7f",
              "off-curve": _not_on_curve(), "mixed-order": _mixed_order()} | ED25519_EDGE_KEYS
    for name, key in ed_bad.items():
        out.append(invalid(f"identity-ed25519-{name}", "identity_import", f"invalid Ed25519 key ({name})",
                           {"json": with_key("sig", key)}, "E_BAD_KEY", "MR-ED25519-INVALID"))
    return out + _structure_cases()


def _shorter(field: str) -> str:
    """One byte fewer, canonically encoded, so that the decoded-length rule is the first one to fail."""
    return b64encode(b64decode(field, "x")[:-1])


def _structure_cases() -> list[Case]:
    good = ALICE.public.to_dict()

    def edit(change: Any) -> str:
        obj = json.loads(text(good))
        change(obj)
        return text(obj)

    variants = {
        "identity-jwk-kty": (lambda o: o["enc"].__setitem__("kty", "EC"), "MR-ID-JWK", "kty is not OKP"),
        "identity-jwk-crv-swapped": (lambda o: o["enc"].__setitem__("crv", "Ed25519"), "MR-ID-JWK", "enc JWK on Ed25519"),
        "identity-jwk-extra": (lambda o: o["sig"].__setitem__("use", "sig"), "MR-ID-JWK", "an extra JWK member"),
        "identity-jwk-missing-x": (lambda o: o["sig"].pop("x"), "MR-ID-JWK", "a JWK without x"),
        "identity-jwk-short-key": (lambda o: o["enc"].__setitem__("x", _shorter(o["enc"]["x"])), "MR-B64-LENGTH",
                                   "a 31-byte X25519 key"),
        "identity-version-2": (lambda o: o.__setitem__("v", 2), "MR-ID-VERSION", "identity version 2"),
        "identity-unknown-member": (lambda o: o.__setitem__("name", "Alice"), "MR-JSON-UNKNOWN", "an extra member in the identity object"),
        "identity-missing-sig": (lambda o: o.pop("sig"), "MR-JSON-MISSING", "no signing key"),
        "identity-bad-id": (lambda o: o.__setitem__("id", "alice smith"), "MR-ID", "a space in the id"),
        "identity-pq-unknown-kem": (lambda o: o.__setitem__("pq", {"kem": "X-Wing-2", "pub": ""}), "MR-ID-JWK",
                                    "an unknown post-quantum KEM"),
    }
    out = [invalid(case_id, "identity_import", why, {"json": edit(change)}, "E_FORMAT", reject)
           for case_id, (change, reject, why) in variants.items()]
    dup = text(good)[:-1] + ',"id":"mallory"}'
    compact = text(good)
    # The limit is on the text, whitespace included (JSON whitespace is allowed around members).
    out.append(valid("identity-size-8192", "identity_import", "an identity text of exactly 8,192 bytes (padded with spaces)",
                     {"json": compact[:-1] + " " * (8192 - len(compact)) + "}"}))
    out.append(invalid("identity-size-8193", "identity_import", "an identity text of 8,193 bytes (padded with spaces)",
                       {"json": compact[:-1] + " " * (8193 - len(compact)) + "}"}, "E_FORMAT", "MR-IDENTITY-SIZE"))
    out.append(invalid("identity-duplicate-id", "identity_import", "the id member twice", {"json": dup}, "E_FORMAT",
                       "MR-JSON-DUPLICATE"))
    return out + _xwing_key_cases()


def _xwing_key_cases() -> list[Case]:
    """X-Wing public keys whose ML-KEM-768 half fails FIPS 203's modulus check, or whose X25519 half has small order."""
    from ..encoding import b64encode
    from .fixtures import identity as fixed

    good = fixed("alice", post_quantum=True).public
    assert good.xwing is not None
    mlkem, x25519 = good.xwing[:1184], good.xwing[1184:]
    # The first 12-bit coefficient set to 4095 >= q = 3329: not the encoding of any polynomial mod q.
    bad_mlkem = bytes((0xFF, mlkem[1] | 0x0F)) + mlkem[2:]
    cases = {"identity-xwing-mlkem-modulus": (bad_mlkem + x25519, "an X-Wing key whose ML-KEM-768 half fails the modulus check"),
             "identity-xwing-x25519-small-order": (mlkem + bytes(32), "an X-Wing key whose X25519 half is zero (small order)")}
    out = []
    for case_id, (public, why) in cases.items():
        obj = good.to_dict()
        obj["pq"] = {"kem": obj["pq"]["kem"], "pub": b64encode(public)}
        out.append(invalid(case_id, "identity_import", why, {"json": text(obj)}, "E_BAD_KEY", "MR-ID-KEY"))
    return out
