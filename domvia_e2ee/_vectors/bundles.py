"""Vectors for rotation bundles, slices and history bundles."""

from __future__ import annotations

from typing import Any

from ..bundle import Bundle, Member, Slice, _assemble
from ..hazmat import hpke
from ..hazmat.suites import Suite
from ..identity import PublicIdentity
from ..keys import RoomKey
from ..wrap import WrapKem, _wrap_with_ephemeral, wrap_info
from .fixtures import ROOM, Case, flip, identity, invalid, private_obj, seed, valid
from .pinned import PQ_ROOM, pinned, pq_secret
from .scenario import (
    ISSUED_AT, PEOPLE, accept, build_inputs, bundle_hex, proof_obj, public, room_key, secret, session, slice_hex,
)


def cases() -> list[Case]:
    out = [valid(f"build-bundle-epoch-{e}", "build_bundle", why, build_inputs(e)) for e, why in (
        (1, "alice creates the room with bob and carol; no proof (alice is an admin)"),
        (2, "alice removes carol; proof of alice's membership of epoch 1"),
        (3, "bob adds dave; proof of bob's membership of epoch 2"))]
    out += [
        valid("accept-bundle-epoch-1", "session", "bob accepts the first bundle from an admin",
              session("bob", [accept(bundle_hex(1))])),
        valid("accept-epochs-1-to-3", "session", "bob follows the room: bundle, slice, bundle",
              session("bob", [accept(bundle_hex(1)), accept(slice_hex(2, "bob")), accept(bundle_hex(3))])),
        valid("accept-slice-then-roster", "session", "a full bundle with the held header fills in the roster",
              session("bob", [accept(bundle_hex(1)), accept(slice_hex(2, "bob")), accept(bundle_hex(2))])),
        valid("accept-joiner-first-bundle", "session", "dave joins at epoch 3; bob, his inviter, is an admin for him",
              session("dave", [accept(bundle_hex(3))], admins=("alice", "bob"))),
        valid("accept-only-slices", "session", "alice follows by slices only, her own included",
              session("alice", [accept(slice_hex(1, "alice")), accept(slice_hex(2, "alice")),
                                accept(slice_hex(3, "alice"))])),
        valid("accept-admin-rotation", "session", "a room where only admins rotate: alice's bundles are accepted",
              session("bob", [accept(bundle_hex(1)), accept(bundle_hex(2))], admin_rotation=True)),
        valid("accept-partition-other-member", "session", "carol's key in the partitioning bundle is the signed one",
              session("carol", [accept(_partition_bundle())])),
        valid("accept-xwing-bundle", "session", "a post-quantum room: X-Wing wrapped keys", _xwing_session()),
    ]
    return out + _bundle_failures() + _format_failures()


def _partition_bundle() -> str:
    """Alice wraps the epoch-1 key to carol, but another key to bob under the same signed key id."""
    key = room_key(1)
    members = sorted((PEOPLE[n].public for n in ("alice", "bob", "carol")), key=lambda m: m.participant_id)
    wrapped = []
    for member in members:
        if member.participant_id == "bob":
            info = wrap_info(b"domvia-e2ee/v1 wrap", WrapKem.X25519, Suite.AES_256_GCM, ROOM, 1, key.key_id, "bob")
            wrapped.append(hpke.seal_base(member.x25519, info, seed("room-key/partition"),
                                          ephemeral_private=seed("ephemeral/partition/bob")))
        else:
            wrapped.append(_wrap_with_ephemeral(key, member, seed(f"ephemeral/{member.participant_id}/p")))
    return _assemble(PEOPLE["alice"], key, members, wrapped, kem=WrapKem.X25519, issued_at=ISSUED_AT,
                     proof=None).to_bytes().hex()


def _xwing_bundle() -> str:
    wraps = pinned()
    key = RoomKey(pq_secret(PQ_ROOM, 1), room_id=PQ_ROOM, epoch=1)
    members = [identity("alice", post_quantum=True).public, identity("bob", post_quantum=True).public]
    wrapped = [bytes.fromhex(wraps["alice-pq-room"]), bytes.fromhex(wraps["bob-pq-room"])]
    return _assemble(identity("alice", post_quantum=True), key, members, wrapped, kem=WrapKem.MLKEM768_X25519,
                     issued_at=ISSUED_AT, proof=None).to_bytes().hex()


def _xwing_session() -> dict[str, Any]:
    return {"owner": private_obj(identity("bob", post_quantum=True)), "allow_unsigned": False,
            "directory": [identity("alice", post_quantum=True).public.to_dict()],
            "admins": [{"room_id": PQ_ROOM, "id": "alice"}], "steps": [accept(_xwing_bundle())]}


def _resigned(epoch: int, signer: str, rotator_id: str | None = None) -> str:
    """The epoch's bundle with its header signed by someone else (keeping or changing the rotator id)."""
    inputs = build_inputs(epoch, rotator=signer)
    if rotator_id is not None:
        inputs["rotator"] = private_obj(PEOPLE[signer]) | {"id": rotator_id}
    from ..conformance_ops import OPS

    return str(OPS["build_bundle"](inputs)["bundle"])


def _replace_member(epoch: int, name: str, fingerprint_of: str) -> str:
    bundle = Bundle.from_bytes(bytes.fromhex(bundle_hex(epoch)))
    members = tuple(Member(m.participant_id, PEOPLE[fingerprint_of].public.fingerprint, m.wrapped)
                    if m.participant_id == name else m for m in bundle.members)
    return Bundle(bundle.header, bundle.signature, bundle.proof, members).to_bytes().hex()


def _bundle_failures() -> list[Case]:
    b1, b2, b3 = bundle_hex(1), bundle_hex(2), bundle_hex(3)
    other_bob = identity("bob-other-keys")
    fail: dict[str, tuple[dict[str, Any], str, str, str]] = {
        "bundle-unknown-signer": (session("bob", [accept(b1)], directory=("bob", "carol"), admins=()),
                                  "E_UNKNOWN_SENDER", "MR-BUNDLE-UNKNOWN-SIGNER", "alice's identity is not known"),
        "bundle-bad-signature": (session("bob", [accept(flip(bytes.fromhex(b1), 4 + 10, 0x80).hex()[:0] +
                                                        _flip_signature(b1))]),
                                 "E_AUTH", "MR-BUNDLE-SIGNATURE", "one bit of the bundle signature"),
        "bundle-forged-by-server": (session("bob", [accept(_resigned(1, "server", "alice"))]), "E_AUTH",
                                    "MR-BUNDLE-SIGNATURE", "the server signs a bundle in alice's name with its own key"),
        "bundle-server-own-name": (session("bob", [accept(_resigned(1, "server"))]), "E_UNAUTHORIZED",
                                   "MR-BUNDLE-UNAUTHORIZED", "the server signs as itself: neither admin nor member"),
        "bundle-server-swaps-member": (session("bob", [accept(_replace_member(1, "carol", "mallory"))]), "E_AUTH",
                                       "MR-BUNDLE-ROOT", "the server lists mallory's fingerprint for carol"),
        "bundle-server-adds-member": (session("bob", [accept(_add_member(b1))]), "E_AUTH", "MR-BUNDLE-SIGNATURE",
                                      "the server raises the member count and appends mallory"),
        "bundle-rollback": (session("bob", [accept(b1), accept(b2), accept(b1)]), "E_STALE", "MR-BUNDLE-STALE",
                            "epoch 1 again after epoch 2"),
        "bundle-replay": (session("bob", [accept(b1), accept(b2), accept(b2)]), "E_STALE", "MR-BUNDLE-STALE",
                          "epoch 2 twice"),
        "bundle-roster-bad-signature": (session("bob", [accept(b1), accept(slice_hex(2, "bob")),
                                                       accept(_flip_signature(b2))]), "E_AUTH", "MR-BUNDLE-SIGNATURE",
                                        "a full bundle with the held header but a forged signature cannot fill the roster"),
        "bundle-replay-slice": (session("bob", [accept(b1), accept(slice_hex(1, "bob"))]), "E_STALE", "MR-BUNDLE-STALE",
                                "a slice of a held epoch"),
        "bundle-missed-epoch": (session("alice", [accept(b1), accept(b3)]), "E_UNAUTHORIZED", "MR-BUNDLE-UNAUTHORIZED",
                                "bob's epoch 3 when alice holds only epoch 1 and bob is no admin"),
        "bundle-non-admin-first": (session("dave", [accept(b3)]), "E_UNAUTHORIZED", "MR-BUNDLE-UNAUTHORIZED",
                                   "a joiner's first bundle from a non-admin"),
        "bundle-removed-member": (session("bob", [accept(b1), accept(b2), accept(b3), accept(bundle_hex(4))]),
                                  "E_UNAUTHORIZED", "MR-BUNDLE-UNAUTHORIZED", "carol, removed at epoch 2, signs epoch 4"),
        "bundle-member-rotation-refused": (session("alice", [accept(b1), accept(b2), accept(b3)], admin_rotation=True),
                                           "E_UNAUTHORIZED", "MR-BUNDLE-UNAUTHORIZED",
                                           "bob, a member but no admin, rotates a room where only admins may"),
        "bundle-outsider": (session("bob", [accept(b1), accept(_resigned(2, "mallory"))]), "E_UNAUTHORIZED",
                            "MR-BUNDLE-UNAUTHORIZED", "mallory has an identity but was never a member"),
        "bundle-removed-recipient": (session("carol", [accept(b1), accept(b2)]), "E_NOT_RECIPIENT",
                                     "MR-BUNDLE-NOT-LISTED", "carol is not in epoch 2"),
        "slice-for-someone-else": (session("carol", [accept(b1), accept(slice_hex(2, "bob"))]), "E_NOT_RECIPIENT",
                                   "MR-BUNDLE-NOT-LISTED", "bob's slice offered to carol"),
        "bundle-other-fingerprint": (session("bob", [accept(b1)], owner_identity=_renamed(other_bob, "bob")),
                                     "E_NOT_RECIPIENT", "MR-BUNDLE-NOT-LISTED", "bob listed with another identity"),
        "bundle-partition": (session("bob", [accept(_partition_bundle())]), "E_AUTH", "MR-BUNDLE-PARTITION",
                             "bob's wrapped key is not the key the signed key id commits to"),
        "slice-flipped-path": (session("bob", [accept(b1), accept(_slice_edit(2, "bob", "path"))]), "E_AUTH",
                               "MR-SLICE-PATH", "one bit of the inclusion path"),
        "slice-wrong-index": (session("bob", [accept(b1), accept(_slice_edit(2, "bob", "index"))]), "E_AUTH",
                              "MR-SLICE-PATH", "the leaf index of another member"),
        "slice-tampered-wrapped": (session("bob", [accept(b1), accept(_slice_edit(2, "bob", "wrapped"))]), "E_AUTH",
                                   "MR-SLICE-PATH", "one bit of the wrapped key: the leaf no longer verifies"),
        "bundle-tampered-wrapped": (session("bob", [accept(_flip_member_wrapped(b1, "bob"))]), "E_AUTH",
                                    "MR-BUNDLE-ROOT", "one bit of bob's wrapped key in a full bundle"),
    }
    return [invalid(case_id, "session", why, inputs, code, reject) for case_id, (inputs, code, reject, why) in fail.items()]


def _renamed(who: Any, name: str) -> Any:
    from ..identity import Identity

    obj = who.to_private_dict() | {"id": name}
    return Identity.from_private_dict(obj)


def _flip_signature(data: str) -> str:
    bundle = Bundle.from_bytes(bytes.fromhex(data))
    return Bundle(bundle.header, flip(bundle.signature, 5), bundle.proof, bundle.members).to_bytes().hex()


def _add_member(data: str) -> str:
    bundle = Bundle.from_bytes(bytes.fromhex(data))
    mallory = PEOPLE["mallory"].public
    extra = Member("mallory", mallory.fingerprint, _wrap_with_ephemeral(room_key(1), mallory, seed("ephemeral/mallory")))
    header = bundle.header.__class__(**{**bundle.header.__dict__, "member_count": bundle.header.member_count + 1})
    members = tuple(sorted((*bundle.members, extra), key=lambda m: m.participant_id))
    return Bundle(header, bundle.signature, bundle.proof, members).to_bytes().hex()


def _slice_edit(epoch: int, member: str, what: str) -> str:
    piece = Slice.from_bytes(bytes.fromhex(slice_hex(epoch, member)))
    if what == "path":
        piece = Slice(piece.header, piece.signature, piece.proof, piece.member, piece.index,
                      (flip(piece.path[0], 0), *piece.path[1:]))
    elif what == "index":
        piece = Slice(piece.header, piece.signature, piece.proof, piece.member, piece.index ^ 1, piece.path)
    else:
        m = piece.member
        piece = Slice(piece.header, piece.signature, piece.proof, Member(m.participant_id, m.fingerprint,
                      flip(m.wrapped, 50)), piece.index, piece.path)
    return piece.to_bytes().hex()


def _flip_member_wrapped(data: str, name: str) -> str:
    bundle = Bundle.from_bytes(bytes.fromhex(data))
    members = tuple(Member(m.participant_id, m.fingerprint, flip(m.wrapped, 50)) if m.participant_id == name else m
                    for m in bundle.members)
    return Bundle(bundle.header, bundle.signature, bundle.proof, members).to_bytes().hex()


def _format_failures() -> list[Case]:
    b1 = bytes.fromhex(bundle_hex(1))
    s2 = bytes.fromhex(slice_hex(2, "bob"))
    room_end = 4 + 2 + 1 + len(ROOM)
    count_at = room_end + 4 + 32 + 1 + len("alice") + 8
    members_at = count_at + 4 + 32 + 64 + 1
    first = Bundle.from_bytes(b1).members
    entry = 1 + len(first[0].participant_id) + 32 + 2 + 80
    swapped = b1[:members_at] + b1[members_at + entry : members_at + 2 * entry] + b1[members_at : members_at + entry] + b1[
        members_at + 2 * entry :]
    proof_at = members_at - 1
    variants = {
        "bundle-truncated": (b1[:-5], "MR-BUNDLE-FORMAT", "cut inside the last wrapped key"),
        "bundle-trailing-byte": (b1 + b"\x00", "MR-BUNDLE-FORMAT", "a byte after the last member"),
        "bundle-unknown-kem": (b1[:4] + b"\x03" + b1[5:], "MR-BUNDLE-FORMAT", "KEM 3"),
        "bundle-unknown-suite": (b1[:5] + b"\x09" + b1[6:], "MR-BUNDLE-FORMAT", "suite 9"),
        "bundle-zero-members": (b1[:count_at] + bytes(4) + b1[count_at + 4 :], "MR-BUNDLE-FORMAT", "member count 0"),
        "bundle-too-many-members": (b1[:count_at] + (100001).to_bytes(4, "big") + b1[count_at + 4 :], "MR-BUNDLE-FORMAT",
                                    "member count 100,001"),
        "bundle-unsorted-members": (swapped, "MR-BUNDLE-FORMAT", "the first two members swapped"),
        "bundle-proof-presence-2": (b1[:proof_at] + b"\x02" + b1[proof_at + 1 :], "MR-BUNDLE-FORMAT", "proof byte 2"),
        "bundle-wrapped-size": (_wrapped_size_edit(b1, members_at, len(first[0].participant_id)), "MR-BUNDLE-FORMAT",
                                "a 79-byte wrapped key under the classic KEM"),
        "slice-path-too-long": (s2[:-1 - 32 * _path_len(s2)] + bytes((33,)) + bytes(33 * 32), "MR-BUNDLE-FORMAT",
                                "a 33-node path"),
        "slice-as-bundle": (b"DVB\x01" + s2[4:], "MR-CONFUSION", "a slice with a bundle's magic"),
        "bundle-as-slice": (b"DVS\x01" + b1[4:], "MR-CONFUSION", "a bundle with a slice's magic"),
        "message-as-bundle": (bytes.fromhex(_a_message()), "MR-CONFUSION", "a sealed message offered as a bundle"),
        "bundle-version-2": (b"DVB\x02" + b1[4:], "MR-BUNDLE-FORMAT", "bundle format version 2"),
    }
    out = [invalid(case_id, "session", why, session("bob", [accept(data.hex())]), "E_FORMAT", reject)
           for case_id, (data, reject, why) in variants.items()]
    out.append(invalid("bundle-as-message", "open", "a bundle offered as a sealed message",
                       {"secret": secret(1).hex(), "suite": "A256GCM", "room_id": ROOM, "epoch": 1,
                        "binary": b1.hex()}, "E_FORMAT", "MR-CONFUSION"))
    return out


def _path_len(slice_bytes: bytes) -> int:
    return len(Slice.from_bytes(slice_bytes).path)


def _wrapped_size_edit(data: bytes, members_at: int, id_len: int) -> bytes:
    length_at = members_at + 1 + id_len + 32
    return data[:length_at] + (79).to_bytes(2, "big") + data[length_at + 2 : length_at + 2 + 79] + data[length_at + 2 + 80 :]


def _a_message() -> str:
    from .scenario import message

    return message(1, "alice", "msg-confusion")


def history_inputs(**changes: Any) -> dict[str, Any]:
    rosters = {1: ("alice", "bob", "carol"), 2: ("alice", "bob")}
    inputs = {"sharer": private_obj(PEOPLE["bob"]), "recipient": public("dave"), "room_id": ROOM, "anchor_epoch": 3,
              "issued_at": ISSUED_AT + 86400 * 3, "kem": 1,
              "entries": [{"epoch": e, "suite": "A256GCM", "secret": secret(e).hex(),
                           "roster": [[m, PEOPLE[m].public.fingerprint.hex()] for m in rosters[e]],
                           "ephemeral": seed(f"ephemeral/history/{e}").hex()} for e in (1, 2)],
              "proof": proof_obj(3, "bob")}
    inputs.update(changes)
    return inputs


def _history(**changes: Any) -> str:
    from ..conformance_ops import OPS

    return str(OPS["build_history"](history_inputs(**changes))["history"])


def history_cases() -> list[Case]:
    from .scenario import message, open_step

    dave = ("alice", "bob")
    h = _history()
    out = [valid("build-history", "build_history", "bob shares epochs 1 and 2 with dave, who joined at epoch 3",
                 history_inputs()),
           valid("accept-history", "session", "dave accepts epoch 3, then the history, then reads an epoch-1 message",
                 session("dave", [accept(bundle_hex(3)), accept(h), open_step(message(1, "alice", "msg-0100"))],
                         admins=dave)),
           valid("accept-history-admin-sharer", "session", "an admin may share without a proof",
                 session("dave", [accept(bundle_hex(3)), accept(_history(sharer=private_obj(PEOPLE["alice"]), proof=None))],
                         admins=dave))]
    mallory = _history(sharer=private_obj(PEOPLE["mallory"]), proof=None)
    bad_key = history_inputs()
    bad_key["entries"][0] = dict(bad_key["entries"][0], secret=seed("room-key/forged").hex())
    conflict = history_inputs(entries=[dict(history_inputs()["entries"][1], secret=seed("room-key/conflict").hex())])
    entries_swapped = history_inputs()
    entries_swapped["entries"] = list(reversed(entries_swapped["entries"]))
    fail = {
        "history-other-recipient": (session("carol", [accept(h)]), "E_NOT_RECIPIENT", "MR-HISTORY-RECIPIENT",
                                    "dave's history offered to carol"),
        "history-bad-signature": (session("dave", [accept(bundle_hex(3)), accept(_flip_history_signature(h))],
                                          admins=dave), "E_AUTH", "MR-HISTORY-SIGNATURE", "one bit of the history signature"),
        "history-anchor-not-held": (session("dave", [accept(h)], admins=dave), "E_UNKNOWN_KEY", "MR-HISTORY-ANCHOR",
                                    "history before the joiner's first bundle"),
        "history-unauthorized": (session("dave", [accept(bundle_hex(3)), accept(mallory)], admins=dave),
                                 "E_UNAUTHORIZED", "MR-HISTORY-UNAUTHORIZED", "mallory shares keys of a room she is not in"),
        "history-forged-key": (session("dave", [accept(bundle_hex(3)), accept(_forged_history_key())], admins=dave),
                               "E_AUTH", "MR-HISTORY-KEY", "an entry whose wrapped key is not the one its key id names"),
        "history-conflict": (session("dave", [accept(bundle_hex(3)), accept(h), accept(_history(**conflict))],
                                     admins=dave), "E_AUTH", "MR-HISTORY-KEY",
                             "a second history with another key for a held epoch"),
    }
    out += [invalid(case_id, "session", why, inputs, code, reject) for case_id, (inputs, code, reject, why) in fail.items()]
    out += _history_format_failures(h)
    _ = bad_key, entries_swapped
    return out


def _forged_history_key() -> str:
    """An entry claiming epoch 1's key id whose wrapped secret is another key."""
    from ..history import _assemble as assemble_history

    real = room_key(1)
    dave = PEOPLE["dave"].public
    info = wrap_info(b"domvia-e2ee/v1 history-wrap", WrapKem.X25519, Suite.AES_256_GCM, ROOM, 1, real.key_id, "dave")
    wrapped = hpke.seal_base(dave.x25519, info, seed("room-key/forged"), ephemeral_private=seed("ephemeral/forged"))
    roster = [(m, PEOPLE[m].public.fingerprint) for m in ("alice", "bob", "carol")]
    proof = Bundle.from_bytes(bytes.fromhex(bundle_hex(3))).proof_for("bob")
    return assemble_history(PEOPLE["bob"], dave, [(real, roster)], [wrapped], anchor_epoch=3, kem=WrapKem.X25519,
                            issued_at=ISSUED_AT, proof=proof).to_bytes().hex()


def _flip_history_signature(data: str) -> str:
    from ..history import HistoryBundle

    h = HistoryBundle.from_bytes(bytes.fromhex(data))
    return HistoryBundle(h.room_id, h.sharer_id, h.recipient_id, h.anchor_epoch, h.issued_at, h.kem, h.entries,
                         flip(h.signature, 7), h.proof).to_bytes().hex()


def _history_format_failures(h: str) -> list[Case]:
    from ..history import HistoryBundle, HistoryEntry

    parsed = HistoryBundle.from_bytes(bytes.fromhex(h))

    def rebuilt(entries: tuple[HistoryEntry, ...], anchor: int = 3) -> str:
        return HistoryBundle(parsed.room_id, parsed.sharer_id, parsed.recipient_id, anchor, parsed.issued_at,
                             parsed.kem, entries, parsed.signature, parsed.proof).to_bytes().hex()

    e1, e2 = parsed.entries
    unsorted_roster = HistoryEntry(e1.epoch, e1.suite, e1.key_id, e1.wrapped, tuple(reversed(e1.roster)))
    raw = bytes.fromhex(h)
    variants = {
        "history-entries-decreasing": (rebuilt((e2, e1)), "entry epochs 2 then 1"),
        "history-entry-at-anchor": (rebuilt((e1, e2), anchor=2), "an entry for the anchor epoch itself"),
        "history-roster-unsorted": (rebuilt((unsorted_roster, e2)), "a roster out of order"),
        "history-truncated": (raw[:-3].hex(), "cut inside the proof"),
        "history-as-message": (b"DVM\x01".hex() + h[8:], "a history bundle with a message's magic"),
    }
    out = []
    for case_id, (data, why) in variants.items():
        reject = "MR-CONFUSION" if case_id.endswith("as-message") else "MR-HISTORY-FORMAT"
        out.append(invalid(case_id, "session", why, session("dave", [accept(bundle_hex(3)), accept(data)],
                                                            admins=("alice", "bob")), "E_FORMAT", reject))
    return out


__all__ = ["cases", "history_cases", "PublicIdentity"]
