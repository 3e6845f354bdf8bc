"""KeyRing: sender authentication against the epoch's roster, unsigned mode, replay per (room, epoch),
and its strict plaintext export form."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from core_helpers import ROOM, assert_opaque_auth, fixed_identity, key_of, raises_auth, rebuild, ring_state, world

from domvia_e2ee import (
    AuthenticationError, DomviaError, ForkError, FormatError, Identity, KeyRing, NotMemberError, PolicyError,
    ReplayError, Room, StaleEpochError, UnauthorizedError, UnknownKeyError, UnknownSenderError,
    keyring_from_plaintext, keyring_to_plaintext, seal, seal_unsigned,
)
from domvia_e2ee.keys import MAX_MESSAGES_PER_SENDER
from domvia_e2ee.group.replay import ReplayState

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


def _reload(ring: KeyRing, owner: Identity) -> KeyRing:
    return keyring_from_plaintext(json.loads(json.dumps(keyring_to_plaintext(ring))), owner)


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
    key = key_of(rings["alice"], ROOM, 1)
    genuine = seal(key, b"hi", message_id="m-1", sender=identities["bob"])
    forged = rebuild(genuine, signer=identities["mallory"], content_type="text/html")
    raises_auth(rings["alice"].open, forged)
    carol_signs = rebuild(genuine, signer=identities["carol"])
    raises_auth(rings["alice"].open, carol_signs)


def test_a_non_member_sender_is_refused() -> None:
    """Senders are checked against the epoch's roster, not the directory: known or not, a sender the
    full roster does not list is unauthorised; with a slice's partial roster, not proved yet."""
    identities, rings, room = _room()
    key = key_of(rings["alice"], ROOM, 1)
    from_mallory = seal(key, b"hi", message_id="m-1", sender=identities["mallory"])
    from_stranger = seal(key, b"hi", message_id="m-1", sender=fixed_identity("zed"))
    for sealed in (from_mallory, from_stranger):
        with pytest.raises(UnauthorizedError):
            rings["alice"].open(sealed)
    rotation = room.rotate()
    rings["bob"].accept(rotation.bundle.slice_for("bob"))
    key = key_of(rings["bob"], ROOM, 2)
    for sender in (identities["mallory"], fixed_identity("zed"), identities["carol"]):
        with pytest.raises(UnknownSenderError):
            rings["bob"].open(seal(key, b"hi", message_id="m-2", sender=sender))


def test_a_changed_identity_must_be_replaced_explicitly() -> None:
    identities, rings, _ = _room()
    other_bob = Identity("bob", x25519_private=bytes(32), ed25519_seed=bytes(32))
    with pytest.raises(PolicyError):
        rings["alice"].add_identity(other_bob.public)
    assert rings["alice"].known_identity("bob") == identities["bob"].public
    rings["alice"].add_identity(identities["bob"].public)  # the same identity again is fine
    with pytest.raises(PolicyError):  # the owner's own identity is never replaced
        rings["alice"].add_identity(Identity("alice", x25519_private=bytes(32), ed25519_seed=bytes(32)).public,
                                    replace=True)
    rings["alice"].add_identity(other_bob.public, replace=True)
    assert rings["alice"].known_identity("bob") == other_bob.public
    # The pin does not rewrite the signed roster: bob's messages are still verified with the keys the
    # epoch lists, and only the other bob's would be refused.
    sealed = rings["bob"].seal(ROOM, b"hi", message_id="m-1")
    assert rings["alice"].open(sealed).sender_id == "bob"
    raises_auth(rings["alice"].open, rebuild(sealed, signer=other_bob, message_id="m-2"))
    # and alice, as rotator, refuses to put into a roster an identity that differs from her pin
    with pytest.raises(PolicyError):
        Room(rings["alice"], ROOM).add([fixed_identity("dave").public])


def test_unknown_room_epoch_or_key_id() -> None:
    identities, rings, _ = _room()
    sealed = rings["bob"].seal(ROOM, b"hi", message_id="m-1")
    with pytest.raises(UnknownKeyError):
        rings["mallory"].open(sealed)
    with pytest.raises(UnknownKeyError):
        rings["alice"].open(rebuild(sealed, epoch=2, signer=identities["bob"]))
    with pytest.raises(UnknownKeyError):
        rings["mallory"].seal(ROOM, b"x", message_id="m")
    # A held epoch under another key id: signed by someone the roster does not vouch for, it is a
    # plain authentication failure; signed by a member, it is a fork, and the evidence is kept.
    raises_auth(rings["alice"].open, rebuild(sealed, key_id=bytes(32), signer=identities["mallory"]))
    raises_auth(rings["alice"].open, rebuild(sealed, key_id=bytes(32)))
    assert rings["alice"].forks(ROOM) == []
    forked = rebuild(sealed, key_id=bytes(32), signer=identities["bob"])
    with pytest.raises(ForkError) as info:
        rings["alice"].open(forked)
    assert info.value.evidence.kind == "message" and info.value.evidence.other == forked
    assert rings["alice"].forks(ROOM) == [info.value.evidence]


def test_a_link_epoch_is_not_a_membership() -> None:
    _, rings, room = _room()
    rotation = room.remove(["carol"])
    assert rings["carol"].accept(rotation.bundle.announcement().to_bytes()).kind == "link"
    sealed = rings["alice"].seal(ROOM, b"after", message_id="m-1")
    with pytest.raises(NotMemberError):
        rings["carol"].open(sealed)
    with pytest.raises(NotMemberError):
        rings["carol"].seal(ROOM, b"x")
    assert rings["carol"].epochs(ROOM) == [1, 2] and key_of(rings["carol"], ROOM, 2) is None


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
    key = key_of(rings["alice"], ROOM, 1)
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
    old_key = key_of(rings["carol"], ROOM, 1)
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
    before = ring_state(rings["alice"])
    with pytest.raises(ReplayError):
        rings["alice"].open(sealed.to_json())
    assert ring_state(rings["alice"]) == before
    assert rings["alice"].open(sealed, check_replay=False).plaintext == b"hi"
    # the same id from another sender, or in another epoch, is another message
    rings["alice"].open(rings["carol"].seal(ROOM, b"hi", message_id="m-1"))
    # bob's key ring never seals m-1 twice in an epoch, so no genuine message is dropped as a replay
    with pytest.raises(PolicyError):
        rings["bob"].seal(ROOM, b"other", message_id="m-1")
    # a second message reusing the id (sealed outside the key ring) is a replay of (room, epoch, sender, id)
    again = seal(key_of(rings["bob"], ROOM, 1), b"other", message_id="m-1", sender=rings["bob"].owner)
    with pytest.raises(ReplayError):
        rings["alice"].open(again)


def test_a_failed_open_records_nothing() -> None:
    _, rings, _ = _room()
    sealed = rings["bob"].seal(ROOM, b"hi", message_id="m-1")
    tampered = bytearray(sealed.to_bytes())
    tampered[-70] ^= 1
    with pytest.raises(AuthenticationError) as info:
        rings["alice"].open(bytes(tampered))
    assert_opaque_auth(info.value)
    assert rings["alice"].open(sealed).plaintext == b"hi"


def test_replay_memory_is_bounded_by_closing_a_full_epoch() -> None:
    """At capacity an epoch is closed: nothing is evicted, so no message opens twice, and live
    messages in the full epoch are stale until the room rotates."""
    _, rings, room = _room(replay_capacity=3)
    sealed = [rings["bob"].seal(ROOM, b"x", message_id=f"m-{i}") for i in range(3)]
    with pytest.raises(StaleEpochError):  # bob's own epoch state is full too: he must rotate
        rings["bob"].seal(ROOM, b"x", message_id="m-3")
    late = rings["carol"].seal(ROOM, b"x", message_id="m-4")
    for message in sealed:
        rings["alice"].open(message)
    before = ring_state(rings["alice"])
    for message in (*sealed, late):
        with pytest.raises(StaleEpochError):
            rings["alice"].open(message)
    assert ring_state(rings["alice"]) == before
    assert rings["alice"].open(late, check_replay=False).plaintext == b"x"  # re-reading history still works
    rotation = room.rotate()
    rings["bob"].accept(rotation.bundle)
    assert rings["alice"].open(rings["bob"].seal(ROOM, b"y", message_id="m-0")).epoch == 2


def test_replay_state_unit() -> None:
    replay = ReplayState(capacity=2, live_epochs=2)
    replay.check_open("r", 1, 1, "s", "m0")
    replay.record_open("r", 1, 1, "s", "m0")
    with pytest.raises(ReplayError):
        replay.check_open("r", 1, 1, "s", "m0")
    replay.check_open("r", 1, 1, "t", "m0")  # another sender
    replay.check_open("r", 2, 2, "s", "m0")  # another epoch
    replay.check_open("q", 1, 1, "s", "m0")  # another room
    replay.record_open("r", 1, 1, "s", "m1")
    with pytest.raises(StaleEpochError):  # full: closed
        replay.check_open("r", 1, 1, "s", "m2")
    replay.reserve_seal("r", 3, "me", "x")
    with pytest.raises(PolicyError):
        replay.reserve_seal("r", 3, "me", "x")
    replay.forget_seal("r", 3, "me", "x")
    replay.reserve_seal("r", 3, "me", "x")
    with pytest.raises(StaleEpochError):  # epoch 1 is more than live_epochs older than epoch 3
        replay.check_open("r", 1, 3, "s", "m9")
    for bad in ((0, 1), (1, 0), (-1, 5)):
        with pytest.raises(ValueError):
            ReplayState(*bad)


def test_replay_state_survives_a_restart() -> None:
    identities, rings, _ = _room()
    sealed = rings["bob"].seal(ROOM, b"hi", message_id="m-1")
    rings["alice"].open(sealed)
    reloaded = _reload(rings["alice"], identities["alice"])
    with pytest.raises(ReplayError):
        reloaded.open(sealed)
    with pytest.raises(PolicyError):  # bob's sealed ids too
        _reload(rings["bob"], identities["bob"]).seal(ROOM, b"again", message_id="m-1")


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
        state = keyring_to_plaintext(ring)
        again = _reload(ring, identities[name])
        assert keyring_to_plaintext(again) == state
        assert again.epochs(ROOM) == ring.epochs(ROOM)
        assert all(key_of(again, ROOM, e) == key_of(ring, ROOM, e) for e in ring.epochs(ROOM))
        latest = ring.latest_epoch(ROOM) or 0
        assert key_of(again, ROOM, latest).sealed_count(name) == key_of(ring, ROOM, latest).sealed_count(name)  # type: ignore[union-attr]
        assert again.anchors(ROOM) == ring.anchors(ROOM)
        assert again.header(ROOM) == ring.header(ROOM)
    reloaded = _reload(rings["alice"], identities["alice"])
    assert reloaded.open(rings["carol"].seal(ROOM, b"d", message_id="m-4"), check_replay=False).plaintext == b"d"
    # the reloaded admin goes on rotating from the chain it holds
    assert Room(reloaded, ROOM).rotate().epoch == 3


def test_key_ring_state_belongs_to_its_owner() -> None:
    identities, rings, _ = _busy_ring()
    with pytest.raises(FormatError) as info:
        keyring_from_plaintext(keyring_to_plaintext(rings["alice"]), identities["bob"])
    assert info.value.field == "owner"
    impostor = Identity("alice", x25519_private=bytes(range(32)), ed25519_seed=bytes(range(32)))
    with pytest.raises(FormatError) as info:
        keyring_from_plaintext(keyring_to_plaintext(rings["alice"]), impostor)
    assert info.value.field == "owner"


Mutation = Callable[[dict[str, Any]], object]


def _record(state: dict[str, Any]) -> dict[str, Any]:
    return state["rooms"][ROOM][0]  # type: ignore[no-any-return]


def _other(epoch_index: int, field: str | None = None) -> Any:
    """A record (or one of its fields) of another, unrelated busy key ring (its own keys and chain)."""
    if not _OTHER:
        _OTHER.append(keyring_to_plaintext(_busy_ring()[1]["alice"]))
    record = _OTHER[0]["rooms"][ROOM][epoch_index]
    return copy.deepcopy(record if field is None else record[field])


_OTHER: list[dict[str, Any]] = []


def _fork(**changes: object) -> dict[str, object]:
    return {"room": ROOM, "epoch": 1, "kind": "header", "held": "", "other": "", "sender": ""} | changes


MALFORMED: list[tuple[str, Mutation, str | None]] = [
    ("version", lambda s: s.update(v=1), "v"),
    ("unknown field", lambda s: s.update(extra=1), "extra"),
    ("missing field", lambda s: s.pop("replay"), "replay"),
    ("owner", lambda s: s.update(owner="bob"), "owner"),
    ("owner fingerprint", lambda s: s.update(owner_fingerprint="AAAA"), "owner_fingerprint"),
    ("allow_unsigned not bool", lambda s: s.update(allow_unsigned=1), "allow_unsigned"),
    ("capacity zero", lambda s: s.update(replay_capacity=0), None),
    ("capacity str", lambda s: s.update(replay_capacity="9"), "replay_capacity"),
    ("live epochs zero", lambda s: s.update(live_epochs=0), None),
    ("directory not list", lambda s: s.update(directory=5), None),
    ("bad identity", lambda s: s["directory"][1].update(v=9), "v"),
    ("anchor fingerprint", lambda s: s.update(anchors={ROOM: ["AA"]}), "anchors"),
    ("anchor room id", lambda s: s.update(anchors={"a b": []}), "anchors"),
    ("rooms not dict", lambda s: s.update(rooms=[1]), None),
    ("bad room id", lambda s: s.update(rooms={"a b": []}), "rooms"),
    ("room without epochs", lambda s: s.update(rooms={ROOM: []}), "rooms"),
    ("record not object", lambda s: s["rooms"][ROOM].append(3), "rooms.epoch"),
    ("record field", lambda s: _record(s).update(x=1), "x"),
    ("record missing", lambda s: _record(s).pop("secret"), "secret"),
    ("header garbage", lambda s: _record(s).update(header="AAAA"), None),
    ("duplicate epoch", lambda s: s["rooms"][ROOM].append(copy.deepcopy(_record(s))), "rooms"),
    ("epochs out of order", lambda s: s["rooms"][ROOM].reverse(), "rooms"),
    ("chain broken", lambda s: s["rooms"][ROOM].__setitem__(1, _other(1)), "rooms"),
    ("roster of another epoch", lambda s: _record(s).update(roster=_other(0, "roster")), "roster"),
    ("secret short", lambda s: _record(s).update(secret="AAAA"), "secret"),
    ("secret padded", lambda s: _record(s).update(secret=_record(s)["secret"] + "="), "secret"),
    ("secret of another key", lambda s: _record(s).update(secret=_other(0, "secret")), "secret"),
    ("roster not list", lambda s: _record(s).update(roster="x"), "roster"),
    ("roster entry", lambda s: _record(s).update(roster=["AAAA"]), None),
    ("source", lambda s: _record(s).update(source="server"), "source"),
    ("complete not bool", lambda s: _record(s).update(complete="yes"), "source"),
    ("sealed negative", lambda s: _record(s).update(sealed=-(1 << 40)), "sealed"),
    ("sealed beyond the bound", lambda s: _record(s).update(sealed=MAX_MESSAGES_PER_SENDER + 1), "sealed"),
    ("sealed bool", lambda s: _record(s).update(sealed=True), "sealed"),
    ("messages negative", lambda s: _record(s).update(messages=-1), "messages"),
    ("signature short", lambda s: _record(s).update(signature="AAAA"), "signature"),
    ("rotator garbage", lambda s: _record(s).update(rotator="AAAA"), None),
    ("authority garbage", lambda s: _record(s).update(authority="AAAA"), None),
    ("replay entry short", lambda s: s.update(replay={ROOM: [[1, False]]}), None),
    ("replay epoch", lambda s: s.update(replay={ROOM: [[0, False, []]]}), "replay"),
    ("replay id", lambda s: s.update(replay={ROOM: [[1, False, [["bob", "", 2]]]]}), "replay"),
    ("replay bits", lambda s: s.update(replay={ROOM: [[1, False, [["bob", "m", 4]]]]}), "replay"),
    ("replay closed", lambda s: s.update(replay={ROOM: [[1, "no", []]]}), "replay"),
    ("fork kind", lambda s: s.update(forks=[_fork(kind="other")]), "forks.kind"),
    ("fork epoch", lambda s: s.update(forks=[_fork(epoch=0)]), "forks.epoch"),
    ("fork field", lambda s: s.update(forks=[_fork(extra=1)]), "extra"),
]


@pytest.mark.parametrize(("name", "mutate", "field"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_key_ring_state_is_refused(name: str, mutate: Mutation, field: str | None) -> None:
    identities, rings, _ = _busy_ring()
    state = keyring_to_plaintext(rings["alice"])
    mutate(state)
    with pytest.raises(DomviaError) as info:
        keyring_from_plaintext(state, identities["alice"])
    assert type(info.value) is FormatError, info.value
    if field is not None:
        assert info.value.field == field, info.value  # type: ignore[attr-defined]


def test_replay_detection_uses_the_authenticated_message_id() -> None:
    _, rings, _ = _room()
    sealed = rings["bob"].seal(ROOM, b"hi", message_id="m-1")
    rings["alice"].open(sealed)
    with pytest.raises(ReplayError):
        rings["alice"].open(sealed._replace(message_id="m-2"))
