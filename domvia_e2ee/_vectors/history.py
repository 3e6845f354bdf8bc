"""Vectors for history bundles bound to the chain (group state v2)."""

from __future__ import annotations

from typing import Any

from ..group.bundle import Bundle
from ..group.history import HistoryBundle
from .fixtures import ROOM, Case, invalid, private_obj, seed, valid
from .scenario import OPS, PEOPLE, accept, bundle_hex, proof_of, public, secret, session


def _roster(epoch: int, names: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    bundle = Bundle.from_bytes(bytes.fromhex(bundle_hex(epoch)))
    return [{"identity": m.entry.identity().to_dict(), "wrapped_digest": m.entry.wrapped_digest.hex()}
            for m in bundle.members if names is None or m.participant_id in names]


def _header(epoch: int) -> str:
    return Bundle.from_bytes(bytes.fromhex(bundle_hex(epoch))).header.to_bytes().hex()


def history_inputs(*, sharer: str = "alice", recipient: str = "dave", anchor: int = 3,
                   entries: list[dict[str, Any]] | None = None, proof_epoch: int | None = None) -> dict[str, Any]:
    entries = entries if entries is not None else [
        {"header": _header(1), "secret": secret(1).hex(), "roster": _roster(1),
         "ephemeral": seed("ephemeral/history/1").hex()},
        {"header": _header(2), "secret": None, "roster": [], "ephemeral": None}]
    return {"sharer": private_obj(PEOPLE[sharer]), "recipient": public(recipient), "room_id": ROOM,
            "anchor_epoch": anchor, "issued_at": 1764400000, "kem": 1, "entries": entries,
            "sharer_proof": proof_of(proof_epoch or anchor, sharer)}


def _history(**changes: Any) -> str:
    return str(OPS["build_history"](history_inputs(**changes))["history"])


def _flip_signature(data: str) -> str:
    raw = bytes.fromhex(data)
    history = HistoryBundle.from_bytes(raw)
    at = 4 + len(history.body())
    return (raw[:at] + bytes((raw[at] ^ 0x01,)) + raw[at + 1 :]).hex()


def history_cases() -> list[Case]:
    h = _history()
    b3 = bundle_hex(3)
    dave = ("bob",)
    mallory_roster = [*_roster(1, ("alice", "bob")), {"identity": public("mallory"), "wrapped_digest": "00" * 32}]
    invented = [{"header": _header(1), "secret": secret(1).hex(), "roster": sorted(
        mallory_roster, key=lambda m: m["identity"]["id"]), "ephemeral": seed("ephemeral/history/1").hex()},
        {"header": _header(2), "secret": None, "roster": [], "ephemeral": None}]
    forged_key = [{"header": _header(1), "secret": seed("room-key/forged").hex(), "roster": _roster(1),
                   "ephemeral": seed("ephemeral/history/1").hex()},
                  {"header": _header(2), "secret": None, "roster": [], "ephemeral": None}]
    out = [valid("build-history", "build_history", "alice shares epoch 1 with dave (epoch 2 as a link)",
                 history_inputs()),
           valid("accept-history", "session", "dave, who joined at epoch 3, accepts epochs 1 and 2",
                 session("dave", [accept(b3), accept(h)], anchors=dave)),
           valid("accept-history-twice", "session", "the same history bundle again commits nothing",
                 session("dave", [accept(b3), accept(h), accept(h)], anchors=dave))]
    fail: dict[str, tuple[dict[str, Any], str, str, str]] = {
        "history-other-recipient": (session("bob", [accept(bundle_hex(1)), accept(h)]), "E_NOT_RECIPIENT",
                                    "MR-HIST-RECIPIENT", "dave's history bundle delivered to bob"),
        "history-anchor-not-held": (session("dave", [accept(h)], anchors=dave), "E_UNKNOWN_KEY", "MR-HIST-ANCHOR",
                                    "dave has not accepted epoch 3 yet"),
        "history-sharer-not-member": (session("dave", [accept(b3), accept(_history(sharer="carol", proof_epoch=1))],
                                              anchors=dave), "E_UNAUTHORIZED", "MR-HIST-SHARER",
                                      "carol, removed, shares with her proof of epoch 1"),
        "history-bad-signature": (session("dave", [accept(b3), accept(_flip_signature(h))], anchors=dave), "E_AUTH",
                                  "MR-HIST-SIGNATURE", "one bit of the sharer's signature"),
        "history-invented-roster": (session("dave", [accept(b3), accept(_history(entries=invented))], anchors=dave),
                                    "E_AUTH", "MR-HIST-ROSTER", "epoch 1's genuine header with mallory in its roster"),
        "history-invented-epoch": (session("dave", [accept(b3), accept(_history(entries=_invented_epoch()))],
                                           anchors=dave), "E_AUTH", "MR-HIST-CHAIN",
                                   "a made-up epoch 2 header listing mallory, not the one epoch 3 chains to"),
        "history-forged-key": (session("dave", [accept(b3), accept(_history(entries=forged_key))], anchors=dave),
                               "E_AUTH", "MR-HIST-KEY", "another key wrapped under epoch 1's header"),
        "history-not-consecutive": (session("dave", [accept(b3), accept(_history(entries=forged_key[:1]))],
                                            anchors=dave), "E_FORMAT", "MR-HIST-FORMAT",
                                    "epoch 1 alone before anchor 3: epoch 2 is missing"),
        "history-version-1": (session("dave", [accept(b3), accept("44564801" + h[8:])], anchors=dave), "E_FORMAT",
                              "MR-HIST-FORMAT", "a format version 1 history bundle"),
        "history-truncated": (session("dave", [accept(b3), accept(h[:-6])], anchors=dave), "E_FORMAT",
                              "MR-HIST-FORMAT", "cut inside the sharer proof"),
    }
    return out + [invalid(case_id, "session", why, inputs, code, reject)
                  for case_id, (inputs, code, reject, why) in fail.items()]


def _invented_epoch() -> list[dict[str, Any]]:
    from .scenario import forged

    fake = forged(epoch=2, members=("alice", "mallory"), admins=("alice",), variant="/invented")
    fake_header = Bundle.from_bytes(bytes.fromhex(str(fake["bundle"]))).header.to_bytes().hex()
    return [{"header": fake_header, "secret": secret(2, "/invented").hex(),
             "roster": [{"identity": m.entry.identity().to_dict(), "wrapped_digest": m.entry.wrapped_digest.hex()}
                        for m in Bundle.from_bytes(bytes.fromhex(str(fake["bundle"]))).members],
             "ephemeral": seed("ephemeral/history/2").hex()}]
