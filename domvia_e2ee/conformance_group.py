"""The built-in implementation of the group-state conformance operations (spec/conformance.md):
build_bundle, member_proof, build_history and session. Fixed randomness on purpose: these
operations reproduce vectors, they are not for applications."""

from __future__ import annotations

from typing import Any

from . import labels
from .errors import DomviaError, FormatError
from .conformance_ops import Handler, Input, message_of, opened, private_identity, room_key, unhex
from .conformance_backup import session_step as backup_step
from .conformance_users import session_step, users_held
from .group.bundle import Bundle, Plan, assemble
from .group.header import EpochHeader, RoomPolicy
from .group.history import SharedEpoch, assemble_history
from .group.keyring import KeyRing
from .group.replay import DEFAULT_CAPACITY, DEFAULT_LIVE_EPOCHS
from .group.members import MemberProof, RosterEntry
from .identity import PublicIdentity
from .users.device_list import DeviceList
from .keys import MAX_MESSAGES_PER_SENDER, RoomKey
from .wrap import WrapKem, _wrap_with_ephemeral


def proof_of(obj: Input | None) -> MemberProof | None:
    if obj is None:
        return None
    entry = RosterEntry.of(PublicIdentity.from_dict(obj["identity"]), unhex(obj["wrapped_digest"], "wrapped_digest"),
                           _list_digest(obj))
    return MemberProof(entry, obj["index"], tuple(unhex(p, "path") for p in obj["path"]))


def _list_digest(obj: Input) -> bytes:
    """The optional list_digest of a proof object or roster member: 32 zero bytes when absent."""
    digest = unhex(obj.get("list_digest", "00" * 32), "list_digest")
    if len(digest) != 32:
        raise FormatError("list_digest", "must be 32 bytes")
    return digest


def proof_obj(proof: MemberProof) -> dict[str, Any]:
    return {"identity": proof.entry.identity().to_dict(), "wrapped_digest": proof.entry.wrapped_digest.hex(),
            "index": proof.index, "path": [p.hex() for p in proof.path]}


def op_build_bundle(i: Input) -> dict[str, Any]:
    key = room_key(i)
    members = sorted((PublicIdentity.from_dict(m) for m in i["members"]), key=lambda m: m.participant_id.encode())
    wrapped = [_wrap_with_ephemeral(key, m, unhex(i["ephemerals"][m.participant_id], "ephemerals")) for m in members]
    flags = i["flags"]
    plan = Plan(unhex(i["previous"], "previous"), RoomPolicy(i["max_messages"], i["max_age_seconds"], bool(flags & 1)),
                tuple((a, unhex(f, "admins")) for a, f in i["admins"]), bool(flags & 2), proof_of(i["authority"]))
    lists = [DeviceList.from_bytes(unhex(d, "lists")) for d in i.get("lists", [])]
    try:
        bundle = assemble(private_identity(i["rotator"]), key, members, wrapped, kem=WrapKem.from_wire(i["kem"]),
                          issued_at=i["issued_at"], plan=plan, lists=lists)
    except ValueError as error:  # a device member no given list names
        raise FormatError("members", str(error)) from None
    listed = bundle.index_of(bundle.header.rotator_id) is not None  # else no rotator proof: a refused bundle
    return {"bundle": bundle.to_bytes().hex(),
            "announcement": bundle.announcement().to_bytes().hex() if listed else None,
            "slices": {m.participant_id: bundle.slice_for(m.participant_id).to_bytes().hex() for m in members}
            if listed else {},
            "epoch_hash": bundle.header.epoch_hash().hex()}


def op_member_proof(i: Input) -> dict[str, Any]:
    bundle = Bundle.from_bytes(unhex(i["bundle"], "bundle"))
    if bundle.index_of(i["id"]) is None:
        raise FormatError("id", "is not a member of the bundle")
    proof = bundle.proof_file_for(i["id"])
    return {"proof": proof.to_bytes().hex()}


def _shared(room_id: str, e: Input) -> SharedEpoch:
    header = unhex(e["header"], "header")
    key = None
    if e["secret"] is not None:
        parsed = EpochHeader.from_bytes(header)
        key = RoomKey(unhex(e["secret"], "secret"), room_id=room_id, epoch=parsed.epoch, suite=parsed.suite)
    roster = tuple(RosterEntry.of(PublicIdentity.from_dict(m["identity"]), unhex(m["wrapped_digest"], "roster"),
                                  _list_digest(m)) for m in e["roster"])
    return SharedEpoch(header, key, roster)


def op_build_history(i: Input) -> dict[str, Any]:
    recipient = PublicIdentity.from_dict(i["recipient"])
    shared = [_shared(i["room_id"], e) for e in i["entries"]]
    wrapped = [b"" if s.key is None else
               _wrap_with_ephemeral(s.key, recipient, unhex(e["ephemeral"], "ephemeral"), labels.INFO_HISTORY_WRAP)
               for s, e in zip(shared, i["entries"], strict=True)]
    sharer_proof = proof_of(i["sharer_proof"])
    assert sharer_proof is not None
    history = assemble_history(private_identity(i["sharer"]), recipient, shared, wrapped, room_id=i["room_id"],
                               anchor_epoch=i["anchor_epoch"], kem=WrapKem.from_wire(i["kem"]),
                               issued_at=i["issued_at"], sharer_proof=sharer_proof)
    return {"history": history.to_bytes().hex()}


def op_session(i: Input) -> dict[str, Any]:
    ring = KeyRing(private_identity(i["owner"]), allow_unsigned=i["allow_unsigned"],
                   replay_capacity=i.get("replay_capacity", DEFAULT_CAPACITY), live_epochs=i.get("live_epochs", DEFAULT_LIVE_EPOCHS))
    directory = {ring.owner.participant_id: ring.owner.public}
    for obj in i["directory"]:
        identity = PublicIdentity.from_dict(obj)
        directory[identity.participant_id] = identity
        ring.add_identity(identity)
    for anchor in i["anchors"]:
        if anchor["id"] not in directory:
            raise FormatError("anchors", "names an identity that is not in the directory")
        ring.trust_admin(anchor["room_id"], directory[anchor["id"]])
    results = [_tolerant_step(ring, step) for step in i["steps"]]
    held = []
    for room in ring.rooms():
        for epoch in ring.epochs(room):
            record = ring.record(room, epoch)
            held.append({"room_id": room, "epoch": epoch, "key_id": record.header.key_id.hex(),
                         "secret": None if record.key is None else bytes(record.key).hex(),
                         "members": sorted(record.roster, key=str.encode), "complete": record.complete})
    return {"results": results, "held": held, "users": users_held(ring)}


def _tolerant_step(ring: KeyRing, step: Input) -> dict[str, Any]:
    """A step marked may_fail reports its error and the session goes on (the state must be unchanged)."""
    if not step.get("may_fail", False):
        return _step(ring, step)
    try:
        return _step(ring, step)
    except DomviaError as error:
        return {"error": error.code}


def _step(ring: KeyRing, step: Input) -> dict[str, Any]:
    other = session_step(ring, step) or backup_step(ring, step)
    if other is not None:
        return other
    if "accept" in step:
        accepted = ring.accept(unhex(step["accept"], "accept"))
        return {"accepted": {"room_id": accepted.room_id, "epochs": list(accepted.epochs), "kind": accepted.kind,
                             "identity_changes": list(accepted.identity_changes)}}
    if "seal" in step:
        s = step["seal"]
        if not isinstance(s, dict) or set(s) != {"room_id", "content", "message_id", "nonce"}:
            raise FormatError("seal", "needs exactly room_id, content, message_id and nonce")
        latest = ring.latest_epoch(s["room_id"])
        nonce = unhex(s["nonce"], "nonce")
        if latest is not None and len(nonce) != ring.record(s["room_id"], latest).header.suite.nonce_size:
            raise FormatError("nonce", "wrong size for the epoch's suite")
        sealed_message = ring._seal_from_parts(s["room_id"], unhex(s["content"], "content"), message_id=s["message_id"],
                                               nonce=nonce)
        return {"sealed": {"binary": sealed_message.to_bytes().hex()}}
    if "set_sealed" in step:
        s = step["set_sealed"]
        key = ring.record(s["room_id"], s["epoch"]).key
        count = s["count"]
        if key is None:
            raise FormatError("set_sealed", "the epoch is held without a key")
        if type(count) is not int or not 0 <= count <= MAX_MESSAGES_PER_SENDER:
            raise FormatError("count", f"must be an integer from 0 to {MAX_MESSAGES_PER_SENDER}")
        key._restore_sealed_count(ring.owner.participant_id, count)
        return {"set": True}
    sealed = message_of(step["open"])
    result = ring.open(sealed, check_replay=step["check_replay"])
    return {"opened": {"room_id": result.room_id, "epoch": result.epoch} | opened(result)}


OPS: dict[str, Handler] = {"build_bundle": op_build_bundle, "member_proof": op_member_proof,
                           "build_history": op_build_history, "session": op_session}
