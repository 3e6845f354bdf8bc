"""Vectors for opening through a key ring: membership, unsigned policy, replay, rosters."""

from __future__ import annotations

from typing import Any

from ..message import SealedMessage
from .fixtures import Case, invalid, valid
from .scenario import NAMES, accept, bundle_hex, member_proof_hex, message, open_step, session, slice_hex

ALL = tuple(n for n in NAMES)


def _json(data: str) -> dict[str, Any]:
    return {"open": {"json": SealedMessage.from_bytes(bytes.fromhex(data)).to_json()}, "check_replay": True}


def _moved_room(data: str) -> str:
    raw = bytes.fromhex(data)
    return raw.replace(b"\x07room-42", b"\x07room-43", 1).hex()


def _moved_id(data: str) -> str:
    raw = bytes.fromhex(data)
    return raw.replace(b"msg-0001", b"msg-0009", 1).hex()


def cases() -> list[Case]:
    b1, b2, b3 = bundle_hex(1), bundle_hex(2), bundle_hex(3)
    hello = message(1, "alice", "msg-0001")
    e2 = message(2, "alice", "msg-0002")
    bot = message(1, "bob", "msg-bot-1", signed=False)
    out = [
        valid("keyring-open-signed", "session", "bob opens alice's signed epoch-1 message",
              session("bob", [accept(b1), open_step(hello)])),
        valid("keyring-open-json", "session", "the JSON form through the key ring", session("bob", [accept(b1), _json(hello)])),
        valid("keyring-open-old-epoch", "session", "a message of epoch 1 from a remaining member, live after rotation",
              session("bob", [accept(b1), accept(b2), open_step(hello), open_step(e2)])),
        valid("keyring-removed-sender-history", "session", "a former member's old message re-read from stored history",
              session("bob", [accept(b1), accept(b2), open_step(message(1, "carol", "msg-0003"), False)])),
        valid("keyring-reread-history", "session", "re-reading stored history skips the replay check on purpose",
              session("bob", [accept(b1), open_step(hello, False), open_step(hello, False)])),
        valid("keyring-roster-then-open", "session", "after the full bundle fills the roster, the slice epoch opens",
              session("bob", [accept(b1), accept(slice_hex(2, "bob")), accept(b2), open_step(e2)])),
        valid("keyring-member-proof-then-open", "session", "a slice holder opens alice's message after her member proof",
              session("bob", [accept(b1), accept(slice_hex(2, "bob")), accept(slice_hex(3, "bob")),
                              accept(member_proof_hex(3, "dave")), open_step(message(3, "dave", "msg-0004"))])),
        valid("keyring-unsigned-allowed", "session", "a bot's unsigned message where unsigned mode is on",
              session("alice", [accept(b1), open_step(bot)], allow_unsigned=True)),
    ]
    fail: dict[str, tuple[dict[str, Any], str, str, str]] = {
        "keyring-replay": (session("bob", [accept(b1), open_step(hello), open_step(hello)]), "E_REPLAY", "MR-MSG-REPLAY",
                           "the same authentic message twice"),
        "keyring-replay-json-after-binary": (session("bob", [accept(b1), open_step(hello), _json(hello)]), "E_REPLAY",
                                             "MR-MSG-REPLAY", "the same message in the other wire form"),
        "keyring-unknown-epoch": (session("bob", [accept(b1), open_step(e2)]), "E_UNKNOWN_KEY", "MR-MSG-UNKNOWN-KEY",
                                  "epoch 2's bundle has not arrived"),
        "keyring-removed-member": (session("carol", [accept(b1), open_step(e2)]), "E_UNKNOWN_KEY", "MR-MSG-UNKNOWN-KEY",
                                   "carol, removed at epoch 2, cannot read epoch 2"),
        "keyring-not-member-then": (session("carol", [accept(b1), accept(b2), open_step(e2)]), "E_NOT_MEMBER",
                                    "MR-MSG-NOT-MEMBER", "carol holds epoch 2 as a link: she was not a member then"),
        "keyring-fork-message": (session("bob", [accept(b1), open_step(message(1, "alice", "m-fork",
                                                                                secret_variant="/fork"))]),  # noqa: S106 - a key label
                                 "E_FORK", "MR-CHAIN-FORK", "alice signs a message naming epoch 1 with another key id"),
        "keyring-slice-removed-injects": (session("bob", [accept(b1), accept(slice_hex(2, "bob")),
                                                          open_step(message(1, "carol", "m"))]), "E_UNKNOWN_SENDER",
                                          "MR-MSG-REMOVED-SENDER",
                                          "a slice holder never accepts carol's new epoch-1 message: no proof of epoch 2"),
        "keyring-joiner-reads-history": (session("dave", [accept(b3), open_step(hello)], anchors=("alice", "bob")),
                                         "E_UNKNOWN_KEY", "MR-MSG-UNKNOWN-KEY", "dave joined at epoch 3: epoch 1 is not his"),
        "keyring-cross-room": (session("bob", [accept(b1), open_step(_moved_room(hello))]), "E_UNKNOWN_KEY",
                               "MR-MSG-UNKNOWN-KEY", "a message moved to another room"),
        "keyring-cross-message-id": (session("bob", [accept(b1), open_step(_moved_id(hello))]), "E_AUTH",
                                     "MR-MSG-TAMPERED", "a message moved to another message id"),
        "keyring-slice-roster-unknown": (session("bob", [accept(b1), accept(slice_hex(2, "bob")),
                                                         accept(slice_hex(3, "bob")),
                                                         open_step(message(3, "dave", "msg-0004"))]),
                                         "E_UNKNOWN_SENDER", "MR-MSG-NONMEMBER",
                                         "epoch 3 came as a slice: dave's membership is not proved yet"),
        "keyring-non-member": (session("bob", [accept(b1), open_step(message(1, "mallory", "m"))]), "E_UNAUTHORIZED",
                               "MR-MSG-NONMEMBER", "mallory signs with epoch 1's key but is not a member"),
        "keyring-removed-sender": (session("bob", [accept(b1), accept(b2), open_step(message(2, "carol", "m"))]),
                                   "E_UNAUTHORIZED", "MR-MSG-NONMEMBER", "carol signs in epoch 2, after her removal"),
        "keyring-removed-sender-injects": (session("bob", [accept(b1), accept(b2), open_step(message(1, "carol", "m"))]),
                                           "E_UNAUTHORIZED", "MR-MSG-REMOVED-SENDER",
                                           "carol, removed at epoch 2, signs a new message under epoch 1's key"),
        "keyring-unsigned-superseded": (session("alice", [accept(b1), accept(b2), open_step(bot)], allow_unsigned=True),
                                        "E_STALE", "MR-MSG-REMOVED-SENDER",
                                        "a live unsigned message in epoch 1 once epoch 2 is held"),
        "keyring-unsigned-refused": (session("alice", [accept(b1), open_step(bot)]), "E_POLICY", "MR-MSG-UNSIGNED",
                                     "unsigned mode is off by default"),
        "keyring-unsigned-non-member": (session("alice", [accept(b1), open_step(message(1, "mallory", "m", signed=False))],
                                                allow_unsigned=True), "E_UNAUTHORIZED", "MR-MSG-NONMEMBER",
                                        "an unsigned message under a sender id that is not a member"),
    }
    return out + [invalid(case_id, "session", why, inputs, code, reject)
                  for case_id, (inputs, code, reject, why) in fail.items()]


__all__ = ["cases", "ALL"]
