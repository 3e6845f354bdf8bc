"""Must-fail vectors for group-state rules that need hand-built inputs: invalid keys inside signed
rosters, a history bundle under another KEM, a malformed member proof file, closed replay state."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

from .. import labels
from ..encoding import Writer
from ..group.bundle import Bundle, Plan, SignedHeader
from ..group.header import NO_PREVIOUS, EpochHeader, Flag, RoomPolicy
from ..group.history import HistoryBundle, HistoryEntry, SharedEpoch, assemble_history
from ..group.members import Member, MemberProof, RosterEntry
from ..hazmat import merkle
from ..keys import RoomKey
from ..wrap import WrapKem, _wrap_with_ephemeral
from .fixtures import ROOM, Case, invalid, seed
from .scenario import PEOPLE, accept, bundle_hex, member_proof_hex, message, open_step, session, slice_hex

# An Ed25519 encoding of a small-order point (the identity): no valid key, no valid signature.
BAD_ED25519 = bytes([1]) + bytes(31)


def _bad_member(name: str, wrapped: bytes) -> Member:
    who = PEOPLE[name].public
    entry = RosterEntry.make(name, who.x25519, BAD_ED25519, b"", hashlib.sha256(wrapped).digest())
    return Member(entry, wrapped)


def _bundle_with_bad_key(epoch: int, bad: str, rotator: str, previous: bytes, members: tuple[str, ...]) -> Bundle:
    key = RoomKey(seed(f"room-key/bad/{epoch}"), room_id=ROOM, epoch=epoch)
    built = []
    for name in sorted(members):
        wrapped = _wrap_with_ephemeral(key, PEOPLE[name].public, seed(f"ephemeral/bad/{name}/{epoch}"))
        built.append(_bad_member(name, wrapped) if name == bad else Member.make(PEOPLE[name].public, wrapped))
    tree = merkle.Tree([m.entry.leaf() for m in built])
    admins = (("alice", PEOPLE["alice"].public.fingerprint),)
    header = EpochHeader(WrapKem.X25519, key.suite, ROOM, epoch, key.key_id, previous, rotator, 1764000000, Flag(0),
                         RoomPolicy(), admins, len(built), tree.root)
    signature = PEOPLE[rotator].sign(header.signed_bytes()) if rotator != bad else bytes(64)
    return Bundle(SignedHeader(header, signature, None), tuple(built))


def _rotator_bad_key() -> str:
    """alice's own entry carries a small-order Ed25519 key: step 2 refuses it before any signature."""
    return _bundle_with_bad_key(1, "alice", "alice", NO_PREVIOUS, ("alice", "bob")).to_bytes().hex()


def _bad_sharer_history() -> tuple[str, str]:
    """zed is listed with an invalid Ed25519 key in epochs 1 and 2; zed "shares" epoch 1 with bob."""
    one = _bundle_with_bad_key(1, "mallory", "alice", NO_PREVIOUS, ("alice", "bob", "mallory"))
    two = _bundle_with_bad_key(2, "mallory", "alice", one.header.epoch_hash(), ("alice", "bob", "mallory"))
    shared = [SharedEpoch(one.header.to_bytes(), None, ())]
    history = assemble_history(PEOPLE["mallory"], PEOPLE["bob"].public, shared, [b""], room_id=ROOM,
                               anchor_epoch=2, kem=WrapKem.X25519, issued_at=1764400000,
                               sharer_proof=two.proof_for("mallory"))
    unsigned = dataclasses.replace(history, signature=bytes(64))  # zed has no valid key to sign with
    return two.to_bytes().hex(), unsigned.to_bytes().hex()


def _history_other_kem() -> str:
    """alice shares epoch 2 with dave under X-Wing sizes while the anchor epoch 3 is classic."""
    b2 = Bundle.from_bytes(bytes.fromhex(bundle_hex(2)))
    b3 = Bundle.from_bytes(bytes.fromhex(bundle_hex(3)))
    entry = HistoryEntry(b2.header.to_bytes(), b2.header, seed("xwing-sized", WrapKem.MLKEM768_X25519.wrapped_size),
                         tuple(m.entry for m in b2.members))
    unsigned = HistoryBundle(ROOM, "alice", "dave", 3, 1764400000, WrapKem.MLKEM768_X25519, (entry,), b"",
                             b3.proof_for("alice"))
    signed = HistoryBundle(ROOM, "alice", "dave", 3, 1764400000, WrapKem.MLKEM768_X25519, (entry,),
                           PEOPLE["alice"].sign(labels.SIG_HISTORY + unsigned.body()), b3.proof_for("alice"))
    return signed.to_bytes().hex()


def cases() -> list[Case]:
    b1, b2, b3 = bundle_hex(1), bundle_hex(2), bundle_hex(3)
    anchor, bad_history = _bad_sharer_history()
    fail: dict[str, tuple[dict[str, Any], str, str, str]] = {
        "bundle-rotator-bad-key": (session("bob", [accept(_rotator_bad_key())]), "E_BAD_KEY", "MR-EPOCH-ROTATOR-KEY",
                                   "the rotator's member entry holds a small-order Ed25519 key"),
        "history-sharer-bad-key": (session("bob", [accept(anchor), accept(bad_history)]), "E_BAD_KEY",
                                   "MR-HIST-SHARER-KEY", "a listed member with an invalid Ed25519 key shares history"),
        "history-other-kem": (session("dave", [accept(b3), accept(_history_other_kem())], anchors=("bob",)),
                              "E_DOWNGRADE", "MR-HIST-KEM", "keys wrapped with X-Wing sizes for a classic anchor epoch"),
        "member-proof-trailing-byte": (session("bob", [accept(b1), accept(b2), accept(member_proof_hex(2, "alice")
                                                                                       + "00")]),
                                       "E_FORMAT", "MR-PROOF-FORMAT", "a byte after the member proof"),
        "keyring-replay-state-closed": (session("bob", [accept(b1), open_step(message(1, "alice", "msg-c1")),
                                                        open_step(message(1, "alice", "msg-c2")),
                                                        open_step(message(1, "alice", "msg-c3"))]) | {
            "replay_capacity": 2}, "E_STALE", "MR-MSG-REPLAY-CLOSED",
            "with room for 2 entries, epoch 1 is closed after two messages: a third is refused, not evicted"),
        "keyring-replay-state-dropped": (session("bob", [accept(b1), accept(b2), open_step(message(1, "alice", "m"))])
                                         | {"live_epochs": 1}, "E_STALE", "MR-MSG-REPLAY-CLOSED",
                                         "with one live epoch, a live message of epoch 1 after epoch 2 is refused"),
    }
    return [invalid(case_id, "session", why, inputs, code, reject)
            for case_id, (inputs, code, reject, why) in fail.items()] + session_cases() + edge_signature_cases()


__all__ = ["cases", "Writer", "MemberProof", "Plan"]


# -- sessions that go on after a refused step ---------------------------------------------------


def _tampered(data: str) -> str:
    raw = bytearray(bytes.fromhex(data))
    raw[-70] ^= 0x01  # inside the ciphertext, before the signature: the signature no longer verifies
    return bytes(raw).hex()


def _same_header_other_members() -> str:
    """Epoch 2's signed header with a member list that does not hash to its root (an outsider swapped in)."""
    bundle = Bundle.from_bytes(bytes.fromhex(bundle_hex(2)))
    mallory = PEOPLE["mallory"].public
    members = tuple(Member(RosterEntry.make("bob", mallory.x25519, mallory.ed25519, b"", m.entry.wrapped_digest),
                           m.wrapped) if m.participant_id == "bob" else m for m in bundle.members)
    return Bundle(bundle.signed, members).to_bytes().hex()


def _index_past_size() -> str:
    """dave's member proof of epoch 3 with index = member count (one past the last leaf)."""
    raw = bytes.fromhex(member_proof_hex(3, "dave"))
    bundle = Bundle.from_bytes(bytes.fromhex(bundle_hex(3)))
    proof = bundle.proof_for("dave")
    moved = MemberProof(proof.entry, bundle.header.member_count, proof.path)
    head = raw[: 4 + 1 + len(ROOM) + 4]
    return (head + moved.write(Writer()).u32(0).getvalue()).hex()  # no device list: dave is no user's device


def _other_carol() -> dict[str, Any]:
    from ..identity import Identity

    other = Identity("carol", x25519_private=seed("carol-other/x25519"), ed25519_seed=seed("carol-other/ed25519"))
    return other.public.to_dict()


def _seal(message_id: str, content: bytes = b"hello from bob") -> dict[str, Any]:
    return {"seal": {"room_id": ROOM, "content": content.hex(), "message_id": message_id,
                     "nonce": seed(f"nonce/session/{message_id}", 12).hex()}}


def session_cases() -> list[Case]:
    from .fixtures import valid

    b1, b2 = bundle_hex(1), bundle_hex(2)
    hello = message(1, "alice", "msg-0001")
    pinned_carol = session("bob", [accept(b1)])
    pinned_carol["directory"].append(_other_carol())
    out = [
        valid("keyring-forgery-does-not-burn-id", "session", "a tampered copy is refused, then the genuine message opens",
              session("bob", [accept(b1), open_step(_tampered(hello)) | {"may_fail": True}, open_step(hello)])),
        valid("keyring-refused-roster-changes-nothing", "session",
              "a slice holder refuses epoch 2's header with another member list, and holds what it held",
              session("bob", [accept(b1), accept(slice_hex(2, "bob")),
                              accept(_same_header_other_members()) | {"may_fail": True}])),
        valid("keyring-refused-bundle-changes-nothing", "session", "carol's own epoch 2 is refused; alice's is accepted",
              session("bob", [accept(b1), accept(str(_carol_epoch_2())) | {"may_fail": True}, accept(b2)])),
        valid("keyring-identity-change-reported", "session",
              "bob pinned another identity under carol's id: the roster's carol is reported, the pin is not replaced",
              pinned_carol),
        valid("keyring-seal", "session", "bob seals and signs in epoch 2, the latest epoch he holds",
              session("bob", [accept(b1), accept(b2), _seal("b-1")])),
    ]
    fail: dict[str, tuple[dict[str, Any], str, str, str]] = {
        "member-proof-index-past-size": (session("bob", [accept(b1), accept(b2), accept(slice_hex(3, "bob")),
                                                         accept(_index_past_size())]), "E_AUTH", "MR-PROOF-ROOT",
                                         "a member proof whose index is the member count"),
        "keyring-seal-reused-id": (session("bob", [accept(b1), _seal("b-2"), _seal("b-2", b"another text")]), "E_POLICY",
                                   "MR-SEAL-REUSED-ID", "bob seals a second, different message under the same id"),
        "keyring-seal-key-exhausted": (session("bob", [accept(b1), {"set_sealed": {"room_id": ROOM, "epoch": 1,
                                                                                    "count": 1 << 32}}, _seal("b-3")]),
                                       "E_KEY_EXHAUSTED", "MR-SEAL-EXHAUSTED",
                                       "bob has sealed 2^32 messages in epoch 1: the next seal is refused"),
    }
    return out + [invalid(case_id, "session", why, inputs, code, reject) for case_id, (inputs, code, reject, why) in fail.items()]


def _carol_epoch_2() -> str:
    from .scenario import forged

    return str(forged(epoch=2, rotator="carol", members=("bob", "carol"), admins=("alice",), variant="/c2")["bundle"])


# -- Ed25519 signatures that satisfy the equation, on epoch headers and history bundles ---------


def edge_signature_cases() -> list[Case]:
    """Every signature edge case of _vectors.signatures that keeps the signer's key, on alice's epoch-1 header
    (as a bundle and as an announcement) and on her history bundle for dave: each must be E_AUTH."""
    from .history import _history
    from .signatures import edge_signatures

    alice_seed = seed("alice/ed25519")
    bundle = Bundle.from_bytes(bytes.fromhex(bundle_hex(1)))
    history = HistoryBundle.from_bytes(bytes.fromhex(_history()))
    out = []
    for edge in edge_signatures(alice_seed, bundle.header.signed_bytes()):
        if edge.replaces_key:
            continue  # a replaced rotator key is refused as a key (bundle-rotator-bad-key), before any signature
        forged = Bundle(SignedHeader(bundle.header, edge.signature, None), bundle.members)
        out.append(invalid(f"bundle-signature-{edge.name}", "session", f"epoch header signature: {edge.description}",
                           session("bob", [accept(forged.to_bytes().hex())]), "E_AUTH", "MR-BUNDLE-SIGNATURE"))
        announced = forged.announcement()
        out.append(invalid(f"announcement-signature-{edge.name}", "session",
                           f"announcement signature: {edge.description}",
                           session("mallory", [accept(announced.to_bytes().hex())]), "E_AUTH", "MR-BUNDLE-SIGNATURE"))
    for edge in edge_signatures(alice_seed, labels.SIG_HISTORY + history.body()):
        if edge.replaces_key:
            continue
        forged_history = dataclasses.replace(history, signature=edge.signature)
        out.append(invalid(f"history-signature-{edge.name}", "session", f"history signature: {edge.description}",
                           session("dave", [accept(bundle_hex(3)), accept(forged_history.to_bytes().hex())],
                                   anchors=("bob",)), "E_AUTH", "MR-HIST-SIGNATURE"))
    return out
