"""Vectors for epoch headers, bundles, slices, announcements and member proofs (group state v2)."""

from __future__ import annotations

import dataclasses
from typing import Any

from .. import labels
from ..group.lists import write_lists
from ..group.bundle import Bundle, Plan, SignedHeader, assemble
from ..group.header import EpochHeader, Flag
from ..group.members import Member, RosterEntry
from ..hazmat import hpke
from ..hazmat.suites import Suite
from ..keys import RoomKey
from ..wrap import WrapKem, _wrap_with_ephemeral, wrap_info
from .fixtures import ROOM, Case, identity, invalid, private_obj, seed, valid
from .pinned import PQ_ROOM, pinned, pq_secret
from .scenario import (
    ISSUED_AT, PEOPLE, accept, admins_obj, announcement_hex, build_inputs, built, bundle_hex, forged,
    member_proof_hex, proof_of, public, room_key, session, slice_hex,
)
from .scenario import OPS as GROUP_OPS


def cases() -> list[Case]:
    out = [valid(f"build-bundle-epoch-{e}", "build_bundle", why, build_inputs(e)) for e, why in (
        (1, "alice creates the room with bob and carol; she is its only admin"),
        (2, "alice removes carol and makes bob an admin; previous is epoch 1's hash"),
        (3, "bob, now an admin, adds dave"))]
    out.append(valid("member-proof-epoch-2-alice", "member_proof", "alice's member proof in epoch 2",
                     {"bundle": bundle_hex(2), "id": "alice"}))
    out += [valid(case_id, "session", why, inputs) for case_id, why, inputs in _valid_sessions()]
    return out + _chain_failures() + _recipient_failures() + _format_failures()


def _valid_sessions() -> list[tuple[str, str, dict[str, Any]]]:
    b1, b2, b3 = bundle_hex(1), bundle_hex(2), bundle_hex(3)
    return [
        ("accept-join-epoch-1", "bob joins on epoch 1 from alice, his trusted anchor", session("bob", [accept(b1)])),
        ("accept-chain-1-to-3", "bob follows the chain: bundle, slice, bundle", session(
            "bob", [accept(b1), accept(slice_hex(2, "bob")), accept(b3)])),
        ("accept-slice-then-roster", "a full bundle with the held header fills in the roster", session(
            "bob", [accept(b1), accept(slice_hex(2, "bob")), accept(b2)])),
        ("accept-joiner-later-epoch", "dave joins at epoch 3 from bob, an admin of that header", session(
            "dave", [accept(b3)], anchors=("bob",))),
        ("accept-only-slices", "alice follows by slices only", session(
            "alice", [accept(slice_hex(1, "alice")), accept(slice_hex(2, "alice")), accept(slice_hex(3, "alice"))])),
        ("accept-link-after-removal", "carol, removed, keeps the chain: a bundle without her and an announcement", session(
            "carol", [accept(b1), accept(b2), accept(announcement_hex(3))])),
        ("accept-announcement-then-slice", "an announcement first (a link), then bob's slice adds his key", session(
            "bob", [accept(b1), accept(announcement_hex(2)), accept(slice_hex(2, "bob"))])),
        ("accept-member-proof", "a slice holder adds alice's membership of epoch 2 from her proof", session(
            "bob", [accept(b1), accept(slice_hex(2, "bob")), accept(member_proof_hex(2, "alice"))])),
        ("accept-partition-other-member", "carol's key in the partitioning bundle is the signed one", session(
            "carol", [accept(_partition_bundle())])),
        ("accept-member-rotation", "a room with MEMBERS_MAY_ROTATE: bob, a member, rotates with his proof", session(
            "carol", [accept(_mmr(1)), accept(_mmr(2))])),
        ("accept-xwing-bundle", "a post-quantum room: X-Wing wrapped keys", _xwing_session([_xwing_bundle()])),
        ("accept-explicit-downgrade", "alice lowers the KEM to classic with the DOWNGRADE flag", _xwing_session(
            [_xwing_bundle(), _pq_epoch_2(Flag.DOWNGRADE)])),
    ]


def _mmr(epoch: int, **changes: Any) -> str:
    """The members-may-rotate room: epoch 1 by alice (flag set), epoch 2 by bob from his proof of epoch 1."""
    room = ("alice", "bob", "carol")
    one = forged(epoch=1, members=room, admins=("alice",), flags=Flag.MEMBERS_MAY_ROTATE, variant="/mmr")
    if epoch == 1:
        return str(one["bundle"])
    proof = _proof_in(str(one["bundle"]), "bob")
    inputs = dict(epoch=2, rotator="bob", members=room, admins=("alice",), flags=Flag.MEMBERS_MAY_ROTATE,
                  variant="/mmr", previous=str(one["epoch_hash"]), authority=proof) | changes
    return str(forged(**inputs)["bundle"])


def _mmr_slice(member: str) -> str:
    one = forged(epoch=1, members=("alice", "bob", "carol"), admins=("alice",), flags=Flag.MEMBERS_MAY_ROTATE,
                 variant="/mmr")
    return str(one["slices"][member])


def _proof_in(bundle: str, member: str) -> dict[str, Any]:
    from ..conformance_group import proof_obj

    return proof_obj(Bundle.from_bytes(bytes.fromhex(bundle)).proof_for(member))


def _partition_bundle() -> str:
    """Alice wraps the epoch-1 key to carol, but another key to bob under the same signed key id."""
    key = room_key(1)
    members = sorted((PEOPLE[n].public for n in ("alice", "bob", "carol")), key=lambda m: m.participant_id)
    wrapped = []
    for member in members:
        if member.participant_id == "bob":
            info = wrap_info(labels.INFO_WRAP, WrapKem.X25519, Suite.AES_256_GCM, ROOM, 1, key.key_id, "bob")
            wrapped.append(hpke.seal_base(member.x25519, info, seed("room-key/partition"),
                                          ephemeral_private=seed("ephemeral/partition/bob")))
        else:
            wrapped.append(_wrap_with_ephemeral(key, member, seed(f"ephemeral/{member.participant_id}/p")))
    plan = Plan(admins=((("alice", PEOPLE["alice"].public.fingerprint)),))
    return assemble(PEOPLE["alice"], key, members, wrapped, kem=WrapKem.X25519, issued_at=ISSUED_AT,
                    plan=plan).to_bytes().hex()


def _pq(name: str) -> Any:
    return identity(name, post_quantum=True)


def _xwing_bundle() -> str:
    wraps = pinned()
    key = RoomKey(pq_secret(PQ_ROOM, 1), room_id=PQ_ROOM, epoch=1)
    members = [_pq("alice").public, _pq("bob").public]
    wrapped = [bytes.fromhex(wraps["alice-pq-room"]), bytes.fromhex(wraps["bob-pq-room"])]
    plan = Plan(admins=(("alice", _pq("alice").public.fingerprint),))
    return assemble(_pq("alice"), key, members, wrapped, kem=WrapKem.MLKEM768_X25519, issued_at=ISSUED_AT,
                    plan=plan).to_bytes().hex()


def _pq_epoch_2(flags: Flag, kem: WrapKem = WrapKem.X25519) -> str:
    previous = Bundle.from_bytes(bytes.fromhex(_xwing_bundle())).header.epoch_hash()
    key = RoomKey(seed("room-key/pq/2"), room_id=PQ_ROOM, epoch=2)
    members = [_pq("alice").public, _pq("bob").public]
    wrapped = [_wrap_with_ephemeral(key, m, seed(f"ephemeral/pq/{m.participant_id}/2")) for m in members]
    plan = Plan(previous, admins=(("alice", _pq("alice").public.fingerprint),),
                downgrade=bool(flags & Flag.DOWNGRADE))
    return assemble(_pq("alice"), key, members, wrapped, kem=kem, issued_at=ISSUED_AT, plan=plan).to_bytes().hex()


def _xwing_session(steps: list[str]) -> dict[str, Any]:
    return {"owner": private_obj(_pq("bob")), "allow_unsigned": False,
            "directory": [_pq("alice").public.to_dict()],
            "anchors": [{"room_id": PQ_ROOM, "id": "alice"}], "steps": [accept(s) for s in steps]}


def _as(signer: str, rotator_id: str, epoch: int) -> str:
    """The epoch's bundle signed with signer's key in rotator_id's name (members listed as usual)."""
    inputs = build_inputs(epoch)
    inputs["rotator"] = private_obj(PEOPLE[signer]) | {"id": rotator_id}
    return str(GROUP_OPS["build_bundle"](inputs)["bundle"])


def _swap_entry(epoch: int, name: str, keys_of: str) -> str:
    bundle = Bundle.from_bytes(bytes.fromhex(bundle_hex(epoch)))
    other = PEOPLE[keys_of].public
    members = tuple(Member(RosterEntry.make(name, other.x25519, other.ed25519, b"", m.entry.wrapped_digest), m.wrapped)
                    if m.participant_id == name else m for m in bundle.members)
    return Bundle(bundle.signed, members).to_bytes().hex()


def _flip_signature(data: str) -> str:
    raw = bytes.fromhex(data)
    at = 4 + len(Bundle.from_bytes(raw).header.to_bytes()) if raw[:4] == labels.MAGIC_BUNDLE else None
    assert at is not None
    return (raw[:at] + bytes((raw[at] ^ 0x01,)) + raw[at + 1 :]).hex()


def _chain_failures() -> list[Case]:
    b1, b2, b3 = bundle_hex(1), bundle_hex(2), bundle_hex(3)
    carol_2 = str(forged(epoch=2, rotator="carol", members=("bob", "carol"), admins=("alice",))["bundle"])
    dave_4 = str(forged(epoch=4, rotator="dave", members=("alice", "bob", "dave"), admins=("alice", "bob"),
                        previous=str(built(3)["epoch_hash"]))["bundle"])
    alice_2b = str(forged(epoch=2, variant="/fork")["bundle"])
    bob_3_elsewhere = str(forged(epoch=3, previous=str(forged(epoch=2, variant="/fork")["epoch_hash"]),
                                 variant="/fork")["bundle"])
    server_1 = str(forged(epoch=1, rotator="server", members=("bob", "server"), admins=("server",))["bundle"])
    bob_1_not_admin = str(forged(epoch=1, rotator="bob", members=("alice", "bob", "carol"), admins=("alice",),
                                 variant="/b")["bundle"])
    no_rotator = str(forged(epoch=1, members=("bob", "carol"), variant="/n")["bundle"])
    fail: dict[str, tuple[dict[str, Any], str, str, str]] = {
        "bundle-rotator-not-member": (session("bob", [accept(no_rotator)]), "E_UNAUTHORIZED",
                                      "MR-EPOCH-ROTATOR-MEMBER", "alice signs epoch 1 without listing herself"),
        "bundle-bad-signature": (session("bob", [accept(_flip_signature(b1))]), "E_AUTH", "MR-BUNDLE-SIGNATURE",
                                 "one bit of the epoch header's signature"),
        "bundle-forged-by-server": (session("bob", [accept(_as("server", "alice", 1))]), "E_AUTH",
                                    "MR-BUNDLE-SIGNATURE", "the server signs in alice's name with its own key"),
        "bundle-server-own-name": (session("bob", [accept(server_1)]), "E_UNAUTHORIZED", "MR-CHAIN-ANCHOR",
                                   "the server makes its own room-42 and invites bob: not his anchor"),
        "bundle-anchor-not-admin": (session("carol", [accept(bob_1_not_admin)], anchors=("bob",)), "E_UNAUTHORIZED",
                                    "MR-CHAIN-ANCHOR", "carol trusts bob, who signs but is not in the header's admins"),
        "bundle-server-swaps-member": (session("bob", [accept(_swap_entry(1, "carol", "mallory"))]), "E_AUTH",
                                       "MR-BUNDLE-ROOT", "the server lists mallory's keys under carol's id"),
        "bundle-rollback": (session("bob", [accept(b1), accept(b2), accept(b1)]), "E_STALE", "MR-BUNDLE-STALE",
                            "epoch 1 again after epoch 2"),
        "bundle-replay": (session("bob", [accept(b1), accept(b2), accept(b2)]), "E_STALE", "MR-BUNDLE-STALE",
                          "epoch 2 twice"),
        "bundle-replay-slice": (session("bob", [accept(b1), accept(slice_hex(1, "bob"))]), "E_STALE",
                                "MR-BUNDLE-STALE", "a slice of a held epoch adds nothing"),
        "bundle-gap": (session("bob", [accept(b1), accept(b3)]), "E_GAP", "MR-CHAIN-GAP", "epoch 3 on top of epoch 1"),
        "bundle-removed-member-rotates": (session("bob", [accept(b1), accept(carol_2)]), "E_UNAUTHORIZED",
                                          "MR-EPOCH-AUTHORITY", "carol, about to be removed, signs her own epoch 2"),
        "bundle-non-admin-rotates": (session("alice", [accept(b1), accept(b2), accept(b3), accept(dave_4)]),
                                     "E_UNAUTHORIZED", "MR-EPOCH-AUTHORITY", "dave, a member but no admin, signs epoch 4"),
        "bundle-member-changes-admins": (session("carol", [accept(_mmr(1)), accept(_mmr(2, admins=("bob",)))]),
                                         "E_UNAUTHORIZED", "MR-EPOCH-GOVERNANCE",
                                         "in a members-may-rotate room, bob (no admin) makes himself the admin"),
        "bundle-member-without-proof": (session("carol", [accept(_mmr_slice("carol")), accept(_mmr(2, authority=None))]),
                                        "E_UNAUTHORIZED", "MR-EPOCH-AUTHORITY",
                                        "a slice holder gets a member rotation without the rotator's membership proof"),
        "bundle-fork-header": (session("bob", [accept(b1), accept(b2), accept(alice_2b)]), "E_FORK", "MR-CHAIN-FORK",
                               "alice signs a second, different epoch 2"),
        "bundle-fork-chain": (session("alice", [accept(b1), accept(b2), accept(bob_3_elsewhere)]), "E_FORK",
                              "MR-CHAIN-FORK", "bob's epoch 3 builds on another epoch 2"),
        "bundle-downgrade-unflagged": (_xwing_session([_xwing_bundle(), _pq_epoch_2(Flag(0))]), "E_DOWNGRADE",
                                       "MR-EPOCH-DOWNGRADE", "X-Wing to classic without the DOWNGRADE flag"),
        "bundle-downgrade-flag-without-downgrade": (session("bob", [accept(b1), accept(str(forged(
            epoch=2, flags=Flag.DOWNGRADE, variant="/dg")["bundle"]))]), "E_DOWNGRADE", "MR-EPOCH-DOWNGRADE",
            "the DOWNGRADE flag on a classic epoch that lowers nothing"),
    }
    return [invalid(case_id, "session", why, inputs, code, reject) for case_id, (inputs, code, reject, why) in fail.items()]


def _recipient_failures() -> list[Case]:
    b1 = bundle_hex(1)
    other = identity("bob-other-keys")
    renamed = type(other)("bob", x25519_private=seed("bob-other-keys/x25519"),
                          ed25519_seed=seed("bob-other-keys/ed25519"))
    fail: dict[str, tuple[dict[str, Any], str, str, str]] = {
        "bundle-join-not-listed": (session("mallory", [accept(b1)]), "E_NOT_RECIPIENT", "MR-BUNDLE-RECIPIENT",
                                   "mallory joins on a bundle that does not list her"),
        "slice-for-someone-else": (session("carol", [accept(b1), accept(slice_hex(2, "bob"))]), "E_NOT_RECIPIENT",
                                   "MR-BUNDLE-RECIPIENT", "bob's slice delivered to carol"),
        "bundle-other-fingerprint": (session("bob", [accept(b1)], owner_identity=renamed), "E_NOT_RECIPIENT",
                                     "MR-BUNDLE-RECIPIENT", "listed as bob, but under another identity"),
        "bundle-partition": (session("bob", [accept(_partition_bundle())]), "E_AUTH", "MR-BUNDLE-PARTITION",
                             "bob's wrapped key opens to another key than the signed key id"),
        "slice-flipped-path": (session("bob", [accept(b1), accept(_slice_edit("path"))]), "E_AUTH", "MR-BUNDLE-ROOT",
                               "one bit of the slice's inclusion path"),
        "slice-wrong-index": (session("bob", [accept(b1), accept(_slice_edit("index"))]), "E_AUTH", "MR-BUNDLE-ROOT",
                              "the leaf index moved by one"),
        "member-proof-not-held": (session("bob", [accept(b1), accept(member_proof_hex(2, "alice"))]), "E_UNKNOWN_KEY",
                                  "MR-PROOF-EPOCH", "a member proof for an epoch bob does not hold"),
        "member-proof-other-epoch": (session("bob", [accept(b1), accept(slice_hex(2, "bob")),
                                                     accept(_proof_moved(member_proof_hex(1, "carol")))]), "E_AUTH",
                                     "MR-PROOF-ROOT", "carol's epoch-1 proof relabelled as epoch 2"),
    }
    return [invalid(case_id, "session", why, inputs, code, reject) for case_id, (inputs, code, reject, why) in fail.items()]


def _proof_moved(data: str) -> str:
    raw = bytes.fromhex(data)
    at = 4 + 1 + len(ROOM)
    return (raw[:at] + (2).to_bytes(4, "big") + raw[at + 4 :]).hex()


def _slice_edit(what: str) -> str:
    from ..group.bundle import Slice

    piece = Slice.from_bytes(bytes.fromhex(slice_hex(2, "bob")))
    if what == "path":
        path = (bytes((piece.path[0][0] ^ 1,)) + piece.path[0][1:], *piece.path[1:])
        piece = dataclasses.replace(piece, path=path)
    else:
        piece = dataclasses.replace(piece, index=piece.index ^ 1)
    return piece.to_bytes().hex()


def _with_header(data: str, **changes: Any) -> bytes:
    bundle = Bundle.from_bytes(bytes.fromhex(data))
    header = dataclasses.replace(bundle.header, **changes)
    signed = SignedHeader(header, bundle.signed.signature, bundle.signed.authority)
    out = signed.write(__import__("domvia_e2ee.encoding", fromlist=["Writer"]).Writer(labels.MAGIC_BUNDLE))
    write_lists(out, bundle.lists)
    for member in bundle.members:
        member.write(out)
    return out.getvalue()


def _format_failures() -> list[Case]:
    b1, b2 = bundle_hex(1), bundle_hex(2)
    raw = bytes.fromhex(b1)
    bundle = Bundle.from_bytes(raw)
    authority_at = 4 + len(bundle.header.to_bytes()) + 64
    members_at = authority_at + 1 + 4  # presence byte, then an empty lists section
    first, second = (len(_member_bytes(m)) for m in bundle.members[:2])
    swapped = (raw[:members_at] + raw[members_at + first : members_at + first + second]
               + raw[members_at : members_at + first] + raw[members_at + first + second :])
    s2 = bytes.fromhex(slice_hex(2, "bob"))
    variants = {
        "bundle-truncated": (raw[:-5], "MR-BUNDLE-FORMAT", "cut inside the last wrapped key"),
        "bundle-trailing-byte": (raw + b"\x00", "MR-BUNDLE-FORMAT", "a byte after the last member"),
        "bundle-unknown-kem": (raw[:4] + b"\x03" + raw[5:], "MR-BUNDLE-FORMAT", "KEM 3"),
        "bundle-unknown-suite": (raw[:5] + b"\x09" + raw[6:], "MR-BUNDLE-FORMAT", "suite 9"),
        "bundle-version-1": (b"DVB\x01" + raw[4:], "MR-BUNDLE-FORMAT", "a format version 1 bundle"),
        "bundle-version-2": (b"DVB\x02" + raw[4:], "MR-BUNDLE-FORMAT", "a format version 2 bundle"),
        "bundle-unsorted-members": (swapped, "MR-BUNDLE-FORMAT", "the first two members swapped"),
        "bundle-authority-presence-2": (raw[:authority_at] + b"\x02" + raw[authority_at + 1:], "MR-BUNDLE-FORMAT",
                                        "authority presence byte 2"),
        "bundle-zero-members": (_with_header(b1, member_count=0), "MR-BUNDLE-FORMAT", "member count 0"),
        "bundle-too-many-members": (_with_header(b1, member_count=100_001), "MR-BUNDLE-FORMAT", "member count 100,001"),
        "bundle-member-count-mismatch": (_with_header(b1, member_count=4), "MR-BUNDLE-FORMAT",
                                         "the header says 4 members, 3 follow"),
        "header-issued-at-past-9999": (_with_header(b1, issued_at=(1 << 64) - 1), "MR-EPOCH-FORMAT",
                                       "issued_at 2^64 - 1"),
        "header-previous-in-epoch-1": (_with_header(b1, previous=b"\x01" * 32), "MR-EPOCH-FORMAT",
                                       "epoch 1 with a previous hash"),
        "header-no-previous-in-epoch-2": (_with_header(b2, previous=bytes(32)), "MR-EPOCH-FORMAT",
                                          "epoch 2 with an all-zero previous hash"),
        "header-unknown-flag": (_with_header(b1, flags=Flag(4)), "MR-EPOCH-FORMAT", "flag bit 2"),
        "header-downgrade-in-epoch-1": (_with_header(b1, flags=Flag.DOWNGRADE), "MR-EPOCH-FORMAT",
                                        "DOWNGRADE in epoch 1"),
        "header-no-admins": (_with_header(b1, admins=()), "MR-EPOCH-FORMAT", "an empty admin set"),
        "header-unsorted-admins": (_with_header(b2, admins=tuple(reversed(bundle_admins(b2)))), "MR-EPOCH-FORMAT",
                                   "admins bob before alice"),
        "header-zero-max-messages": (_with_header(b1, policy=_zero_policy()), "MR-EPOCH-FORMAT",
                                     "a rotation policy of 0 messages"),
        "slice-path-too-long": (s2[: -1 - 32 * Slice_path_len(s2)] + bytes((33,)) + bytes(33 * 32), "MR-BUNDLE-FORMAT",
                                "a 33-node path"),
        "slice-as-bundle": (b"DVB\x03" + s2[4:], "MR-CONFUSION", "a slice with a bundle's magic"),
        "announcement-as-slice": (b"DVS\x03" + bytes.fromhex(announcement_hex(2))[4:], "MR-CONFUSION",
                                  "an announcement with a slice's magic"),
    }
    return [invalid(case_id, "session", why, session("bob", [accept(data.hex())]), "E_FORMAT", reject)
            for case_id, (data, reject, why) in variants.items()]


def _member_bytes(member: Member) -> bytes:
    from ..encoding import Writer

    w = Writer()
    member.write(w)
    return w.getvalue()


def bundle_admins(data: str) -> tuple[tuple[str, bytes], ...]:
    return Bundle.from_bytes(bytes.fromhex(data)).header.admins


def _zero_policy() -> Any:
    class Zero:  # a policy object the writer serialises but no parser accepts
        max_messages, max_age_seconds, members_may_rotate = 0, 604800, False

    return Zero()


def Slice_path_len(data: bytes) -> int:  # noqa: N802 - mirrors the slice field
    from ..group.bundle import Slice

    return len(Slice.from_bytes(data).path)


__all__ = ["cases", "EpochHeader", "admins_obj", "public", "proof_of"]
