"""Contracts of the crypto core that mutation testing found untested (tests/README.md, "Mutation testing").

Each test here kills mutants that survived the rest of the suite: a changed bound, a dropped
argument, a field name or a message that callers rely on. Equivalent mutants (those no test can
tell apart from the original) are listed, with the reason, in tests/README.md instead.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from core_helpers import admins_of, key_of

from domvia_e2ee import (
    Announcement, Bundle, FormatError, Identity, InvalidKeyError, KeyExhaustedError, KeyRing, PolicyError, Room,
    RoomKey, RoomPolicy, Slice, StaleEpochError, Suite, UnauthorizedError, UnknownKeyError, UnknownSenderError,
    WrapKem, open_unsigned, seal, seal_unsigned,
)
from domvia_e2ee import open as open_signed
from domvia_e2ee.group.bundle import Plan, build_bundle
from domvia_e2ee.group.header import MAX_MEMBERS
from domvia_e2ee.group.history import SharedEpoch, build_history
from domvia_e2ee.group.members import Member, MemberProof, RosterEntry
from domvia_e2ee.hazmat import merkle
from domvia_e2ee.keys import MAX_CACHED_SENDERS, MAX_MESSAGES_PER_SENDER
from domvia_e2ee.labels import MAGIC_SLICE
from domvia_e2ee.message import header_prefix
from domvia_e2ee.wrap import unwrap, wrap

ROOM = "room-1"


def _key(suite: Suite = Suite.AES_256_GCM) -> RoomKey:
    return RoomKey(bytes(range(32)), room_id=ROOM, epoch=3, suite=suite)


# -- keys.py ---------------------------------------------------------------------------------

@pytest.mark.parametrize("suite", list(Suite))
def test_generate_keeps_the_suite(suite: Suite) -> None:
    key = RoomKey.generate(room_id=ROOM, epoch=1, suite=suite)
    assert key.suite is suite and len(bytes(key)) == 32


def test_room_key_errors_name_the_problem() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        RoomKey(bytes(31), room_id=ROOM, epoch=1)
    with pytest.raises(FormatError) as info:
        RoomKey(bytes(32), room_id="not an id", epoch=1)
    assert info.value.field == "room_id"
    with pytest.raises(FormatError) as info:
        RoomKey(bytes(32), room_id=ROOM, epoch=0)
    assert info.value.field == "epoch"


def test_room_key_repr_shows_a_key_id_prefix_only() -> None:
    key = _key()
    assert f"key_id={key.key_id.hex()[:16]}…" in repr(key)
    assert key.key_id.hex()[:17] not in repr(key)


def test_exhausted_key_says_to_rotate() -> None:
    key = _key()
    key._restore_sealed_count("alice", MAX_MESSAGES_PER_SENDER - 1)
    key.reserve_seal("alice")
    with pytest.raises(KeyExhaustedError, match="rotate"):
        key.reserve_seal("alice")
    assert key.sealed_count("alice") == MAX_MESSAGES_PER_SENDER


def test_sender_key_cache_never_exceeds_its_bound() -> None:
    key = _key()
    for i in range(MAX_CACHED_SENDERS + 1):
        sender = f"s{i}"
        forged = header_prefix(key.suite, 0, ROOM, 3, key.key_id, sender, "text/plain") + b"\x01m" + bytes(28)
        with pytest.raises(Exception, match="authentication failed"):
            open_unsigned(key, forged)
        assert len(key._senders) <= MAX_CACHED_SENDERS
    # A cached sender key is the same key derived afresh: the cache changes nothing but speed.
    assert key.sender_cipher("s0")._key == RoomKey(bytes(key), room_id=ROOM, epoch=3).sender_cipher("s0")._key


# -- bundle.py: every parse error names the field it was reading -------------------------------

def _people() -> dict[str, Identity]:
    return {n: Identity(n, x25519_private=bytes([i + 1]) * 32, ed25519_seed=bytes([i + 50]) * 32)
            for i, n in enumerate(("alice", "bob", "carol"))}


def _bundle() -> Bundle:
    """Epoch 4 of a member-rotated room, rotated by bob (no admin) with his authority proof of epoch 3."""
    people = _people()
    publics = [p.public for p in people.values()]
    policy = RoomPolicy(members_may_rotate=True)
    first = build_bundle(people["alice"], _key(), publics, kem=WrapKem.X25519, issued_at=5,
                         plan=Plan(bytes([1]) * 32, policy, admins_of(people["alice"])))
    key = RoomKey(bytes(range(1, 33)), room_id=ROOM, epoch=4)
    return build_bundle(people["bob"], key, publics, kem=WrapKem.X25519, issued_at=6,
                        plan=Plan(first.header.epoch_hash(), policy, admins_of(people["alice"]),
                                  authority=first.proof_for("bob")))


def _header_layout(bundle: Bundle) -> list[tuple[str, int]]:
    h = bundle.header
    layout = [("magic", 4), ("kem", 1), ("suite", 1), ("room_id", 1 + len(h.room_id)), ("epoch", 4),
              ("key_id", 32), ("previous", 32), ("rotator_id", 1 + len(h.rotator_id)), ("issued_at", 8), ("flags", 1),
              ("max_messages", 4), ("max_age_seconds", 4), ("admin_count", 1)]
    for admin_id, _ in h.admins:
        layout += [("admin.id", 1 + len(admin_id)), ("admin.fingerprint", 32)]
    return [*layout, ("member_count", 4), ("root", 32), ("signature", 64)]


def _proof_layout(proof: MemberProof, field: str) -> list[tuple[str, int]]:
    entry = proof.entry
    return [(f"{field}.id", 1 + len(entry.participant_id)), (f"{field}.x25519", 32), (f"{field}.ed25519", 32),
            (f"{field}.xwing", 2 + len(entry.xwing)), (f"{field}.list_digest", 32), (f"{field}.wrapped_digest", 32),
            (f"{field}.index", 4),
            (f"{field}.path", 1 + 32 * len(proof.path))]


def _authority_layout(bundle: Bundle) -> list[tuple[str, int]]:
    proof = bundle.signed.authority
    return [("authority", 1)] + ([] if proof is None else _proof_layout(proof, "authority"))


def _member_layout(member: Member) -> list[tuple[str, int]]:
    return [("member.id", 1 + len(member.participant_id)), ("member.x25519", 32), ("member.ed25519", 32),
            ("member.xwing", 2 + len(member.entry.xwing)), ("member.list_digest", 32),
            ("member.wrapped_key", 2 + len(member.wrapped))]


def _check_truncations(parse: Callable[[bytes], object], data: bytes, layout: list[tuple[str, int]]) -> None:
    assert sum(size for _, size in layout) == len(data)
    start = 0
    for field, size in layout:
        for cut in range(start, start + size):
            with pytest.raises(FormatError) as info:
                parse(data[:cut])
            assert info.value.field == field, (cut, field, info.value.field)
            assert info.value.reason
        start += size
    parse(data)


def test_bundle_truncated_anywhere_names_the_field() -> None:
    bundle = _bundle()
    assert bundle.signed.authority is not None
    layout = _header_layout(bundle) + _authority_layout(bundle) + [("lists.count", 4)]
    for member in bundle.members:
        layout += _member_layout(member)
    _check_truncations(Bundle.from_bytes, bundle.to_bytes(), layout)


def test_slice_truncated_anywhere_names_the_field() -> None:
    bundle = _bundle()
    piece = bundle.slice_for("carol")
    layout = (_header_layout(bundle) + _authority_layout(bundle) + _proof_layout(piece.rotator, "rotator")
              + [("lists.count", 4)] + _member_layout(piece.member) + [("index", 4), ("path", 1 + 32 * len(piece.path))])
    _check_truncations(Slice.from_bytes, piece.to_bytes(), layout)


def test_announcement_truncated_anywhere_names_the_field() -> None:
    bundle = _bundle()
    announcement = bundle.announcement()
    layout = (_header_layout(bundle) + _authority_layout(bundle) + _proof_layout(announcement.rotator, "rotator")
              + [("lists.count", 4)])
    layout[0] = ("magic", 4)
    _check_truncations(Announcement.from_bytes, announcement.to_bytes(), layout)


@pytest.mark.parametrize(("old", "new", "field"), [
    (b"\x06room-1", b"\x06room 1", "room_id"), (b"\x03bob", b"\x03b b", "rotator_id"),
    (b"\x05alice", b"\x05al ce", "admin.id"), (b"\x05carol", b"\x05car l", "member.id"),
])
def test_invalid_ids_name_their_field(old: bytes, new: bytes, field: str) -> None:
    data = _bundle().to_bytes()
    assert data.count(old) >= 1
    with pytest.raises(FormatError) as info:
        Bundle.from_bytes(data.replace(old, new, 1))
    assert info.value.field == field


def test_count_presence_and_size_errors() -> None:
    bundle = _bundle()
    data = bundle.to_bytes()
    count_at = sum(size for _, size in _header_layout(bundle)[:-3])
    for count, field in ((0, "member_count"), (MAX_MEMBERS + 1, "member_count"), (MAX_MEMBERS, "member.id")):
        changed = data[:count_at] + count.to_bytes(4, "big") + data[count_at + 4:]
        with pytest.raises(FormatError) as info:
            Bundle.from_bytes(changed)
        assert info.value.field == field, count
    proof_at = sum(size for _, size in _header_layout(bundle))
    with pytest.raises(FormatError, match="0 or 1") as info:
        Bundle.from_bytes(data[:proof_at] + b"\x02" + data[proof_at + 1:])
    assert info.value.field == "authority"
    wrapped = bundle.members[0].wrapped
    with pytest.raises(FormatError, match="bytes") as info:
        Bundle.from_bytes(data.replace(len(wrapped).to_bytes(2, "big") + wrapped,
                                       (len(wrapped) - 1).to_bytes(2, "big") + wrapped[:-1], 1))
    assert info.value.field == "member.wrapped_key"
    unsorted = dataclasses.replace(bundle, members=tuple(reversed(bundle.members)))
    with pytest.raises(FormatError, match="sorted") as info:
        Bundle.from_bytes(unsorted.to_bytes())
    assert info.value.field == "members"


def test_path_length_bound_is_inclusive() -> None:
    """A path of MAX_PATH nodes parses (a tree of 2^32 leaves needs it); one more does not."""
    piece = _bundle().slice_for("bob")
    longest = dataclasses.replace(piece, path=tuple(bytes([i]) * 32 for i in range(merkle.MAX_PATH)))
    assert Slice.from_bytes(longest.to_bytes()).path == longest.path
    too_long = longest.to_bytes()[:-1 - 32 * merkle.MAX_PATH] + bytes([merkle.MAX_PATH + 1]) + bytes(32 * 33)
    with pytest.raises(FormatError, match="longer") as info:
        Slice.from_bytes(too_long)
    assert info.value.field == "path"


def test_size_limit_is_inclusive() -> None:
    """Exactly 64 KiB is parsed (and fails on its content); one byte more is refused for its size."""
    limit = 64 << 10
    with pytest.raises(FormatError) as info:
        Slice.from_bytes(MAGIC_SLICE + bytes(limit - 4))
    assert info.value.field != "slice"
    with pytest.raises(FormatError, match="larger") as info:
        Slice.from_bytes(MAGIC_SLICE + bytes(limit - 3))
    assert info.value.field == "slice"
    with pytest.raises(FormatError, match="not a version 3") as info:
        Bundle.from_bytes(MAGIC_SLICE + bytes(10))
    assert info.value.field == "magic"


def _plan(**changes: object) -> Plan:
    return Plan(**({"previous": bytes([1]) * 32, "admins": admins_of(_people()["alice"])} | changes))  # type: ignore[arg-type]


def test_build_bundle_keeps_the_plan_and_reports_progress() -> None:
    people = _people()
    proof = _bundle().proof_for("carol")
    policy = RoomPolicy(max_messages=7, max_age_seconds=9, members_may_rotate=True)
    calls: list[tuple[int, int]] = []
    bundle = build_bundle(people["alice"], _key(), [p.public for p in people.values()], kem=WrapKem.X25519,
                          issued_at=1, plan=_plan(policy=policy, authority=proof),
                          progress=lambda done, total: calls.append((done, total)))
    assert bundle.signed.authority == proof and bundle.header.policy == policy
    assert bundle.header.previous == bytes([1]) * 32 and bundle.header.issued_at == 1
    assert calls == [(1, 3)] * 3
    with pytest.raises(ValueError, match="duplicate"):
        build_bundle(people["alice"], _key(), [people["bob"].public] * 2, kem=WrapKem.X25519, issued_at=1,
                     plan=_plan())
    with pytest.raises(ValueError, match="1 to"):
        build_bundle(people["alice"], _key(), [], kem=WrapKem.X25519, issued_at=1, plan=_plan())


def test_missing_member_names_itself() -> None:
    bundle = _bundle()
    for lookup in (bundle.slice_for, bundle.proof_for):
        with pytest.raises(KeyError) as info:
            lookup("dave")
        assert info.value.args == ("dave",)


# -- wrap.py --------------------------------------------------------------------------------

def test_wrap_errors_say_what_is_wrong() -> None:
    alice = _people()["alice"]
    with pytest.raises(FormatError, match="bytes") as info:
        unwrap(alice, bytes(10), kem=WrapKem.X25519, suite=Suite.AES_256_GCM, room_id=ROOM, epoch=3, key_id=bytes(32))
    assert info.value.field == "wrapped_key"
    with pytest.raises(InvalidKeyError, match="alice"):
        wrap(_key(), alice.public, WrapKem.MLKEM768_X25519)
    with pytest.raises(FormatError, match="unknown KEM 9"):
        WrapKem.from_wire(9)


# -- keyring.py and sealing.py ------------------------------------------------------------------

def _rings(allow_unsigned: bool = False) -> tuple[dict[str, Identity], dict[str, KeyRing], Room]:
    people = _people()
    rings = {n: KeyRing(p, allow_unsigned=allow_unsigned) for n, p in people.items()}
    for ring in rings.values():
        for p in people.values():
            if p is not ring.owner:
                ring.add_identity(p.public)
        ring.trust_admin(ROOM, people["alice"].public)
    room, rotation = Room.create(rings["alice"], ROOM, [people["bob"].public, people["carol"].public])
    for n in ("bob", "carol"):
        rings[n].accept(rotation.bundle.to_bytes())
    return people, rings, room


@pytest.mark.parametrize("method", ["seal", "seal_unsigned"])
def test_key_ring_sealing_passes_every_option_and_counts_once(method: str) -> None:
    _, rings, _ = _rings(allow_unsigned=True)
    ring = rings["alice"]
    seal_as = getattr(ring, method)
    default = seal_as(ROOM, b"hi", message_id="m-1")
    assert default.padded and default.content_type == "text/plain"
    custom = seal_as(ROOM, b"hi", message_id="m-2", content_type="application/json", pad=False)
    assert not custom.padded and custom.content_type == "application/json"
    assert ring.record(ROOM, 1).messages == 2
    rings["bob"].open(custom)
    assert rings["bob"].record(ROOM, 1).messages == 1


def test_bare_seal_unsigned_pads_by_default() -> None:
    assert seal_unsigned(_key(), b"hi", message_id="m-1", sender_id="bot").padded


def test_key_ring_errors_name_room_epoch_and_sender() -> None:
    people, rings, room = _rings()
    with pytest.raises(UnknownKeyError, match="room-2"):
        rings["bob"].open(seal_unsigned(RoomKey(bytes(32), room_id="room-2", epoch=1), b"x", message_id="m",
                                        sender_id="alice"))
    with pytest.raises(PolicyError, match="unsigned"):
        rings["bob"].open(rings["alice"].seal_unsigned(ROOM, b"x", message_id="m-1"))
    stranger = Identity("dave", x25519_private=bytes([9]) * 32, ed25519_seed=bytes([99]) * 32)
    key = key_of(rings["bob"], ROOM, 1)
    with pytest.raises(UnauthorizedError, match="dave"):
        rings["bob"].open(seal(key, b"x", message_id="m-2", sender=stranger))
    rings["bob"].add_identity(stranger.public)
    with pytest.raises(UnauthorizedError, match="dave"):  # the roster decides, not the directory
        rings["bob"].open(seal(key, b"x", message_id="m-3", sender=stranger))
    with pytest.raises(PolicyError, match="replace=True"):
        rings["bob"].add_identity(Identity("dave", x25519_private=bytes([8]) * 32, ed25519_seed=bytes([98]) * 32).public)
    with pytest.raises(UnknownKeyError, match="no key held for room 'room-9'"):
        rings["bob"].seal("room-9", b"x", message_id="m-4")
    with pytest.raises(UnknownKeyError, match="epoch 7"):
        rings["bob"].record(ROOM, 7)
    assert rings["bob"].latest_epoch("room-9") is None
    with pytest.raises(FormatError, match="bundle, slice, announcement, history bundle or member proof") as info:
        rings["bob"].accept(b"DVM\x01")
    assert info.value.field == "magic"
    # A slice-only epoch knows only the rotator and its holder, and a removed member's late message is
    # refused by name.
    rotation = room.rotate()
    rings["bob"].accept(rotation.bundle.slice_for("bob").to_bytes())
    rings["carol"].accept(rotation.bundle)
    with pytest.raises(UnknownSenderError, match="full bundle"):
        rings["bob"].open(rings["carol"].seal(ROOM, b"x", message_id="m-5"))
    rings["bob"].accept(rotation.bundle.to_bytes())
    rings["bob"].accept(room.remove(["carol"]).bundle.to_bytes())
    late = seal(key_of(rings["carol"], ROOM, 1), b"still here", message_id="m-6", sender=people["carol"])
    with pytest.raises(UnauthorizedError, match="no longer a member"):
        rings["bob"].open(late)


def test_unsigned_errors_name_the_rule() -> None:
    _, rings, room = _rings(allow_unsigned=True)
    old = rings["alice"].seal_unsigned(ROOM, b"x", message_id="m-1")
    rotation = room.rotate()
    rings["bob"].accept(rotation.bundle.to_bytes())
    with pytest.raises(StaleEpochError, match="current epoch"):
        rings["bob"].open(old)
    forged = seal_unsigned(key_of(rings["bob"], ROOM, 2), b"x", message_id="m-2", sender_id="mallory")
    with pytest.raises(UnauthorizedError, match="mallory"):
        rings["bob"].open(forged)


def test_bare_open_errors_say_which_mode() -> None:
    key, alice = _key(), _people()["alice"]
    unsigned = seal_unsigned(key, b"x", message_id="m-1", sender_id="alice")
    signed = seal(key, b"x", message_id="m-2", sender=alice)
    with pytest.raises(PolicyError, match="not signed"):
        open_signed(key, unsigned, sender=alice.public)
    with pytest.raises(PolicyError, match="is signed"):
        open_unsigned(key, signed)
    with pytest.raises(UnknownSenderError, match="sender"):
        open_signed(key, signed, sender=_people()["bob"].public)
    with pytest.raises(UnknownKeyError, match="epoch 3"):
        open_unsigned(RoomKey(bytes(32), room_id=ROOM, epoch=4), unsigned)
    with pytest.raises(FormatError, match="attachment"):
        seal(key, bytes(70_000), message_id="m-3", sender=alice)


def test_history_never_replaces_a_held_epoch() -> None:
    """A history entry for an epoch already held in full adds nothing, and the held record stays."""
    people, rings, room = _rings()
    record = rings["bob"].record(ROOM, 1)
    second = room.rotate()
    rings["bob"].accept(second.bundle.to_bytes())
    alice_record = rings["alice"].record(ROOM, 1)
    shared = build_history(people["alice"], people["bob"].public,
                           [SharedEpoch(alice_record.header_bytes, alice_record.key, tuple(alice_record.roster.values()))],
                           room_id=ROOM, anchor_epoch=2, kem=WrapKem.X25519, issued_at=9,
                           sharer_proof=second.bundle.proof_for("alice"))
    assert rings["bob"].accept(shared.to_bytes()).epochs == ()
    assert rings["bob"].record(ROOM, 1) is record and record.source == "bundle"


def test_guidance_messages_are_exact() -> None:
    """The messages that tell a user what to do next, word for word (the CLI prints them)."""
    key, alice, bob = _key(), _people()["alice"], _people()["bob"]
    unsigned = seal_unsigned(key, b"x", message_id="m-1", sender_id="alice")
    signed = seal(key, b"x", message_id="m-2", sender=alice)
    exhausted = _key()
    exhausted._restore_sealed_count("alice", MAX_MESSAGES_PER_SENDER)
    piece = _bundle().slice_for("bob")
    proof_at = sum(size for _, size in _header_layout(_bundle()))
    data = piece.to_bytes()
    too_long = data[:-1 - 32 * len(piece.path)] + bytes([merkle.MAX_PATH + 1])
    unsorted = dataclasses.replace(_bundle(), members=tuple(reversed(_bundle().members))).to_bytes()
    count_at = sum(size for _, size in _header_layout(_bundle())[:-3])
    _, rings, room = _rings()
    slice_only = room.rotate()
    rings["bob"].accept(slice_only.bundle.slice_for("bob"))
    from_carol = seal(key_of(rings["alice"], ROOM, 2), b"x", message_id="m-9", sender=_people()["carol"])
    cases: list[tuple[Callable[[], object], str]] = [
        (lambda: RoomKey(bytes(31), room_id=ROOM, epoch=1), "a room key is 32 bytes"),
        (lambda: exhausted.reserve_seal("alice"), "this epoch's key reached its message bound; rotate the room"),
        (lambda: open_signed(key, unsigned, sender=alice.public),
         "message is not signed; open_unsigned() is the explicit unsigned mode"),
        (lambda: open_signed(key, signed, sender=bob.public), "the identity given is not the message's sender"),
        (lambda: open_unsigned(key, signed), "message is signed: open it with the sender's public identity"),
        (lambda: KeyRing(alice).accept(b"DVM\x01"),
         "magic: not a version 3 bundle, slice, announcement, history bundle or member proof"),
        (lambda: rings["bob"].open(from_carol), "membership of 'carol' in epoch 2 not proved yet: "
                                                "fetch its member proof or the full bundle"),
        (lambda: Room(rings["bob"], ROOM),
         "epoch 2: its key and full member list are needed: accept the full bundle"),
        (lambda: rings["bob"].open(rings["alice"].seal_unsigned(ROOM, b"x", message_id="m-3")),
         "unsigned message refused: this key ring requires signatures"),
        (lambda: Slice.from_bytes(data[:proof_at] + b"\x02" + data[proof_at + 1:]),
         "authority: presence byte must be 0 or 1"),
        (lambda: Slice.from_bytes(too_long), "path: longer than any tree allows"),
        (lambda: Bundle.from_bytes(unsorted), "members: must be sorted by id with no duplicates"),
        (lambda: Bundle.from_bytes(unsorted[:count_at] + bytes(4) + unsorted[count_at + 4:]),
         f"member_count: must be from 1 to {MAX_MEMBERS}"),
        (lambda: build_bundle(alice, key, [bob.public] * 2, kem=WrapKem.X25519, issued_at=1, plan=_plan()),
         "duplicate member id"),
    ]
    for call, message in cases:
        with pytest.raises(Exception) as info:  # the exact message is what is checked
            call()
        assert str(info.value) == message


def test_a_trusted_admin_outside_the_anchor_epoch_cannot_share_history() -> None:
    """v2: only a member of the anchor epoch shares (spec/history.md, step 4); being trusted as an
    admin for joining gives zed, who is in no epoch, no authority over history."""
    people, rings, room = _rings()
    zed = Identity("zed", x25519_private=bytes([7]) * 32, ed25519_seed=bytes([77]) * 32)
    dave = Identity("dave", x25519_private=bytes([9]) * 32, ed25519_seed=bytes([99]) * 32)
    ring = KeyRing(dave)
    ring.trust_admin(ROOM, people["alice"].public)
    ring.trust_admin(ROOM, zed.public)
    second = room.add([dave.public])
    ring.accept(second.bundle.to_bytes())
    record = rings["alice"].record(ROOM, 1)
    entry = SharedEpoch(record.header_bytes, record.key, tuple(record.roster.values()))
    zeds_proof = MemberProof(RosterEntry.of(zed.public, bytes(32)), 0, ())
    shared = build_history(zed, dave.public, [entry], room_id=ROOM, anchor_epoch=2, kem=WrapKem.X25519, issued_at=9,
                           sharer_proof=zeds_proof)
    with pytest.raises(UnauthorizedError, match="zed"):
        ring.accept(shared.to_bytes())
    assert ring.epochs(ROOM) == [2]


def test_a_room_of_exactly_the_maximum_size_can_be_built(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bound is inclusive. Wrapping is replaced by a constant (100,000 real wraps take minutes);
    ids, leaves, the tree and the signature are real."""
    import types

    from domvia_e2ee.group import bundle as bundle_module

    monkeypatch.setattr(bundle_module, "wrap_many", lambda key, members, kem, progress: [bytes(80)] * len(members))

    def member(participant_id: str) -> types.SimpleNamespace:
        return types.SimpleNamespace(participant_id=participant_id, x25519=bytes(32), ed25519=bytes(32), xwing=None,
                                     fingerprint=bytes(32))

    members = [member(f"m{i:06d}") for i in range(MAX_MEMBERS)]
    built = build_bundle(_people()["alice"], _key(), members, kem=WrapKem.X25519, issued_at=1, plan=_plan())  # type: ignore[arg-type]
    assert built.header.member_count == MAX_MEMBERS
    with pytest.raises(ValueError, match="1 to"):
        build_bundle(_people()["alice"], _key(), [*members, member("z")], kem=WrapKem.X25519, issued_at=1,  # type: ignore[list-item]
                     plan=_plan())



def test_a_bundle_object_must_list_as_many_members_as_its_header_says() -> None:
    """Bundles handed over as objects obey the parse rules: a member dropped after signing is refused."""
    _, rings, room = _rings()
    rotation = room.rotate()
    short = dataclasses.replace(rotation.bundle, members=rotation.bundle.members[:-1])
    with pytest.raises(FormatError) as info:
        rings["bob"].accept(short)
    assert str(info.value) == "member_count: does not match the members listed"
