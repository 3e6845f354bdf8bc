"""KeyRing: sender authentication, unsigned mode, replay, and its strict state file."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from core_helpers import ROOM, assert_opaque_auth, fixed_identity, raises_auth, rebuild, world

from domvia_e2ee import (
    AuthenticationError, DomviaError, FormatError, Identity, KeyRing, PolicyError, ReplayError, Room,
    StaleEpochError, UnauthorizedError, UnknownKeyError, UnknownSenderError, seal, seal_unsigned,
)
from domvia_e2ee.keys import MAX_MESSAGES_PER_SENDER
from domvia_e2ee.replay import ReplayWindow

NAMES = ("alice", "bob", "carol", "mallory")


def _room(**ring_options: Any) -> tuple[dict[str, Identity], dict[str, KeyRing], Room]:
    """alice, bob and carol in epoch 1; mallory is known to everyone but not a member."""
    identities, rings = world(NAMES)
    if ring_options:
        rings = {n: KeyRing(identities[n], **ring_options) for n in NAMES}
        for ring in rings.values():
            for identity in identities.values():
                if identity.participant_id != ring.owner.participant_id:
                    ring.add_identity(identity.public)
            ring.trust_admin(ROOM, identities["alice"].public)
    room, rotation = Room.create(rings["alice"], ROOM, [identities["bob"].public, identities["carol"].public])
    for name in ("bob", "carol"):
        rings[name].accept(rotation.bundle.to_bytes())
    return identities, rings, room


# -- sender authentication --------------------------------------------------------------------


def test_messages_are_signed_by_default_and_open_for_every_member() -> None:
    _, rings, _ = _room()
    sealed = rings["bob"].seal(ROOM, b"hello", message_id="m-1")
    assert sealed.signed
    for name in ("alice", "carol"):
        opened = rings[name].open(sealed.to_json())
        assert (opened.plaintext, opened.sender_id, opened.signed, opened.epoch) == (b"hello", "bob", True, 1)


def test_a_member_cannot_sign_as_another() -> None:
    """Mallory holds the key (say she was given it) and signs a message that names bob."""
    identities, rings, _ = _room()
    key = rings["alice"].key(ROOM, 1)
    genuine = seal(key, b"hi", message_id="m-1", sender=identities["bob"])
    forged = rebuild(genuine, signer=identities["mallory"], content_type="text/html")
    raises_auth(rings["alice"].open, forged)
    carol_signs = rebuild(genuine, signer=identities["carol"])
    raises_auth(rings["alice"].open, carol_signs)


def test_a_non_member_sender_is_refused() -> None:
    identities, rings, _ = _room()
    key = rings["alice"].key(ROOM, 1)
    from_mallory = seal(key, b"hi", message_id="m-1", sender=identities["mallory"])
    with pytest.raises(UnauthorizedError):
        rings["alice"].open(from_mallory)
    from_stranger = seal(key, b"hi", message_id="m-1", sender=fixed_identity("zed"))
    with pytest.raises(UnknownSenderError):
        rings["alice"].open(from_stranger)


def test_a_changed_identity_must_be_replaced_explicitly() -> None:
    identities, rings, _ = _room()
    other_bob = Identity("bob", x25519_private=bytes(32), ed25519_seed=bytes(32))
    with pytest.raises(PolicyError):
        rings["alice"].add_identity(other_bob.public)
    assert rings["alice"].identity("bob") == identities["bob"].public
    rings["alice"].add_identity(identities["bob"].public)  # the same identity again is fine
    rings["alice"].add_identity(other_bob.public, replace=True)
    assert rings["alice"].identity("bob") == other_bob.public
    # bob's messages under his old keys are now refused: the roster names the old fingerprint
    sealed = rings["bob"].seal(ROOM, b"hi", message_id="m-1")
    with pytest.raises(UnauthorizedError):
        rings["alice"].open(sealed)


def test_unknown_room_epoch_or_key_id() -> None:
    identities, rings, _ = _room()
    sealed = rings["bob"].seal(ROOM, b"hi", message_id="m-1")
    with pytest.raises(UnknownKeyError):
        rings["mallory"].open(sealed)
    with pytest.raises(UnknownKeyError):
        rings["alice"].open(rebuild(sealed, epoch=2, signer=identities["bob"]))
    with pytest.raises(UnknownKeyError):
        rings["alice"].open(rebuild(sealed, key_id=bytes(32), signer=identities["bob"]))
    with pytest.raises(UnknownKeyError):
        rings["mallory"].seal(ROOM, b"x", message_id="m")


# -- unsigned mode -------------------------------------------------------------------------------


def test_unsigned_mode_is_explicit() -> None:
    _, rings, _ = _room()
    bot = rings["bob"].seal_unsigned(ROOM, b"build passed", message_id="m-1")
    assert not bot.signed
    with pytest.raises(PolicyError):
        rings["alice"].open(bot)
    _, rings, _ = _room(allow_unsigned=True)
    bot = rings["bob"].seal_unsigned(ROOM, b"build passed", message_id="m-1")
    opened = rings["alice"].open(bot)
    assert (opened.plaintext, opened.signed) == (b"build passed", False)
    assert rings["alice"].open(rings["bob"].seal(ROOM, b"signed", message_id="m-2")).signed


def test_unsigned_mode_still_requires_a_listed_sender_and_a_valid_tag() -> None:
    _, rings, _ = _room(allow_unsigned=True)
    key = rings["alice"].key(ROOM, 1)
    with pytest.raises(UnauthorizedError):
        rings["alice"].open(seal_unsigned(key, b"x", message_id="m-1", sender_id="mallory"))
    genuine = rings["bob"].seal_unsigned(ROOM, b"x", message_id="m-2")
    raises_auth(rings["alice"].open, rebuild(genuine, sender_id="carol"))


def test_a_signed_message_with_its_signature_stripped_is_refused_in_unsigned_mode() -> None:
    _, rings, _ = _room(allow_unsigned=True)
    sealed = rings["bob"].seal(ROOM, b"x", message_id="m-1")
    stripped = rebuild(sealed, flags=sealed.flags & ~1, keep_signature=False)
    raises_auth(rings["alice"].open, stripped)


# -- superseded epochs --------------------------------------------------------------------------


def test_a_removed_member_cannot_inject_into_an_old_epoch() -> None:
    identities, rings, room = _room(allow_unsigned=True)
    rotation = room.remove(["carol"])
    rings["bob"].accept(rotation.bundle)
    old_key = rings["carol"].key(ROOM, 1)
    late = seal(old_key, b"still here", message_id="m-late", sender=identities["carol"])
    with pytest.raises(UnauthorizedError):
        rings["bob"].open(late)
    assert rings["bob"].open(late, check_replay=False).plaintext == b"still here"  # re-reading history
    with pytest.raises(StaleEpochError):
        rings["bob"].open(seal_unsigned(old_key, b"bot", message_id="m-bot", sender_id="alice"))
    assert rings["bob"].open(seal(old_key, b"late", message_id="m-2", sender=identities["alice"])).epoch == 1


# -- replay -------------------------------------------------------------------------------------


def test_a_replayed_message_is_refused() -> None:
    _, rings, _ = _room()
    sealed = rings["bob"].seal(ROOM, b"hi", message_id="m-1")
    rings["alice"].open(sealed)
    before = rings["alice"].to_dict()
    with pytest.raises(ReplayError):
        rings["alice"].open(sealed.to_json())
    assert rings["alice"].to_dict() == before
    assert rings["alice"].open(sealed, check_replay=False).plaintext == b"hi"
    # the same id from another sender, or in another epoch, is another message
    rings["alice"].open(rings["carol"].seal(ROOM, b"hi", message_id="m-1"))
    # a second message reusing the id is a replay of (room, epoch, sender, id) even with new content
    with pytest.raises(ReplayError):
        rings["alice"].open(rings["bob"].seal(ROOM, b"other", message_id="m-1"))


def test_a_failed_open_records_nothing() -> None:
    _, rings, _ = _room()
    sealed = rings["bob"].seal(ROOM, b"hi", message_id="m-1")
    tampered = bytearray(sealed.to_bytes())
    tampered[-70] ^= 1
    with pytest.raises(AuthenticationError) as info:
        rings["alice"].open(bytes(tampered))
    assert_opaque_auth(info.value)
    assert rings["alice"].open(sealed).plaintext == b"hi"


def test_replay_memory_is_bounded() -> None:
    _, rings, _ = _room(replay_capacity=3)
    sealed = [rings["bob"].seal(ROOM, b"x", message_id=f"m-{i}") for i in range(5)]
    for message in sealed:
        rings["alice"].open(message)
    assert len(rings["alice"]._replay) == 3
    assert [entry[3] for entry in rings["alice"]._replay.entries()] == ["m-2", "m-3", "m-4"]
    for message in sealed[2:]:
        with pytest.raises(ReplayError):
            rings["alice"].open(message)
    # beyond the window a replay is no longer detected: the documented price of bounded memory
    assert rings["alice"].open(sealed[0]).plaintext == b"x"


def test_replay_window_unit() -> None:
    window = ReplayWindow(2)
    entries = [("r", 1, "s", f"m{i}") for i in range(3)]
    for entry in entries:
        window.check(entry)
        window.record(entry)
    assert window.entries() == entries[1:] and len(window) == 2
    with pytest.raises(ReplayError):
        window.check(entries[2])
    window.check(entries[0])
    for bad in (0, -1):
        with pytest.raises(ValueError):
            ReplayWindow(bad)


def test_replay_window_survives_a_restart() -> None:
    identities, rings, _ = _room()
    sealed = rings["bob"].seal(ROOM, b"hi", message_id="m-1")
    rings["alice"].open(sealed)
    reloaded = KeyRing.from_dict(json.loads(json.dumps(rings["alice"].to_dict())), identities["alice"])
    with pytest.raises(ReplayError):
        reloaded.open(sealed)


# -- state round trip ----------------------------------------------------------------------------


def _busy_ring() -> tuple[dict[str, Identity], dict[str, KeyRing], Room]:
    identities, rings, room = _room(allow_unsigned=True, replay_capacity=50)
    rings["alice"].open(rings["bob"].seal(ROOM, b"a", message_id="m-1"))
    rings["alice"].seal(ROOM, b"b", message_id="m-2")
    rotation = room.rotate()
    rings["bob"].accept(rotation.bundle.slice_for("bob"))
    rings["alice"].open(rings["bob"].seal_unsigned(ROOM, b"c", message_id="m-3"))
    return identities, rings, room


def test_key_ring_state_round_trip() -> None:
    identities, rings, _ = _busy_ring()
    for name in ("alice", "bob"):
        ring = rings[name]
        state = ring.to_dict()
        text = json.dumps(state)
        again = KeyRing.from_dict(json.loads(text), identities[name])
        assert again.to_dict() == state
        assert again.epochs(ROOM) == ring.epochs(ROOM)
        assert all(again.key(ROOM, e) == ring.key(ROOM, e) for e in ring.epochs(ROOM))
        assert again.key(ROOM, ring.latest_epoch(ROOM) or 0).sealed_count(name) == ring.key(
            ROOM, ring.latest_epoch(ROOM) or 0).sealed_count(name)
    reloaded = KeyRing.from_dict(rings["alice"].to_dict(), identities["alice"])
    assert reloaded.open(rings["carol"].seal(ROOM, b"d", message_id="m-4"), check_replay=False).plaintext == b"d"


def test_key_ring_state_belongs_to_its_owner() -> None:
    identities, rings, _ = _busy_ring()
    with pytest.raises(FormatError) as info:
        KeyRing.from_dict(rings["alice"].to_dict(), identities["bob"])
    assert info.value.field == "owner"


Mutation = Callable[[dict[str, Any]], object]


def _record(state: dict[str, Any]) -> dict[str, Any]:
    return state["rooms"][ROOM][0]  # type: ignore[no-any-return]


MALFORMED: list[tuple[str, Mutation, str | None]] = [
    ("version", lambda s: s.update(v=2), "v"),
    ("unknown field", lambda s: s.update(extra=1), "extra"),
    ("missing field", lambda s: s.pop("replay"), "replay"),
    ("allow_unsigned not bool", lambda s: s.update(allow_unsigned=1), "allow_unsigned"),
    ("capacity zero", lambda s: s.update(replay_capacity=0), None),
    ("capacity str", lambda s: s.update(replay_capacity="9"), "replay_capacity"),
    ("directory not list", lambda s: s.update(directory=5), None),
    ("bad identity", lambda s: s["directory"][1].update(v=9), "v"),
    ("admins fingerprint", lambda s: s.update(admins={ROOM: ["AA"]}), "admins"),
    ("rooms not dict", lambda s: s.update(rooms=[1]), None),
    ("bad room id", lambda s: s.update(rooms={"a b": []}), "rooms"),
    ("record not object", lambda s: s["rooms"][ROOM].append(3), "rooms.epoch"),
    ("record field", lambda s: _record(s).update(x=1), "x"),
    ("record missing", lambda s: _record(s).pop("secret"), "secret"),
    ("epoch zero", lambda s: _record(s).update(epoch=0), "epoch"),
    ("duplicate epoch", lambda s: s["rooms"][ROOM].append(copy.deepcopy(_record(s))), "rooms.epoch"),
    ("secret short", lambda s: _record(s).update(secret="AAAA"), "secret"),
    ("secret padded", lambda s: _record(s).update(secret=_record(s)["secret"] + "="), "secret"),
    ("suite", lambda s: _record(s).update(suite="A128GCM"), "suite"),
    ("kem", lambda s: _record(s).update(kem=7), "kem"),
    ("root size", lambda s: _record(s).update(root="AAAA"), "root"),
    ("roster not list", lambda s: _record(s).update(roster="x"), "roster"),
    ("roster duplicate", lambda s: _record(s).update(roster=_record(s)["roster"] * 2), "roster"),
    ("roster id", lambda s: _record(s)["roster"][0].__setitem__(0, "a b"), "roster.id"),
    ("roster pair", lambda s: _record(s)["roster"].append(["x"]), None),
    ("source", lambda s: _record(s).update(source="server"), "source"),
    ("sealed negative", lambda s: _record(s).update(sealed=-(1 << 40)), "sealed"),
    ("sealed beyond the bound", lambda s: _record(s).update(sealed=MAX_MESSAGES_PER_SENDER + 1), "sealed"),
    ("sealed bool", lambda s: _record(s).update(sealed=True), "sealed"),
    ("messages negative", lambda s: _record(s).update(messages=-1), "messages"),
    ("size negative", lambda s: _record(s).update(size=-1), "size"),
    ("issued_at negative", lambda s: _record(s).update(issued_at=-1), "issued_at"),
    ("issued_at float", lambda s: _record(s).update(issued_at=1.5), "issued_at"),
    ("replay entry short", lambda s: s.update(replay=[[ROOM, 1, "bob"]]), None),
    ("replay epoch", lambda s: s.update(replay=[[ROOM, 0, "bob", "m"]]), "replay"),
    ("replay id", lambda s: s.update(replay=[[ROOM, 1, "bob", ""]]), "replay"),
]


@pytest.mark.parametrize(("name", "mutate", "field"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_key_ring_state_is_refused(name: str, mutate: Mutation, field: str | None) -> None:
    identities, rings, _ = _busy_ring()
    state = rings["alice"].to_dict()
    mutate(state)
    with pytest.raises(DomviaError) as info:
        KeyRing.from_dict(state, identities["alice"])
    assert type(info.value) is FormatError, info.value
    if field is not None:
        assert info.value.field == field, info.value  # type: ignore[attr-defined]


def test_replay_detection_uses_the_authenticated_message_id() -> None:
    _, rings, _ = _room()
    sealed = rings["bob"].seal(ROOM, b"hi", message_id="m-1")
    rings["alice"].open(sealed)
    with pytest.raises(ReplayError):
        rings["alice"].open(sealed._replace(message_id="m-2"))
