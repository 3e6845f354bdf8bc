"""History bundles (format version 3): a joiner reads earlier epochs only when a member shares them on
purpose, and every shared epoch is bound to the room's chain (spec/history.md)."""

from __future__ import annotations

import dataclasses

import pytest
from core_helpers import ROOM, assert_unchanged, fixed_identity, key_of, ring_state, seed, world

from domvia_e2ee import (
    AuthenticationError, DomviaError, DowngradeError, FormatError, HistoryBundle, Identity, KeyRing, NotMemberError,
    NotRecipientError, PolicyError, Room, RoomKey, SealedMessage, UnauthorizedError, UnknownKeyError, WrapKem, labels,
)
from domvia_e2ee.encoding import Writer
from domvia_e2ee.group.history import HistoryEntry, SharedEpoch, build_history
from domvia_e2ee.group.members import MemberProof, RosterEntry
from domvia_e2ee.hazmat import merkle

NAMES = ("alice", "bob", "dave", "eve")


def _three_epochs() -> tuple[dict[str, Identity], dict[str, KeyRing], Room, dict[int, SealedMessage]]:
    """alice and bob chat through epochs 1-3; dave and eve are known outsiders."""
    identities, rings = world(NAMES)
    room, rotation = Room.create(rings["alice"], ROOM, [identities["bob"].public])
    rings["bob"].accept(rotation.bundle.to_bytes())
    sent = {1: rings["bob"].seal(ROOM, b"epoch one", message_id="m-1")}
    for epoch in (2, 3):
        rings["bob"].accept(room.rotate().bundle.to_bytes())
        sent[epoch] = rings["bob"].seal(ROOM, f"epoch {epoch}".encode(), message_id=f"m-{epoch}")
    return identities, rings, room, sent


def _shared(ring: KeyRing, epoch: int, *, key: RoomKey | bool | None = True) -> SharedEpoch:
    """What ring holds of one epoch, as a sharer would share it (key=None: link-only; a RoomKey: that key)."""
    record = ring.record(ROOM, epoch)
    if key is None:
        return SharedEpoch(record.header_bytes, None, ())
    return SharedEpoch(record.header_bytes, record.key if key is True else key, tuple(record.roster.values()))  # type: ignore[arg-type]


def _own_proof(identity: Identity) -> MemberProof:
    """A member proof of one's own making: it verifies against a tree one built, and no epoch's."""
    entry = RosterEntry.of(identity.public, bytes(32))
    return MemberProof(entry, 0, tuple(merkle.Tree([entry.leaf(), bytes(32)]).path(0)))


def _resign(sharer: Identity, history: HistoryBundle) -> HistoryBundle:
    return dataclasses.replace(history, signature=sharer.sign(labels.SIG_HISTORY + history.body()))


def test_shared_epochs_only_are_readable() -> None:
    identities, rings, room, sent = _three_epochs()
    rotation = room.add([identities["dave"].public], share_history=[2])
    dave = rings["dave"]
    dave.accept(rotation.bundle.to_bytes())
    history = rotation.history["dave"]
    assert [e.header.epoch for e in history.entries] == [2, 3]  # 3 is link-only: the chain to the anchor
    assert [bool(e.wrapped) for e in history.entries] == [True, False]
    accepted = dave.accept(HistoryBundle.from_bytes(history.to_bytes()).to_bytes())
    assert (accepted.epochs, accepted.kind) == ((2, 3), "history")
    assert dave.epochs(ROOM) == [2, 3, 4]
    assert dave.open(sent[2]).plaintext == b"epoch 2"  # signed by bob: the shared roster lists him
    with pytest.raises(UnknownKeyError):
        dave.open(sent[1])
    with pytest.raises(NotMemberError):  # epoch 3 is held as a link: dave was not given it
        dave.open(sent[3])
    after = rings["bob"]
    after.accept(rotation.bundle.to_bytes())
    assert dave.open(after.seal(ROOM, b"welcome", message_id="m-4")).plaintext == b"welcome"


def test_without_history_a_joiner_reads_nothing_earlier() -> None:
    identities, rings, room, sent = _three_epochs()
    rotation = room.add([identities["dave"].public])
    assert rotation.history == {}
    rings["dave"].accept(rotation.bundle.to_bytes())
    assert rings["dave"].epochs(ROOM) == [4]
    for sealed in sent.values():
        with pytest.raises(UnknownKeyError):
            rings["dave"].open(sealed)


def test_several_epochs_shared() -> None:
    identities, rings, room, sent = _three_epochs()
    rotation = room.add([identities["dave"].public], share_history=[1, 3])
    rings["dave"].accept(rotation.bundle)
    assert rings["dave"].accept(rotation.history["dave"]).epochs == (1, 2, 3)
    assert [rings["dave"].open(sent[e]).plaintext for e in (1, 3)] == [b"epoch one", b"epoch 3"]
    with pytest.raises(NotMemberError):
        rings["dave"].open(sent[2])
    # the same history again commits nothing and is not an error
    state = ring_state(rings["dave"])
    assert rings["dave"].accept(rotation.history["dave"]).epochs == ()
    assert ring_state(rings["dave"]) == state


def test_history_before_its_anchor_epoch_is_unknown_key_and_changes_nothing() -> None:
    identities, rings, room, _ = _three_epochs()
    rotation = room.add([identities["dave"].public], share_history=[2])
    assert_unchanged(rings["dave"], UnknownKeyError, rings["dave"].accept, rotation.history["dave"].to_bytes())
    rings["dave"].accept(rotation.bundle)
    assert rings["dave"].accept(rotation.history["dave"]).epochs == (2, 3)


def test_history_for_someone_else_is_refused() -> None:
    identities, rings, room, _ = _three_epochs()
    rotation = room.add([identities["dave"].public, identities["eve"].public], share_history=[2])
    rings["eve"].accept(rotation.bundle)
    assert_unchanged(rings["eve"], NotRecipientError, rings["eve"].accept, rotation.history["dave"])
    # and relabelling the recipient breaks the signature (the wraps are bound to dave anyway)
    relabelled = dataclasses.replace(rotation.history["dave"], recipient_id="eve")
    assert_unchanged(rings["eve"], AuthenticationError, rings["eve"].accept, relabelled.to_bytes())


def test_history_from_a_non_member_or_with_a_bad_signature_is_refused() -> None:
    identities, rings, room, _ = _three_epochs()
    rotation = room.add([identities["dave"].public], share_history=[2])
    dave = rings["dave"]
    dave.accept(rotation.bundle)
    shared = [_shared(rings["alice"], 2), _shared(rings["alice"], 3, key=None)]
    for outsider in (identities["eve"], fixed_identity("zed")):
        forged = build_history(outsider, identities["dave"].public, shared, room_id=ROOM, anchor_epoch=4,
                               kem=WrapKem.X25519, issued_at=0, sharer_proof=_own_proof(outsider))
        assert_unchanged(dave, UnauthorizedError, dave.accept, forged.to_bytes())
    # a genuine member proof of someone else: the proof must be the sharer's own
    borrowed = dataclasses.replace(build_history(identities["eve"], identities["dave"].public, shared, room_id=ROOM,
                                                 anchor_epoch=4, kem=WrapKem.X25519, issued_at=0,
                                                 sharer_proof=_own_proof(identities["eve"])),
                                   sharer=rotation.bundle.proof_for("bob"))
    assert_unchanged(dave, FormatError, dave.accept, borrowed)
    genuine = rotation.history["dave"]
    assert_unchanged(dave, AuthenticationError, dave.accept, dataclasses.replace(genuine, signature=bytes(64)))
    assert_unchanged(dave, AuthenticationError, dave.accept, dataclasses.replace(genuine, issued_at=1))
    assert_unchanged(dave, FormatError, dave.accept, dataclasses.replace(genuine, sharer_id="bob"))
    as_bob = dataclasses.replace(genuine, sharer_id="bob", sharer=rotation.bundle.proof_for("bob"))
    assert_unchanged(dave, AuthenticationError, dave.accept, as_bob.to_bytes())


def test_a_member_of_the_anchor_epoch_may_share() -> None:
    """bob is no admin; his authority is his membership of the epoch dave joined in."""
    identities, rings, room, sent = _three_epochs()
    rotation = room.add([identities["dave"].public])
    for name in ("bob", "dave"):
        rings[name].accept(rotation.bundle)
    shared = build_history(identities["bob"], identities["dave"].public, [_shared(rings["bob"], 3)], room_id=ROOM,
                           anchor_epoch=4, kem=WrapKem.X25519, issued_at=0,
                           sharer_proof=rotation.bundle.proof_for("bob"))
    assert rings["dave"].accept(shared).epochs == (3,)
    assert rings["dave"].open(sent[3]).plaintext == b"epoch 3"


def test_a_sharer_proof_must_match_the_anchor_roster() -> None:
    """A slice holder of the anchor epoch checks the proof against the root; a full-roster holder also
    checks the proof's fingerprint against the roster."""
    identities, rings, room, _ = _three_epochs()
    rotation = room.add([identities["dave"].public])
    rings["dave"].accept(rotation.bundle.slice_for("dave"))
    shared = [_shared(rings["alice"], 3)]
    proof = rotation.bundle.proof_for("bob")
    wrong = dataclasses.replace(proof, entry=dataclasses.replace(proof.entry, wrapped_digest=bytes(32)))
    forged = build_history(identities["bob"], identities["dave"].public, shared, room_id=ROOM, anchor_epoch=4,
                           kem=WrapKem.X25519, issued_at=0, sharer_proof=wrong)
    assert_unchanged(rings["dave"], UnauthorizedError, rings["dave"].accept, forged.to_bytes())


def test_history_keys_are_wrapped_with_the_anchor_epochs_kem() -> None:
    identities, rings, room, _ = _three_epochs()
    dave = fixed_identity("frank", post_quantum=True)
    ring = KeyRing(dave)
    ring.trust_admin(ROOM, identities["alice"].public)
    rotation = room.add([dave.public])
    ring.accept(rotation.bundle)
    other_kem = build_history(identities["alice"], dave.public, [_shared(rings["alice"], 3)], room_id=ROOM,
                              anchor_epoch=4, kem=WrapKem.MLKEM768_X25519, issued_at=0,
                              sharer_proof=rotation.bundle.proof_for("alice"))
    assert_unchanged(ring, DowngradeError, ring.accept, other_kem.to_bytes())


def test_a_tampered_or_substituted_entry_is_refused() -> None:
    identities, rings, room, _ = _three_epochs()
    rotation = room.add([identities["dave"].public], share_history=[3])
    dave = rings["dave"]
    dave.accept(rotation.bundle)
    genuine = rotation.history["dave"]
    entry = genuine.entries[0]
    flipped = entry.wrapped[:-1] + bytes((entry.wrapped[-1] ^ 1,))
    other_header = dataclasses.replace(entry.header, key_id=bytes(32))
    eve = identities["eve"].public
    bob_as_eve = tuple(RosterEntry.make("bob", eve.x25519, eve.ed25519, b"", m.wrapped_digest)
                       if m.participant_id == "bob" else m for m in entry.roster)
    fake_key = RoomKey(seed("fake"), room_id=ROOM, epoch=3)
    with_fake_key = build_history(identities["alice"], identities["dave"].public,
                                  [_shared(rings["alice"], 3, key=fake_key)], room_id=ROOM, anchor_epoch=4,
                                  kem=WrapKem.X25519, issued_at=0, sharer_proof=genuine.sharer)
    variants = [dataclasses.replace(entry, wrapped=flipped),
                HistoryEntry(other_header.to_bytes(), other_header, entry.wrapped, entry.roster),
                dataclasses.replace(entry, roster=bob_as_eve),
                with_fake_key.entries[0]]
    for bad in variants:
        resigned = _resign(identities["alice"], dataclasses.replace(genuine, entries=(bad,)))
        assert_unchanged(dave, AuthenticationError, dave.accept, resigned.to_bytes())


def test_history_cannot_invent_an_epoch_or_link_another_branch() -> None:
    """Every entry's header hashes into the next one's previous, up to the anchor's: a header the
    room never had (even one signed by its admin) does not link."""
    identities, rings, room, _ = _three_epochs()
    rotation = room.add([identities["dave"].public], share_history=[2])
    rings["dave"].accept(rotation.bundle)
    genuine = rotation.history["dave"]
    invented = dataclasses.replace(genuine.entries[1].header, issued_at=12345)
    swapped = HistoryEntry(invented.to_bytes(), invented, b"", ())
    forged = _resign(identities["alice"], dataclasses.replace(genuine, entries=(genuine.entries[0], swapped)))
    assert_unchanged(rings["dave"], AuthenticationError, rings["dave"].accept, forged.to_bytes())


def test_an_entry_for_a_held_epoch_must_carry_its_key() -> None:
    """A sharer cannot swap the key of an epoch the joiner already holds."""
    identities, rings, room, _ = _three_epochs()
    rotation = room.add([identities["dave"].public])
    dave = rings["dave"]
    dave.accept(rotation.bundle)
    fake = RoomKey(seed("fake"), room_id=ROOM, epoch=4)
    assert fake != key_of(dave, ROOM, 4)
    fifth = room.rotate().bundle
    dave.accept(fifth)  # the admin signs, so only the key check can refuse it
    bad = build_history(identities["alice"], identities["dave"].public, [_shared(rings["alice"], 4, key=fake)],
                        room_id=ROOM, anchor_epoch=5, kem=WrapKem.X25519, issued_at=0,
                        sharer_proof=fifth.proof_for("alice"))
    assert_unchanged(dave, AuthenticationError, dave.accept, bad.to_bytes())
    good = build_history(identities["alice"], identities["dave"].public, [_shared(rings["alice"], 4)],
                         room_id=ROOM, anchor_epoch=5, kem=WrapKem.X25519, issued_at=0,
                         sharer_proof=fifth.proof_for("alice"))
    assert dave.accept(good).epochs == ()  # held in full already: accepted, nothing committed


def test_history_fills_a_link_epoch() -> None:
    """A member removed and re-added holds the epoch in between as a link; history can give it the key."""
    identities, rings, room, _ = _three_epochs()
    removal = room.remove(["bob"])
    rings["bob"].accept(removal.announcement().to_bytes())
    back = room.add([identities["bob"].public], share_history=[4])
    rings["bob"].accept(back.bundle)
    assert key_of(rings["bob"], ROOM, 4) is None
    assert rings["bob"].accept(back.history["bob"]).epochs == (4,)
    assert key_of(rings["bob"], ROOM, 4) == key_of(rings["alice"], ROOM, 4)
    assert rings["bob"].record(ROOM, 4).complete


def test_room_refuses_to_share_what_it_does_not_hold_and_stays_put() -> None:
    identities, rings, room, _ = _three_epochs()
    before = (room.epoch, sorted(room.members), ring_state(rings["alice"]))
    for epochs in ([9], [4], [0]):
        with pytest.raises(DomviaError):
            room.add([identities["dave"].public], share_history=epochs)
        assert (room.epoch, sorted(room.members), ring_state(rings["alice"])) == before
    with pytest.raises(PolicyError):
        room.add([identities["bob"].public])


def _fail(raw: bytes, field: str) -> None:
    with pytest.raises(FormatError) as info:
        HistoryBundle.from_bytes(raw)
    assert info.value.field == field, info.value


def test_history_bytes_round_trip_and_strict_parsing() -> None:
    identities, _, room, _ = _three_epochs()
    history = room.add([identities["dave"].public], share_history=[1, 2]).history["dave"]
    data = history.to_bytes()
    assert HistoryBundle.from_bytes(data) == history
    assert HistoryBundle.from_bytes(data).to_bytes() == data
    _fail(data + b"\x00", "trailing data")
    _fail(b"DVB\x03" + data[4:], "magic")
    _fail(b"DVH\x02" + data[4:], "magic")  # nor version 2
    _fail(b"DVH\x01" + data[4:], "magic")  # version 1 history bundles are not read
    _fail(data[:-1], "sharer.path")
    unordered = _resign(identities["alice"], dataclasses.replace(history, entries=history.entries[::-1]))
    _fail(unordered.to_bytes(), "entries")
    late = dataclasses.replace(history, anchor_epoch=3)
    _fail(late.to_bytes(), "entries")
    gap = dataclasses.replace(history, entries=(history.entries[0], history.entries[2]))
    _fail(gap.to_bytes(), "entries")
    empty = dataclasses.replace(history, entries=())
    _fail(empty.to_bytes(), "entry_count")
    entry = history.entries[0]
    assert len(entry.roster) > 1
    unsorted_roster = dataclasses.replace(entry, roster=entry.roster[::-1])
    _fail(dataclasses.replace(history, entries=(unsorted_roster, *history.entries[1:])).to_bytes(), "entry.roster")
    short_roster = dataclasses.replace(entry, roster=entry.roster[1:])
    _fail(dataclasses.replace(history, entries=(short_roster, *history.entries[1:])).to_bytes(), "entry.roster")
    link = history.entries[2]
    link_with_roster = HistoryEntry(link.header_bytes, link.header, b"", entry.roster[:1])
    _fail(dataclasses.replace(history, entries=(*history.entries[:2], link_with_roster)).to_bytes(), "entry.roster")
    _fail(dataclasses.replace(history, entries=(dataclasses.replace(entry, wrapped=b"x"),
                                                *history.entries[1:])).to_bytes(), "entry.wrapped_key")
    other_room = dataclasses.replace(entry.header, room_id="room-2")
    moved = HistoryEntry(other_room.to_bytes(), other_room, entry.wrapped, entry.roster)
    _fail(dataclasses.replace(history, entries=(moved, *history.entries[1:])).to_bytes(), "entry.header")
    _fail(dataclasses.replace(history, sharer_id="bob").to_bytes(), "sharer.id")
    # fixed positions: room id, sharer, recipient, anchor, issued_at, kem
    issued_at = 4 + sum(1 + len(x) for x in (history.room_id, history.sharer_id, history.recipient_id)) + 4
    _fail(data[:issued_at] + (253_402_300_800).to_bytes(8, "big") + data[issued_at + 8:], "issued_at")
    _fail(data[:issued_at + 8] + b"\x07" + data[issued_at + 9:], "kem")
    body = Writer().str8(ROOM).getvalue()
    assert data[4:4 + len(body)] == body
    _fail(bytes(64 << 20) + b"x", "history bundle")
