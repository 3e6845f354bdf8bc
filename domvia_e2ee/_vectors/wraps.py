"""Vectors for HPKE wrapping and unwrapping of room keys."""

from __future__ import annotations

from typing import Any

from ..hazmat import hpke
from ..keys import RoomKey
from ..wrap import WrapKem, wrap_info
from .fixtures import ROOM, Case, flip, identity, invalid, seed, valid
from .pinned import pinned, pq_secret

ALICE, BOB = identity("alice"), identity("bob")


def wrap_inputs(**changes: Any) -> dict[str, Any]:
    inputs = {"kem": 1, "suite": "A256GCM", "room_id": ROOM, "epoch": 3, "secret": seed("room-key/3").hex(),
              "recipient_id": "alice", "recipient_public": ALICE.public.x25519.hex(),
              "ephemeral": seed("ephemeral/alice/3").hex(), "label": "wrap"}
    inputs.update(changes)
    return inputs


def key_id(secret_hex: str, room_id: str = ROOM, epoch: int = 3, suite: str = "A256GCM") -> str:
    from ..hazmat.suites import Suite

    return RoomKey(bytes.fromhex(secret_hex), room_id=room_id, epoch=epoch, suite=Suite.from_label(suite)).key_id.hex()


def unwrap_inputs(wrapped: str, **changes: Any) -> dict[str, Any]:
    inputs = {"kem": 1, "suite": "A256GCM", "room_id": ROOM, "epoch": 3, "key_id": key_id(seed("room-key/3").hex()),
              "recipient_id": "alice", "wrapped": wrapped, "label": "wrap",
              "recipient_private": ALICE._x25519_private().hex()}
    inputs.update(changes)
    return inputs


def cases() -> list[Case]:
    from ..conformance_ops import OPS

    out = []
    made = {}
    for name, changes in {"classic": {}, "xc20p-room": {"suite": "XC20P"},
                          "history": {"label": "history-wrap"}}.items():
        inputs = wrap_inputs(**changes)
        out.append(valid(f"wrap-{name}", "wrap", f"classic HPKE wrap with a pinned ephemeral key ({name})", inputs))
        made[name] = OPS["wrap"](inputs)["wrapped"]
    out.append(valid("unwrap-classic", "unwrap", "unwrap with the recipient's X25519 key", unwrap_inputs(made["classic"])))
    out.append(valid("unwrap-history", "unwrap", "unwrap with the history label",
                     unwrap_inputs(made["history"], label="history-wrap")))
    out.append(valid("unwrap-xc20p-room", "unwrap", "unwrap in an XChaCha room (the suite is in the info)",
                     unwrap_inputs(made["xc20p-room"], suite="XC20P",
                                   key_id=key_id(seed("room-key/3").hex(), suite="XC20P"))))
    return out + _classic_failures(made["classic"]) + _xwing_cases()


def _classic_failures(wrapped: str) -> list[Case]:
    bob_private = BOB._x25519_private().hex()
    raw = bytes.fromhex(wrapped)
    other_key = key_id(seed("room-key/4").hex())
    fail = {
        "unwrap-other-recipient": (unwrap_inputs(wrapped, recipient_id="bob", recipient_private=bob_private),
                                   "E_AUTH", "MR-WRAP-RECIPIENT", "alice's wrapped key offered to bob"),
        "unwrap-other-recipient-id": (unwrap_inputs(wrapped, recipient_id="alice/phone"), "E_AUTH", "MR-WRAP-RECIPIENT",
                                      "right private key, another recipient id in the info"),
        "unwrap-other-room": (unwrap_inputs(wrapped, room_id="room-43", key_id=key_id(seed("room-key/3").hex(), "room-43")),
                              "E_AUTH", "MR-WRAP-CONTEXT", "replayed into another room"),
        "unwrap-other-epoch": (unwrap_inputs(wrapped, epoch=4, key_id=key_id(seed("room-key/3").hex(), epoch=4)),
                               "E_AUTH", "MR-WRAP-CONTEXT", "replayed into another epoch"),
        "unwrap-other-key-id": (unwrap_inputs(wrapped, key_id=other_key), "E_AUTH", "MR-WRAP-CONTEXT",
                                "presented under another key id"),
        "unwrap-other-suite": (unwrap_inputs(wrapped, suite="XC20P"), "E_AUTH", "MR-WRAP-CONTEXT", "another suite"),
        "unwrap-rotation-as-history": (unwrap_inputs(wrapped, label="history-wrap"), "E_AUTH", "MR-WRAP-CONTEXT",
                                       "a rotation wrap offered as a history wrap"),
        "unwrap-flip-enc": (unwrap_inputs(flip(raw, 3).hex()), "E_AUTH", "MR-WRAP-TAMPERED", "one bit of enc"),
        "unwrap-flip-ciphertext": (unwrap_inputs(flip(raw, 40).hex()), "E_AUTH", "MR-WRAP-TAMPERED", "one bit of ct"),
        "unwrap-flip-tag": (unwrap_inputs(flip(raw, 79).hex()), "E_AUTH", "MR-WRAP-TAMPERED", "one bit of the wrapped key's AEAD tag"),
        "unwrap-small-order-enc": (unwrap_inputs((bytes(32) + raw[32:]).hex()), "E_AUTH", "MR-WRAP-TAMPERED",
                                   "enc replaced by the all-zero (small-order) point"),
        "unwrap-truncated": (unwrap_inputs(raw[:79].hex()), "E_FORMAT", "MR-WRAP-LENGTH", "79 bytes"),
        "unwrap-classic-as-xwing": (unwrap_inputs(wrapped, kem=2, recipient_xwing_seed=seed("alice/xwing").hex()),
                                    "E_FORMAT", "MR-WRAP-LENGTH", "an 80-byte classic wrap under the X-Wing KEM"),
        "unwrap-key-mismatch": (unwrap_inputs(_mismatched()), "E_AUTH", "MR-BUNDLE-PARTITION",
                                "the info names key id K but the wrapped secret is another key: caught after unwrap"),
    }
    return [invalid(case_id, "unwrap", why, inputs, code, reject) for case_id, (inputs, code, reject, why) in fail.items()]


def _mismatched() -> str:
    """Wraps secret B under an info that names secret A's key id: a partitioning rotator's trick."""
    info = wrap_info(b"domvia-e2ee/v1 wrap", WrapKem.X25519, RoomKey(seed("room-key/3"), room_id=ROOM, epoch=3).suite,
                     ROOM, 3, bytes.fromhex(key_id(seed("room-key/3").hex())), "alice")
    return hpke.seal_base(ALICE.public.x25519, info, seed("room-key/partition"),
                          ephemeral_private=seed("ephemeral/partition")).hex()


def _xwing_cases() -> list[Case]:
    wraps = pinned()

    def inputs(name: str, recipient: str, label: str = "wrap", **changes: Any) -> dict[str, Any]:
        base = {"kem": 2, "suite": "A256GCM", "room_id": ROOM, "epoch": 1,
                "key_id": key_id(pq_secret(ROOM, 1).hex(), epoch=1), "recipient_id": recipient, "wrapped": wraps[name],
                "label": label, "recipient_xwing_seed": seed(f"{recipient}/xwing").hex()}
        base.update(changes)
        return base

    return [
        valid("unwrap-xwing", "unwrap", "X-Wing (MLKEM768-X25519) unwrap", inputs("erin-wrap", "erin")),
        valid("unwrap-xwing-history", "unwrap", "X-Wing unwrap with the history label",
              inputs("erin-history", "erin", "history-wrap")),
        invalid("unwrap-xwing-other-recipient", "unwrap", "erin's X-Wing wrap offered to alice",
                inputs("erin-wrap", "erin", recipient_id="alice", recipient_xwing_seed=seed("alice/xwing").hex()),
                "E_AUTH", "MR-WRAP-RECIPIENT"),
        invalid("unwrap-xwing-other-epoch", "unwrap", "X-Wing wrap replayed into epoch 2",
                inputs("erin-wrap", "erin", epoch=2, key_id=key_id(pq_secret(ROOM, 1).hex(), epoch=2)),
                "E_AUTH", "MR-WRAP-CONTEXT"),
        invalid("unwrap-xwing-flip-mlkem", "unwrap", "one bit of the ML-KEM ciphertext (implicit rejection, then AEAD)",
                inputs("erin-wrap", "erin", wrapped=flip(bytes.fromhex(wraps["erin-wrap"]), 100).hex()),
                "E_AUTH", "MR-WRAP-TAMPERED"),
    ]
