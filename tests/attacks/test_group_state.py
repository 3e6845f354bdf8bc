"""Attacks on the group state of format v1, and why each fails against format v2 (spec/bundle.md,
spec/history.md, spec/keyring.md).

Each test names the attack, the actor who runs it (powers from spec/threat-model.md) and why it
fails now. "on v1" is what a script running the same attack printed against the v1 library
(commit d8e0e17), in a throwaway worktree: every one of these attacks succeeded there.

Every refusal is also checked to leave the victim's key ring exactly as it was (its whole
plaintext export, minus the "forks" field where E_FORK is expected and evidence is kept).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from domvia_e2ee import (
    Announcement, Bundle, DomviaError, ForkError, HistoryBundle, Identity, KeyRing, MemberProofFile, PublicIdentity,
    Room, RoomKey, RoomPolicy, Rotation, SealedMessage, Slice, Suite, WrapKem, keyring_from_plaintext, keyring_to_plaintext,
)
from domvia_e2ee import labels
from domvia_e2ee.encoding import b64encode
from domvia_e2ee.group.bundle import Plan, assemble, build_bundle
from domvia_e2ee.group.header import MAX_ISSUED_AT, NO_PREVIOUS, EpochHeader, Flag
from domvia_e2ee.group.history import SharedEpoch, assemble_history, build_history
from domvia_e2ee.group.members import MemberProof
from domvia_e2ee.hazmat import curves
from domvia_e2ee.wrap import wrap_many

ROOM = "room-1"
NAMES = ("alice", "bob", "carol", "dave", "mallory", "server")


# -- helpers ----------------------------------------------------------------------------------

def _seed(*parts: object) -> bytes:
    return hashlib.sha256(repr(("group-state-attacks", *parts)).encode()).digest()


def person(name: str, *, post_quantum: bool = False, variant: str = "") -> Identity:
    return Identity(name, x25519_private=_seed(name, variant, "x"), ed25519_seed=_seed(name, variant, "ed"),
                    xwing_seed=_seed(name, variant, "pq") if post_quantum else None)


def code(func: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
    """The code of the DomviaError func raises; fails the test if it succeeds."""
    try:
        func(*args, **kwargs)
    except DomviaError as error:
        return error.code
    raise AssertionError(f"{getattr(func, '__name__', func)} accepted an attack input")


def snapshot(ring: KeyRing, *, forks: bool = True) -> dict[str, Any]:
    state = keyring_to_plaintext(ring)
    if not forks:
        state.pop("forks")
    return state


def refused(ring: KeyRing, data: Any, expected: str, *, fork: bool = False) -> None:
    """ring.accept(data) fails with expected and changes nothing (fork evidence aside)."""
    before = snapshot(ring, forks=not fork)
    assert code(ring.accept, data) == expected
    assert snapshot(ring, forks=not fork) == before


def refused_open(ring: KeyRing, message: Any, expected: str, **kwargs: Any) -> None:
    before = snapshot(ring, forks=expected != "E_FORK")
    assert code(ring.open, message, **kwargs) == expected
    assert snapshot(ring, forks=expected != "E_FORK") == before


class World:
    """alice (admin) creates ROOM with members; every member accepts the full bundle of epoch 1.
    Every ring pins every honest identity and trusts alice to let it join ROOM."""

    def __init__(self, members: Iterable[str] = ("bob", "carol"), *, post_quantum: bool = False,
                 admins: Iterable[str] = (), policy: RoomPolicy | None = None, suite: Suite = Suite.AES_256_GCM,
                 **ring_options: Any) -> None:
        self.people = {n: person(n, post_quantum=post_quantum) for n in NAMES}
        # ring_options (replay capacity, live epochs) apply to the receivers, not to alice, the sealer
        self.rings = {n: KeyRing(p, **({} if n == "alice" else ring_options)) for n, p in self.people.items()}
        for ring in self.rings.values():
            for name in ("alice", "bob", "carol", "dave"):
                if self.people[name] is not ring.owner:
                    ring.add_identity(self.people[name].public)
            if ring.owner is not self.people["alice"]:
                ring.trust_admin(ROOM, self.people["alice"].public)
        kem = WrapKem.MLKEM768_X25519 if post_quantum else WrapKem.X25519
        self.members = tuple(members)
        self.room, rotation = Room.create(self.rings["alice"], ROOM, [self.people[m].public for m in self.members],
                                          policy=policy, kem=kem, suite=suite, admins=admins)
        self.bundles: dict[int, Bundle] = {1: rotation.bundle}
        self.deliver(rotation.bundle, *self.members)

    def pub(self, *names: str) -> list[PublicIdentity]:
        return [self.people[n].public for n in names]

    def deliver(self, bundle: Bundle, *names: str) -> None:
        for name in names:
            self.rings[name].accept(bundle.to_bytes())

    def apply(self, rotation: Rotation, *names: str) -> Bundle:
        self.bundles[rotation.epoch] = rotation.bundle
        self.deliver(rotation.bundle, *names)
        return rotation.bundle


def forge(ring: KeyRing, members: Iterable[PublicIdentity], *, epoch: int | None = None, room_id: str = ROOM,
          kem: WrapKem | None = None, suite: Suite | None = None, policy: RoomPolicy | None = None,
          admins: tuple[tuple[str, bytes], ...] | None = None, downgrade: bool = False,
          previous: bytes | None = None, authority: MemberProof | None = None,
          issued_at: int = 0) -> Bundle:
    """A bundle signed by ring's owner on top of what ring holds (its latest epoch, unless told
    otherwise): what a member, removed member or admin can build from its own state."""
    latest = ring.latest_epoch(room_id) if ring.rooms() and room_id in ring.rooms() else None
    base = ring.header(room_id) if latest is not None else None
    epoch = (latest or 0) + 1 if epoch is None else epoch
    if previous is None:
        previous = NO_PREVIOUS if epoch == 1 or base is None else base.epoch_hash()
    suite = suite if suite is not None else (base.suite if base else Suite.AES_256_GCM)
    kem = kem if kem is not None else (base.kem if base else WrapKem.X25519)
    plan = Plan(previous, policy or (base.policy if base else RoomPolicy()),
                admins if admins is not None else (base.admins if base else ((ring.owner.participant_id,
                                                                                ring.owner.public.fingerprint),)),
                downgrade, authority)
    key = RoomKey.generate(room_id=room_id, epoch=epoch, suite=suite)
    return build_bundle(ring.owner, key, list(members), kem=kem, issued_at=issued_at, plan=plan)


def _form(bundle: Bundle, form: str, member: str) -> Bundle | Slice | Announcement:
    """One of the three deliveries of a signed header: the bundle, member's slice, or the announcement."""
    if form == "slice":
        return bundle.slice_for(member)
    return bundle.announcement() if form == "announcement" else bundle


def own_proof(ring: KeyRing, epoch: int) -> MemberProof:
    """The owner's member proof of a held epoch with a full roster (its authority proof)."""
    from domvia_e2ee.hazmat import merkle

    record = ring.record(ROOM, epoch)
    entries = sorted(record.roster.values(), key=lambda e: e.participant_id.encode())
    index = [e.participant_id for e in entries].index(ring.owner.participant_id)
    return MemberProof(entries[index], index, tuple(merkle.Tree([e.leaf() for e in entries]).path(index)))


def check_announcement(data: bytes) -> Announcement:
    """Verifies an announcement with nothing but its own bytes, as any member checking evidence would."""
    announcement = Announcement.from_bytes(data)
    header, rotator = announcement.header, announcement.rotator
    assert rotator.entry.participant_id == header.rotator_id
    curves.check_ed25519_public(rotator.entry.ed25519, "rotator")
    curves.verify(rotator.entry.ed25519, announcement.signed.signature, header.signed_bytes())
    assert rotator.verifies(header.member_count, header.root)
    return announcement


# -- 1. a member about to be removed makes itself unremovable ------------------------------------

class TestUnremovableMember:
    """Attack 1: a member about to be removed signs epoch E itself, from its membership of E - 1,
    still listing itself; members who get that first accept it and the admin's removal is then
    E_STALE. In the same default mode any member could add anyone, the server included.

    Actor: a malicious member (carol, then bob), with the server choosing delivery order.
    on v1: "carol's self-signed epoch 2 at bob: accepted; alice's removal at bob: E_STALE; bob's bundle
    adding the server at carol: accepted".
    Why it fails now: rooms are admin-governed by default (no MEMBERS_MAY_ROTATE in the signed header):
    only an admin of E - 1, read from E - 1's signed admin set, signs E. A non-admin's header is
    E_UNAUTHORIZED whether it arrives first (extend) or after the admin's (a different header for a
    held epoch is a fork only if authorised), so the admin's removal is accepted in either order.
    """

    @pytest.mark.parametrize("order", ["attacker first", "admin first"])
    @pytest.mark.parametrize("form", ["bundle", "slice", "announcement"])
    def test_a_non_admin_cannot_keep_itself_in_the_room(self, order: str, form: str) -> None:
        w = World()
        carol = w.rings["carol"]
        forged = forge(carol, w.pub("alice", "bob", "carol"), authority=own_proof(carol, 1))
        delivery = _form(forged, form, "bob").to_bytes()
        removal = w.room.remove(["carol"]).bundle
        bob = w.rings["bob"]
        if order == "admin first":
            bob.accept(removal.to_bytes())
        refused(bob, delivery, "E_UNAUTHORIZED")
        if order == "attacker first":
            assert bob.accept(removal.to_bytes()).epochs == (2,)
        assert bob.forks(ROOM) == []
        assert set(bob.record(ROOM, 2).roster) == {"alice", "bob"}
        # and carol, removed in bob's chain, no longer gets a live message through
        refused_open(bob, carol.seal(ROOM, b"still a member?"), "E_UNAUTHORIZED")

    def test_a_member_cannot_add_anyone_nor_can_the_server(self) -> None:
        w = World()
        bob, carol, server = w.rings["bob"], w.rings["carol"], w.rings["server"]
        added = forge(bob, w.pub("alice", "bob", "carol", "server"), authority=own_proof(bob, 1))
        refused(carol, added.to_bytes(), "E_UNAUTHORIZED")
        refused(carol, added.slice_for("carol").to_bytes(), "E_UNAUTHORIZED")
        # the server signing with an identity of its own, listing itself: not an admin either
        by_server = forge(server, w.pub("alice", "bob", "carol", "server"), epoch=2,
                          previous=carol.header(ROOM).epoch_hash(), admins=carol.header(ROOM).admins)
        refused(carol, by_server.to_bytes(), "E_UNAUTHORIZED")
        # ... nor by making itself an admin in the header it signs
        self_admin = forge(server, w.pub("alice", "bob", "carol", "server"), epoch=2,
                           previous=carol.header(ROOM).epoch_hash(),
                           admins=(("server", w.people["server"].public.fingerprint),))
        refused(carol, self_admin.to_bytes(), "E_UNAUTHORIZED")

    def test_the_documented_race_of_member_rotated_rooms_is_now_signalled(self) -> None:
        """In a room that opted into MEMBERS_MAY_ROTATE the race stays (spec/threat-model.md), but it
        is no longer silent: the admin's removal, arriving second, is E_FORK with evidence."""
        w = World(policy=RoomPolicy(members_may_rotate=True))
        carol, bob = w.rings["carol"], w.rings["bob"]
        forged = forge(carol, w.pub("alice", "bob", "carol"), authority=own_proof(carol, 1))
        bob.accept(forged.to_bytes())
        removal = w.room.remove(["carol"]).bundle
        refused(bob, removal.to_bytes(), "E_FORK", fork=True)
        assert [e.kind for e in bob.forks(ROOM)] == ["header"]
        # and even there a member cannot change governance: make itself admin
        w2 = World(policy=RoomPolicy(members_may_rotate=True))
        c2 = w2.rings["carol"]
        grab = forge(c2, w2.pub("alice", "bob", "carol"), authority=own_proof(c2, 1),
                     admins=(("carol", w2.people["carol"].public.fingerprint),))
        refused(w2.rings["bob"], grab.to_bytes(), "E_UNAUTHORIZED")

    def test_the_admin_continues_from_its_newest_epoch_whoever_rotated(self) -> None:
        w = World(admins=("bob",))
        alice, bob = w.rings["alice"], w.rings["bob"]
        bobs_room = Room(bob, ROOM)
        by_bob = w.apply(bobs_room.rotate(), "alice", "carol")
        assert alice.latest_epoch(ROOM) == 2 and by_bob.header.rotator_id == "bob"
        # alice's Room object still said epoch 1; its next change builds on bob's epoch 2
        removal = w.room.remove(["carol"])
        assert removal.epoch == 3 and w.room.epoch == 3
        assert removal.bundle.header.previous == by_bob.header.epoch_hash()
        assert bob.accept(removal.bundle.to_bytes()).epochs == (3,)
        assert Room(alice, ROOM).members.keys() == {"alice", "bob"}

    def test_the_admins_room_follows_a_rejoin_on_the_other_branch(self) -> None:
        w = World(admins=("bob",))
        alice, bob = w.rings["alice"], w.rings["bob"]
        w.room.remove(["carol"])                        # alice's branch: epoch 2 without carol
        theirs = Room(bob, ROOM).rotate().bundle         # bob's branch: epoch 2 with carol
        assert code(alice.accept, theirs.to_bytes()) == "E_FORK"
        alice.forget_room(ROOM)                          # the documented way back: rejoin the other branch
        alice.trust_admin(ROOM, w.people["bob"].public)
        alice.accept(theirs.to_bytes())
        assert Room(alice, ROOM).members.keys() == {"alice", "bob", "carol"}
        rotation = w.room.rotate()                       # "same members": carol must stay
        assert rotation.bundle.header.previous == theirs.header.epoch_hash()
        assert [m.participant_id for m in rotation.bundle.members] == ["alice", "bob", "carol"]


# -- 2. a removed member injects for slice holders ---------------------------------------------

class TestRemovedMemberInjection:
    """Attack 2: a removed member keeps sealing in the epoch it still holds; holders of the new epoch
    who received only a slice (no roster) accepted it as live, because the superseded-epoch check
    was skipped without a roster.

    Actor: a removed member (carol), helped by a malicious server that serves whatever member proofs
    it likes. on v1: "carol (removed) injects an epoch-1 message at bob holding epoch 2 as a slice: accepted".
    Why it fails now: a live message in a superseded epoch needs its sender in the latest epoch's
    roster with the same fingerprint (spec/keyring.md, Opening step 5): E_UNAUTHORIZED with a full
    roster, E_UNKNOWN_SENDER with a partial one; the only way to add a member to a partial roster is
    a member proof verifying against the epoch's signed root, which a removed member has none of.
    """

    @pytest.mark.parametrize("first", ["bundle", "slice"])
    @pytest.mark.parametrize("latest", ["bundle", "slice"])
    def test_no_holder_accepts_the_removed_members_messages(self, first: str, latest: str) -> None:
        w = World(members=("bob", "carol", "dave"))
        bob = KeyRing(w.people["bob"])
        bob.trust_admin(ROOM, w.people["alice"].public)
        one = w.bundles[1]
        bob.accept((one if first == "bundle" else one.slice_for("bob")).to_bytes())
        early = w.rings["dave"].seal(ROOM, b"before the removal")
        removal = w.room.remove(["carol"]).bundle
        bob.accept((removal if latest == "bundle" else removal.slice_for("bob")).to_bytes())
        injected = w.rings["carol"].seal(ROOM, b"still here")
        expected = "E_UNAUTHORIZED" if (first, latest) == ("bundle", "bundle") else "E_UNKNOWN_SENDER"
        refused_open(bob, injected, expected)
        # whatever proofs the server serves
        proofs = [MemberProofFile(ROOM, 1, one.proof_for("carol")),          # genuine, epoch 1
                  MemberProofFile(ROOM, 2, one.proof_for("carol")),          # epoch 1's proof as epoch 2's
                  MemberProofFile(ROOM, 2, dataclasses.replace(removal.proof_for("dave"),
                                                               entry=one.proof_for("carol").entry))]
        for proof in proofs:
            try:
                bob.accept(proof.to_bytes())
            except DomviaError as error:
                assert error.code == "E_AUTH"
            refused_open(bob, injected, "E_UNAUTHORIZED" if latest == "bundle" else "E_UNKNOWN_SENDER")
        # an honest member's late message of epoch 1 still opens once its membership of epoch 2 is known
        if latest == "slice":
            bob.accept(MemberProofFile(ROOM, 1, one.proof_for("dave")).to_bytes())
            assert code(bob.open, early) == "E_UNKNOWN_SENDER"
            bob.accept(MemberProofFile(ROOM, 2, removal.proof_for("dave")).to_bytes())
        elif first == "slice":
            bob.accept(MemberProofFile(ROOM, 1, one.proof_for("dave")).to_bytes())
        assert bob.open(early).plaintext == b"before the removal"

    def test_the_removed_member_cannot_join_the_new_epoch(self) -> None:
        w = World()
        removal = w.room.remove(["carol"]).bundle
        carol = w.rings["carol"]
        refused(carol, removal.slice_for("bob").to_bytes(), "E_NOT_RECIPIENT")
        carol.accept(removal.announcement().to_bytes())    # it keeps the chain, as a link
        assert carol.record(ROOM, 2).key is None
        after = w.rings["alice"].seal(ROOM, b"carol is gone")
        refused_open(carol, after, "E_NOT_MEMBER")


# -- 3. post-quantum and suite downgrade ---------------------------------------------------------

class TestDowngrade:
    """Attack 3: any member rotates an X-Wing room to classic X25519 wrapping (so recorded traffic is
    open to a future quantum computer), or an XChaCha20-Poly1305 room to AES-256-GCM.

    Actor: a malicious member (bob); then an admin whose bundle the server could try to pass as a
    silent downgrade. on v1: "bob rotates X-Wing->classic at carol: accepted; bob rotates XC20P->A256GCM
    at carol: accepted".
    Why it fails now: the KEM and suite are signed governance; only an admin of E - 1 changes them
    (E_UNAUTHORIZED), and even an admin's X-Wing to classic header must carry the DOWNGRADE flag,
    which must mean exactly that (E_DOWNGRADE); members see the flag in the header they accept.
    """

    def test_a_member_cannot_lower_the_kem(self) -> None:
        w = World(post_quantum=True)
        bob, carol = w.rings["bob"], w.rings["carol"]
        for downgrade in (False, True):
            forged = forge(bob, w.pub("alice", "bob", "carol"), kem=WrapKem.X25519, downgrade=downgrade,
                           authority=own_proof(bob, 1))
            refused(carol, forged.to_bytes(), "E_UNAUTHORIZED")
            refused(carol, forged.slice_for("carol").to_bytes(), "E_UNAUTHORIZED")

    def test_a_member_cannot_change_the_suite(self) -> None:
        w = World(suite=Suite.XCHACHA20_POLY1305)
        forged = forge(w.rings["bob"], w.pub("alice", "bob", "carol"), suite=Suite.AES_256_GCM,
                       authority=own_proof(w.rings["bob"], 1))
        refused(w.rings["carol"], forged.to_bytes(), "E_UNAUTHORIZED")

    def test_even_in_a_member_rotated_room_a_member_cannot_downgrade(self) -> None:
        w = World(post_quantum=True, policy=RoomPolicy(members_may_rotate=True))
        bob = w.rings["bob"]
        lowered = forge(bob, w.pub("alice", "bob", "carol"), kem=WrapKem.X25519, downgrade=True,
                        authority=own_proof(bob, 1))
        refused(w.rings["carol"], lowered.to_bytes(), "E_UNAUTHORIZED")
        flagged = forge(bob, w.pub("alice", "bob", "carol"), downgrade=True, authority=own_proof(bob, 1))
        refused(w.rings["carol"], flagged.to_bytes(), "E_DOWNGRADE")

    def test_an_admins_silent_downgrade_is_refused(self) -> None:
        w = World(post_quantum=True)
        alice, carol = w.rings["alice"], w.rings["carol"]
        header = alice.header(ROOM)
        key = RoomKey.generate(room_id=ROOM, epoch=2, suite=header.suite)
        members = sorted(w.pub("alice", "bob", "carol"), key=lambda m: m.participant_id.encode())
        silent = assemble(w.people["alice"], key, members, wrap_many(key, members, WrapKem.X25519), kem=WrapKem.X25519,
                          issued_at=0, plan=Plan(header.epoch_hash(), header.policy, header.admins, False, None))
        refused(carol, silent.to_bytes(), "E_DOWNGRADE")
        refused(carol, silent.slice_for("carol").to_bytes(), "E_DOWNGRADE")
        refused(carol, silent.announcement().to_bytes(), "E_DOWNGRADE")
        # the flag without lowering the KEM is refused too: it must mean exactly a downgrade
        wrapped = wrap_many(key, members, WrapKem.MLKEM768_X25519)
        flagged = assemble(w.people["alice"], key, members, wrapped, kem=WrapKem.MLKEM768_X25519, issued_at=0,
                           plan=Plan(header.epoch_hash(), header.policy, header.admins, True, None))
        refused(carol, flagged.to_bytes(), "E_DOWNGRADE")

    def test_an_explicit_downgrade_is_accepted_and_visible(self) -> None:
        w = World(post_quantum=True)
        assert code(w.room.change_policy, kem=WrapKem.X25519) == "E_POLICY"
        assert w.rings["alice"].latest_epoch(ROOM) == 1
        rotation = w.room.change_policy(kem=WrapKem.X25519, allow_downgrade=True)
        w.apply(rotation, "bob", "carol")
        for name in ("alice", "bob", "carol"):
            header = w.rings[name].header(ROOM)
            assert header.kem is WrapKem.X25519 and header.flags & Flag.DOWNGRADE
        message = w.rings["bob"].seal(ROOM, b"classic now")
        assert w.rings["carol"].open(message).plaintext == b"classic now"


# -- 4. invented history -------------------------------------------------------------------------

class TestInventedHistory:
    """Attack 4: a member of the anchor epoch gives a joiner made-up past epochs with made-up
    rosters (an outsider listed), so the joiner reads forged "history" as the room's.

    Actor: a malicious member (bob) sharing history with the joiner dave; mallory is the outsider.
    on v1: "bob's invented epoch 1 (roster ['bob', 'mallory']) at joiner dave: accepted; mallory's message
    in it: accepted".
    Why it fails now: every history entry carries its epoch's original signed header, the headers
    must hash-link to the anchor epoch the joiner holds (E_AUTH), each shared roster must hash to its
    header's root (E_AUTH) and each key must match its header's key id (E_AUTH); malformed entry
    sequences are E_FORMAT and a sharer not proved a member of the anchor epoch is E_UNAUTHORIZED.
    """

    @staticmethod
    def _world() -> tuple[World, Bundle]:
        w = World()
        add = w.room.add(w.pub("dave"))
        w.apply(add, "bob", "carol", "dave")
        return w, add.bundle

    @staticmethod
    def _share(w: World, anchor: Bundle, sharer: str, shared: list[SharedEpoch], *,
               proof: MemberProof | None = None, key_wrapped: list[bytes] | None = None) -> HistoryBundle:
        who = w.people[sharer]
        proof = proof or anchor.proof_for(sharer)
        if key_wrapped is None:
            return build_history(who, w.people["dave"].public, shared, room_id=ROOM, anchor_epoch=2,
                                 kem=WrapKem.X25519, issued_at=0, sharer_proof=proof)
        return assemble_history(who, w.people["dave"].public, shared, key_wrapped, room_id=ROOM, anchor_epoch=2,
                                kem=WrapKem.X25519, issued_at=0, sharer_proof=proof)

    def test_invented_epochs_rosters_and_keys_are_refused(self) -> None:
        w, anchor = self._world()
        bob, dave = w.rings["bob"], w.rings["dave"]
        genuine = bob.record(ROOM, 1)
        roster = tuple(genuine.roster.values())
        # (a) a made-up epoch 1 with a made-up roster listing mallory, signed by bob
        invented = forge(KeyRing(w.people["bob"]), w.pub("bob", "mallory"), epoch=1,
                         admins=(("bob", w.people["bob"].public.fingerprint),))
        fake_key = RoomKey.generate(room_id=ROOM, epoch=1, suite=Suite.AES_256_GCM)
        made_up = SharedEpoch(invented.header.to_bytes(), fake_key,
                              tuple(m.entry for m in invented.members))
        refused(dave, self._share(w, anchor, "bob", [made_up]).to_bytes(), "E_AUTH")
        # (b) the genuine header with mallory added to its roster
        mallory = invented.proof_for("mallory").entry
        in_place = tuple(mallory if e.participant_id == "carol" else e for e in roster)
        refused(dave, self._share(w, anchor, "bob", [SharedEpoch(genuine.header_bytes, genuine.key,
                                                                 in_place)]).to_bytes(), "E_AUTH")
        refused(dave, self._share(w, anchor, "bob", [SharedEpoch(genuine.header_bytes, genuine.key,
                                                                 (*roster, mallory))]).to_bytes(), "E_FORMAT")
        # (c) the genuine header and roster with another key
        refused(dave, self._share(w, anchor, "bob", [SharedEpoch(genuine.header_bytes, fake_key, roster)]).to_bytes(),
                "E_AUTH")
        # (d) the genuine header with a swapped identity for carol in the roster
        swapped = [dataclasses.replace(e, ed25519=w.people["mallory"].public.ed25519,
                                       fingerprint=_fingerprint(e.participant_id, e.x25519,
                                                                w.people["mallory"].public.ed25519))
                   if e.participant_id == "carol" else e for e in roster]
        refused(dave, self._share(w, anchor, "bob", [SharedEpoch(genuine.header_bytes, genuine.key,
                                                                 tuple(swapped))]).to_bytes(), "E_AUTH")

    def test_malformed_entry_sequences_are_format_errors(self) -> None:
        w, anchor = self._world()
        dave, bob = w.rings["dave"], w.rings["bob"]
        genuine = bob.record(ROOM, 1)
        history = self._share(w, anchor, "bob", [SharedEpoch(genuine.header_bytes, genuine.key,
                                                             tuple(genuine.roster.values()))])
        # the entries must end just before the anchor epoch; here they claim anchor 3
        refused(dave, dataclasses.replace(history, anchor_epoch=3).to_bytes(), "E_FORMAT")
        # an entry whose header is another room's
        other = forge(KeyRing(w.people["bob"]), w.pub("bob"), epoch=1, room_id="room-2",
                      admins=(("bob", w.people["bob"].public.fingerprint),))
        refused(dave, dataclasses.replace(history, entries=(dataclasses.replace(
            history.entries[0], header_bytes=other.header.to_bytes(), header=other.header),)).to_bytes(), "E_FORMAT")
        # a roster that is not the header's member count
        refused(dave, dataclasses.replace(history, entries=(dataclasses.replace(
            history.entries[0], roster=history.entries[0].roster[:-1]),)).to_bytes(), "E_FORMAT")

    def test_a_sharer_must_be_a_member_of_the_anchor_epoch(self) -> None:
        w, anchor = self._world()
        dave, bob = w.rings["dave"], w.rings["bob"]
        genuine = bob.record(ROOM, 1)
        shared = [SharedEpoch(genuine.header_bytes, genuine.key, tuple(genuine.roster.values()))]
        # mallory holds epoch 1's key (say it leaked) but is no member of epoch 2: its proof cannot verify
        leaked = dataclasses.replace(anchor.proof_for("bob"), entry=dataclasses.replace(
            anchor.proof_for("bob").entry, participant_id="mallory",
            x25519=w.people["mallory"].public.x25519, ed25519=w.people["mallory"].public.ed25519,
            fingerprint=w.people["mallory"].public.fingerprint))
        refused(dave, self._share(w, anchor, "mallory", shared, proof=leaked).to_bytes(), "E_UNAUTHORIZED")
        # a member's genuine proof of another epoch does not verify against the anchor
        refused(dave, self._share(w, anchor, "carol", shared, proof=w.bundles[1].proof_for("carol")).to_bytes(),
                "E_UNAUTHORIZED")

    def test_the_genuine_history_is_still_accepted_afterwards(self) -> None:
        w, anchor = self._world()
        dave, bob = w.rings["dave"], w.rings["bob"]
        old = w.rings["carol"].seal(ROOM, b"from epoch 1")
        refused(dave, self._share(w, anchor, "bob", [SharedEpoch(bob.record(ROOM, 1).header_bytes,
                                                                 RoomKey.generate(room_id=ROOM, epoch=1),
                                                                 tuple(bob.record(ROOM, 1).roster.values()))]
                                  ).to_bytes(), "E_AUTH")
        genuine = bob.record(ROOM, 1)
        history = self._share(w, anchor, "bob", [SharedEpoch(genuine.header_bytes, genuine.key,
                                                             tuple(genuine.roster.values()))])
        assert dave.accept(history.to_bytes()).epochs == (1,)
        assert dave.open(old, check_replay=False).plaintext == b"from epoch 1"
        assert dave.record(ROOM, 1).header_bytes == genuine.header_bytes
        assert dave.accept(history.to_bytes()).epochs == ()   # the same history again commits nothing


def _fingerprint(participant_id: str, x25519: bytes, ed25519: bytes) -> bytes:
    from domvia_e2ee.identity import fingerprint_of

    return fingerprint_of(participant_id, x25519, ed25519, None)


# -- 5. forks without a signal -------------------------------------------------------------------

class TestForks:
    """Attack 5: two validly signed bundles for one epoch (two admins rotating at once, or one
    admin equivocating) split the room silently: each member keeps the first it got and drops the
    other as stale, with nothing to show the split.

    Actor: an equivocating admin, or two admins, with the server choosing who sees which.
    on v1: "two admins sign epoch 2: first at carol accepted, second at carol E_STALE (no fork signal;
    carol has no fork API: False)".
    Why it fails now: a second authorised header for a held epoch, an authorised header that does not
    build on the held chain, and a member's signed message naming a held epoch with another key id
    are E_FORK, carrying both signed items; the key ring keeps the evidence (ring.forks) and its chain.
    """

    @staticmethod
    def _two_branches(equivocate: bool) -> tuple[World, Bundle, Bundle]:
        w = World(admins=() if equivocate else ("bob",))
        # a copy of alice's key ring at epoch 1: what an equivocating admin signs its second epoch 2 from
        alice_at_1 = keyring_from_plaintext(keyring_to_plaintext(w.rings["alice"]), w.people["alice"])
        first = w.room.rotate().bundle
        if equivocate:
            second = forge(alice_at_1, w.pub("alice", "bob", "carol"))
        else:
            second = Room(w.rings["bob"], ROOM).rotate().bundle
        return w, first, second

    @pytest.mark.parametrize("equivocate", [True, False], ids=["one admin equivocates", "two admins"])
    @pytest.mark.parametrize("form", ["bundle", "slice", "announcement"])
    def test_two_headers_for_one_epoch_are_a_fork_with_evidence(self, equivocate: bool, form: str) -> None:
        w, first, second = self._two_branches(equivocate)
        carol = w.rings["carol"]
        carol.accept(first.to_bytes())
        chain = snapshot(carol, forks=False)
        other = _form(second, form, "carol")
        try:
            carol.accept(other.to_bytes())
        except ForkError as fork:
            evidence = fork.evidence
        else:
            raise AssertionError("a second header for a held epoch was accepted")
        assert snapshot(carol, forks=False) == chain
        assert carol.forks(ROOM) == [evidence]
        assert (evidence.room_id, evidence.epoch, evidence.kind) == (ROOM, 2, "header")
        held, theirs = check_announcement(evidence.held), check_announcement(evidence.other)
        assert held.header == first.header and theirs.header == second.header
        assert held.header.to_bytes() != theirs.header.to_bytes()
        assert held.header.previous == theirs.header.previous == w.bundles[1].header.epoch_hash()
        for announcement in (held, theirs):
            assert announcement.header.is_admin(announcement.rotator.entry.participant_id,
                                                announcement.rotator.entry.fingerprint)
        assert {held.header.rotator_id, theirs.header.rotator_id} == ({"alice"} if equivocate else {"alice", "bob"})
        # the evidence survives the key ring's export and reload
        reloaded = keyring_from_plaintext(keyring_to_plaintext(carol), w.people["carol"])
        assert reloaded.forks(ROOM) == [evidence]
        # the same fork again keeps one copy
        assert code(carol.accept, other.to_bytes()) == "E_FORK"
        assert carol.forks(ROOM) == [evidence]

    def test_a_header_not_building_on_the_held_chain_is_a_fork(self) -> None:
        w, first, _ = self._two_branches(equivocate=False)
        carol, bob = w.rings["carol"], w.rings["bob"]
        carol.accept(first.to_bytes())
        assert bob.latest_epoch(ROOM) == 2       # bob's own epoch 2
        third = Room(bob, ROOM).rotate().bundle     # epoch 3 on bob's branch
        refused(carol, third.to_bytes(), "E_FORK", fork=True)
        evidence = carol.forks(ROOM)[-1]
        assert (evidence.epoch, evidence.kind) == (3, "chain")
        held, theirs = check_announcement(evidence.held), check_announcement(evidence.other)
        assert held.header.epoch == 2 and theirs.header.epoch == 3
        assert theirs.header.previous != held.header.epoch_hash()

    def test_a_members_message_under_another_key_for_a_held_epoch_is_a_fork(self) -> None:
        w, first, _ = self._two_branches(equivocate=False)
        carol, bob = w.rings["carol"], w.rings["bob"]
        carol.accept(first.to_bytes())
        message = bob.seal(ROOM, b"on my branch")        # bob holds his own epoch 2
        refused_open(carol, message, "E_FORK")
        evidence = carol.forks(ROOM)[-1]
        assert (evidence.epoch, evidence.kind) == (2, "message")
        held = check_announcement(evidence.held)
        sealed = SealedMessage.parse(evidence.other)
        assert sealed.epoch == 2 and sealed.key_id != held.header.key_id and sealed.sender_id == "bob"
        from domvia_e2ee.encoding import Reader
        from domvia_e2ee.group.members import RosterEntry

        sender = RosterEntry.read(Reader(evidence.sender), "sender", None)
        assert sender.participant_id == "bob" and sender.fingerprint == w.people["bob"].public.fingerprint
        assert sealed.signature is not None
        curves.verify(sender.ed25519, sealed.signature, labels.SIG_MESSAGE + sealed.signed_part)

    def test_a_member_cannot_crowd_out_the_evidence_of_an_admins_fork(self) -> None:
        from domvia_e2ee import seal

        w = World(admins=("bob",), members=("bob", "carol", "mallory"))   # mallory: a member, never an admin
        carol = w.rings["carol"]
        for i in range(16):
            noise = seal(RoomKey.generate(room_id=ROOM, epoch=1), b"noise", message_id=f"m-{i}",
                         sender=w.people["mallory"])
            assert code(carol.open, noise) == "E_FORK"
        carol.accept(w.room.rotate().bundle.to_bytes())
        rival = Room(w.rings["bob"], ROOM).rotate().bundle
        with pytest.raises(ForkError) as caught:
            carol.accept(rival.to_bytes())
        assert caught.value.evidence in carol.forks(ROOM)

    def test_a_message_under_another_key_from_a_non_member_is_not_a_fork(self) -> None:
        w = World()
        w.apply(w.room.rotate(), "bob", "carol")
        other = RoomKey.generate(room_id=ROOM, epoch=2)
        from domvia_e2ee import seal

        forged = seal(other, b"noise", message_id="m-1", sender=w.people["mallory"])
        refused_open(w.rings["carol"], forged, "E_AUTH")
        assert w.rings["carol"].forks(ROOM) == []


# -- 6. one replay window for all rooms --------------------------------------------------------

class TestReplayWindow:
    """Attack 6: the replay window was one FIFO of (room, epoch, sender, id) for the whole key ring;
    100,000 authentic messages in another room pushed a room's entries out and an old message of it
    opened again as new.

    Actor: the relay (replays a message it saw), after a member or the server floods another room.
    on v1: "(capacity 50, 50 messages in room-b) replay of room-a's opened message: accepted".
    Why it fails now: replay state is per (room, epoch) and nothing is evicted: a full epoch is closed
    (live messages in it are E_STALE), and the state of epochs older than live_epochs is dropped whole
    (live messages there are E_STALE), so no authentic message opens twice as new.
    """

    CAPACITY = 50

    def _rooms(self, **options: Any) -> tuple[World, KeyRing]:
        """ROOM and room-b, both created by alice with bob; bob's key ring has the given options."""
        w = World(members=("bob",), **options)
        _, second = Room.create(w.rings["alice"], "room-b", w.pub("bob"))
        bob = w.rings["bob"]
        bob.trust_admin("room-b", w.people["alice"].public)
        bob.accept(second.bundle.to_bytes())
        return w, bob

    def test_another_rooms_traffic_never_evicts(self) -> None:
        w, bob = self._rooms(replay_capacity=self.CAPACITY)
        alice = w.rings["alice"]
        old = alice.seal(ROOM, b"pay 10")
        bob.open(old)
        opened = 0
        for i in range(3 * self.CAPACITY):
            try:
                bob.open(alice.seal("room-b", b"chatter %d" % i))
                opened += 1
            except DomviaError as error:
                assert error.code == "E_STALE"
        assert opened <= self.CAPACITY
        refused_open(bob, old, "E_REPLAY")

    def test_a_full_epoch_refuses_live_messages_rather_than_reopen_one(self) -> None:
        w, bob = self._rooms(replay_capacity=self.CAPACITY)
        alice = w.rings["alice"]
        seen = []
        for i in range(self.CAPACITY):
            message = alice.seal(ROOM, b"%d" % i)
            try:
                bob.open(message)
                seen.append(message)
            except DomviaError as error:
                assert error.code == "E_STALE"
        assert seen
        for message in [seen[0], seen[-1], alice.seal(ROOM, b"live, but the epoch is full")]:
            refused_open(bob, message, "E_STALE")
        # stored history is still readable, and the next epoch is live again
        assert bob.open(seen[0], check_replay=False).plaintext == b"0"
        w.apply(w.room.rotate(), "bob")
        assert bob.open(alice.seal(ROOM, b"epoch 2")).plaintext == b"epoch 2"

    def test_live_messages_in_epochs_older_than_live_epochs_are_stale(self) -> None:
        w = World(members=("bob",), live_epochs=2)
        alice, bob = w.rings["alice"], w.rings["bob"]
        old = alice.seal(ROOM, b"epoch 1")
        for _ in range(3):
            w.apply(w.room.rotate(), "bob")
        assert bob.latest_epoch(ROOM) == 4
        refused_open(bob, old, "E_STALE")
        assert bob.open(old, check_replay=False).plaintext == b"epoch 1"

    def test_a_refused_open_leaves_the_replay_state_as_it_was(self) -> None:
        """A replay refused after older epochs fell out of the live window must change nothing."""
        w = World(members=("bob",), live_epochs=2)
        alice, bob = w.rings["alice"], w.rings["bob"]
        w.apply(w.room.rotate(), "bob")
        bob.open(alice.seal(ROOM, b"epoch 2"))
        w.apply(w.room.rotate(), "bob")
        current = alice.seal(ROOM, b"epoch 3")
        bob.open(current)
        w.apply(w.room.rotate(), "bob")       # epoch 4: epoch 2 leaves the live window
        refused_open(bob, current, "E_REPLAY")


# -- 7. the room state file could add a member ---------------------------------------------------

class TestRoomStateFromChain:
    """Attack 7: the room state file had no integrity; editing its member list made the admin's next
    routine rotation add a member, or swap a member's identity.

    Actor: anyone able to write the admin's files (a malicious server with storage access, or
    malware short of reading the passphrase). on v1: "edited room state file -> routine rotate lists
    ['alice', 'bob', 'carol', 'mallory']; bob's identity swapped: True; carol accepts it: accepted".
    Why it fails now: there is no room state to read. Room(ring, room) derives members, admins, policy,
    suite and KEM from the newest signed epoch the key ring holds, and the key ring's plaintext form
    is loaded only if its epochs form a hash chain.
    """

    def test_the_room_is_the_signed_roster(self) -> None:
        w = World()
        w.apply(w.room.add(w.pub("dave")), "bob", "carol", "dave")
        record = w.rings["alice"].record(ROOM, 2)
        room = Room(w.rings["alice"], ROOM)
        assert {i: p.fingerprint for i, p in room.members.items()} == {
            m.participant_id: m.entry.fingerprint for m in w.bundles[2].members}
        assert room.members.keys() == record.roster.keys()
        assert room.admins == ("alice",) and room.epoch == 2
        assert not hasattr(Room, "from_dict")

    def test_a_tampered_key_ring_chain_is_refused(self) -> None:
        w = World()
        w.apply(w.room.rotate(), "bob", "carol")
        plain = keyring_to_plaintext(w.rings["alice"])
        # replace epoch 1 with an epoch 1 listing mallory, signed by mallory: the chain breaks
        evil = forge(KeyRing(w.people["mallory"]), w.pub("alice", "bob", "carol", "mallory"), epoch=1,
                     admins=(("mallory", w.people["mallory"].public.fingerprint),))
        record = plain["rooms"][ROOM][0]
        record["header"] = b64encode(evil.header.to_bytes())
        record["roster"] = [b64encode(m.entry.write(_writer()).getvalue()) for m in evil.members]
        record["secret"] = None
        record["sealed"] = 0
        assert code(keyring_from_plaintext, plain, w.people["alice"]) == "E_FORMAT"
        # a gap in the chain likewise
        plain = keyring_to_plaintext(w.rings["alice"])
        del plain["rooms"][ROOM][0]
        plain["rooms"][ROOM].append(keyring_to_plaintext(w.rings["alice"])["rooms"][ROOM][0])
        assert code(keyring_from_plaintext, plain, w.people["alice"]) == "E_FORMAT"

    def test_a_roster_edited_in_the_plaintext_key_ring_cannot_add_a_member(self) -> None:
        w = World()
        plain = keyring_to_plaintext(w.rings["alice"])
        entry = dataclasses.replace(w.bundles[1].proof_for("bob").entry)
        mallory = w.people["mallory"].public
        from domvia_e2ee.group.members import RosterEntry

        extra = RosterEntry.of(mallory, entry.wrapped_digest)
        plain["rooms"][ROOM][-1]["roster"] = sorted(plain["rooms"][ROOM][-1]["roster"] +
                                                    [b64encode(extra.write(_writer()).getvalue())])
        try:
            ring = keyring_from_plaintext(plain, w.people["alice"])
        except DomviaError as error:
            assert error.code == "E_FORMAT"
            return
        rotation = Room(ring, ROOM).rotate()
        assert "mallory" not in [m.participant_id for m in rotation.bundle.members]

    def test_the_round_trip_keeps_the_room(self) -> None:
        w = World()
        w.apply(w.room.remove(["carol"]), "bob")
        ring = keyring_from_plaintext(keyring_to_plaintext(w.rings["alice"]), w.people["alice"])
        room = Room(ring, ROOM)
        assert room.members.keys() == {"alice", "bob"} and room.epoch == 2
        rotation = room.rotate()
        assert w.rings["bob"].accept(rotation.bundle.to_bytes()).epochs == (3,)


def _writer() -> Any:
    from domvia_e2ee.encoding import Writer

    return Writer()


# -- 8. Room.create replaced a verified identity -------------------------------------------------

class TestPinnedIdentities:
    """Attack 8: given a different key under an id the admin had pinned (verified out of band),
    Room.create and room.add put it in the roster and replaced the pin silently.

    Actor: a malicious server publishing a wrong public identity for bob.
    on v1: "Room.create with another key under pinned 'bob': accepted; pin replaced: True" and
    "room.add with another key under pinned 'bob': accepted; pin replaced: True".
    Why it fails now: a rotator never puts an identity into a roster that differs from its pin unless
    the pin is replaced explicitly (spec/keyring.md, Identities): E_POLICY, pin and key ring unchanged.
    """

    def test_create_refuses_a_key_differing_from_the_pin(self) -> None:
        alice = KeyRing(person("alice"))
        bob = person("bob").public
        alice.add_identity(bob)
        before = snapshot(alice)
        assert code(Room.create, alice, ROOM, [person("bob", variant="server's").public]) == "E_POLICY"
        assert alice.known_identity("bob") == bob
        assert snapshot(alice) == before and alice.rooms() == []

    def test_add_refuses_a_key_differing_from_the_pin(self) -> None:
        alice = KeyRing(person("alice"))
        bob = person("bob").public
        alice.add_identity(bob)
        room, _ = Room.create(alice, ROOM, [])
        before = snapshot(alice)
        assert code(room.add, [person("bob", variant="server's").public]) == "E_POLICY"
        assert alice.known_identity("bob") == bob and room.epoch == 1
        assert snapshot(alice) == before
        assert room.add([bob]).epoch == 2

    def test_a_roster_with_another_key_for_a_pinned_id_is_reported_not_pinned(self) -> None:
        w = World()
        carol = w.rings["carol"]
        carol.add_identity(person("mallory").public)
        impostor = person("mallory", variant="server's").public
        rotation = w.room.add([impostor])       # alice never pinned mallory: she takes the server's word
        accepted = carol.accept(rotation.bundle.to_bytes())
        assert accepted.identity_changes == ("mallory",)
        assert carol.known_identity("mallory") == person("mallory").public


# -- 9. a join anchor for whatever room the file names ------------------------------------------

class TestJoinAnchor:
    """Attack 9: `keyring accept --admin X FILE` trusted X for whatever room FILE named, and
    trust_admin added admins to rooms already held.

    Actor: a malicious server choosing which file (which room) an invitation carries, or a member
    who gets itself named as an admin. on v1 (library): "trust_admin(mallory) for a room bob already
    holds: accepted; mallory's bundle for it at bob: accepted".
    Why it fails now: trust_admin binds the anchor to one room id and is used only for joining;
    for a held room it is refused (E_POLICY) and only the signed chain decides.
    """

    def test_an_anchor_for_one_room_does_not_let_in_another(self) -> None:
        w = World()
        dave = KeyRing(w.people["dave"])
        dave.trust_admin(ROOM, w.people["alice"].public)
        _, other = Room.create(w.rings["alice"], "room-2", w.pub("dave"))
        refused(dave, other.bundle.to_bytes(), "E_UNAUTHORIZED")
        refused(dave, other.bundle.slice_for("dave").to_bytes(), "E_UNAUTHORIZED")

    def test_no_anchor_for_a_held_room(self) -> None:
        w = World()
        bob = w.rings["bob"]
        before = snapshot(bob)
        assert code(bob.trust_admin, ROOM, w.people["mallory"].public) == "E_POLICY"
        assert snapshot(bob) == before
        forged = forge(w.rings["mallory"], w.pub("bob", "mallory"), epoch=2,
                       previous=bob.header(ROOM).epoch_hash(),
                       admins=(("mallory", w.people["mallory"].public.fingerprint),))
        refused(bob, forged.to_bytes(), "E_UNAUTHORIZED")

    def test_a_joiner_needs_the_anchor_in_the_header_admin_set(self) -> None:
        w = World()
        dave = KeyRing(w.people["dave"])
        dave.trust_admin(ROOM, w.people["bob"].public)     # bob is a member, not an admin
        joined = w.room.add(w.pub("dave")).bundle
        refused(dave, joined.to_bytes(), "E_UNAUTHORIZED")


# -- 10. admins trusted forever ------------------------------------------------------------------

class TestAdminRevocation:
    """Attack 10: an admin, once trusted, stayed trusted: a removed admin could still rotate the room,
    or jump it to epoch 2^32 - 1 so that every honest bundle after was stale.

    Actor: a removed (or demoted) admin, with the server delivering its bundles.
    on v1: "removed admin bob's epoch 3 at carol: accepted; its jump to epoch 2^32-1: accepted; alice's next
    honest epoch 3 then: E_STALE".
    Why it fails now: the admin set is signed in every header; set_admins and remove drop the admin from
    it, so its later headers are E_UNAUTHORIZED; a header more than one epoch ahead is E_GAP whoever
    signed it, and nothing refused is committed, so honest bundles are never stale.
    """

    @pytest.mark.parametrize("how", ["set_admins", "remove"])
    def test_a_dropped_admin_cannot_rotate(self, how: str) -> None:
        w = World(admins=("bob",))
        carol, bob = w.rings["carol"], w.rings["bob"]
        change = w.room.set_admins(["alice"]) if how == "set_admins" else w.room.remove(["bob"])
        w.apply(change, "carol", "bob")
        assert [a for a, _ in carol.header(ROOM).admins] == ["alice"]
        members = ("alice", "bob", "carol", "mallory")
        assert bob.latest_epoch(ROOM) == 2         # as a member, or (removed) as a link
        if how == "set_admins":
            assert code(Room(bob, ROOM).rotate) == "E_POLICY"
        later = forge(bob, w.pub(*members))
        refused(carol, later.to_bytes(), "E_UNAUTHORIZED")
        refused(carol, later.slice_for("carol").to_bytes(), "E_UNAUTHORIZED")
        # bob restoring himself to the admin set in his header changes nothing
        grab = forge(bob, w.pub(*members), epoch=3, previous=change.bundle.header.epoch_hash(),
                     admins=(("bob", w.people["bob"].public.fingerprint),))
        refused(carol, grab.to_bytes(), "E_UNAUTHORIZED")
        honest = w.room.rotate()
        assert carol.accept(honest.bundle.to_bytes()).epochs == (3,)

    def test_a_jump_ahead_is_a_gap_and_makes_nothing_stale(self) -> None:
        w = World(admins=("bob",))
        carol, bob = w.rings["carol"], w.rings["bob"]
        w.apply(w.room.remove(["bob"]), "carol")
        for epoch in (2**32 - 1, 4):
            jump = forge(bob, w.pub("bob", "carol"), epoch=epoch, previous=bytes(range(32)))
            refused(carol, jump.to_bytes(), "E_GAP")
            refused(carol, jump.announcement().to_bytes(), "E_GAP")
        # even an admin's jump is a gap: epochs are a chain
        jump = forge(w.rings["alice"], w.pub("alice", "carol"), epoch=2**32 - 1, previous=bytes(range(32)))
        refused(carol, jump.to_bytes(), "E_GAP")
        for _ in range(2):
            honest = w.room.rotate()
            assert carol.accept(honest.bundle.to_bytes()).epochs == (honest.epoch,)

    def test_what_a_removed_admin_signs_for_its_last_epoch_is_only_a_fork(self) -> None:
        """Bob was an admin of epoch 1, so a header for epoch 2 from him is authorised: a fork, kept as
        evidence; it changes no one's chain and is not stale-making."""
        w = World(admins=("bob",))
        carol, bob = w.rings["carol"], w.rings["bob"]
        removal = w.apply(w.room.remove(["bob"]), "carol")
        rival = forge(bob, w.pub("alice", "bob", "carol"), epoch=2, previous=w.bundles[1].header.epoch_hash())
        refused(carol, rival.to_bytes(), "E_FORK", fork=True)
        assert carol.record(ROOM, 2).header_bytes == removal.header.to_bytes()
        assert carol.accept(w.room.rotate().bundle.to_bytes()).epochs == (3,)


# -- 11. issued_at past any date ---------------------------------------------------------------

class TestIssuedAtBound:
    """Attack 11: a bundle with issued_at = 2^64 - 1 was accepted, and `keyring show` then failed on
    every later run (the date cannot be formatted).

    Actor: an authorised rotator gone bad, or anyone whose bytes reach the parser (the bound is
    checked before the signature). on v1: "bundle with issued_at=2^64-1 at bob: accepted; keyring
    show's date formatting: OverflowError: timestamp out of range for platform time_t".
    Why it fails now: issued_at is bounded at 253402300799 (9999-12-31T23:59:59Z) at parse: E_FORMAT
    naming the field, for bundles, slices, announcements and history bundles.
    """

    @staticmethod
    def _at(issued_at: int) -> tuple[World, Bundle]:
        w = World()
        alice = w.rings["alice"]
        header = alice.header(ROOM)
        key = RoomKey.generate(room_id=ROOM, epoch=2, suite=header.suite)
        members = sorted(w.pub("alice", "bob", "carol"), key=lambda m: m.participant_id.encode())
        bundle = assemble(w.people["alice"], key, members, wrap_many(key, members, WrapKem.X25519), kem=WrapKem.X25519,
                          issued_at=issued_at, plan=Plan(header.epoch_hash(), header.policy, header.admins))
        return w, bundle

    @pytest.mark.parametrize("issued_at", [2**64 - 1, MAX_ISSUED_AT + 1])
    def test_past_the_bound_is_a_format_error(self, issued_at: int) -> None:
        w, bundle = self._at(issued_at)
        bob = w.rings["bob"]
        for item, parse in ((bundle, Bundle.from_bytes), (bundle.slice_for("bob"), Slice.from_bytes),
                            (bundle.announcement(), Announcement.from_bytes)):
            with pytest.raises(DomviaError) as caught:
                parse(item.to_bytes())
            assert caught.value.code == "E_FORMAT" and getattr(caught.value, "field", None) == "issued_at"
            refused(bob, item.to_bytes(), "E_FORMAT")
        with pytest.raises(DomviaError) as caught:
            EpochHeader.from_bytes(bundle.header.to_bytes())
        assert caught.value.code == "E_FORMAT"

    @pytest.mark.parametrize("form", ["bundle", "announcement"])
    def test_objects_obey_the_parse_bound_too(self, form: str) -> None:
        w, bundle = self._at(2**64 - 1)
        ring = w.rings["bob"]
        item = bundle if form == "bundle" else bundle.announcement()
        try:
            ring.accept(item)
        except DomviaError as error:
            assert error.code == "E_FORMAT"
        keyring_from_plaintext(keyring_to_plaintext(ring), w.people["bob"])

    def test_the_bound_itself_is_accepted(self) -> None:
        w, bundle = self._at(MAX_ISSUED_AT)
        assert w.rings["bob"].accept(bundle.to_bytes()).epochs == (2,)
        assert w.rings["bob"].header(ROOM).issued_at == MAX_ISSUED_AT

    def test_a_history_bundle_past_the_bound_is_a_format_error(self) -> None:
        w = World()
        add = w.room.add(w.pub("dave"), share_history=[1])
        w.apply(add, "dave")
        history = dataclasses.replace(add.history["dave"], issued_at=2**64 - 1)
        assert code(HistoryBundle.from_bytes, history.to_bytes()) == "E_FORMAT"
        refused(w.rings["dave"], history.to_bytes(), "E_FORMAT")
        assert w.rings["dave"].accept(add.history["dave"].to_bytes()).epochs == (1,)


# -- 12. a sealer reusing a message id --------------------------------------------------------

class TestMessageIdReuse:
    """Attack 12 (an honest failure an attacker can provoke, e.g. by a client bug or a server that
    hands out message ids): a sealer reusing a message id had its second, genuine message dropped by
    every receiver as E_REPLAY.

    Actor: the sealer itself (or the server assigning ids); the relay then cannot be told apart from it.
    on v1: "alice seals two messages with id m-1: second seal accepted; bob opens first: accepted,
    second: E_REPLAY".
    Why it fails now: the key ring refuses to seal under an id it already sealed or opened in the epoch
    (E_POLICY, nothing changed), and without an id it generates a fresh random one.
    """

    def test_a_reused_id_is_refused_by_the_sealer(self) -> None:
        w = World()
        alice, bob = w.rings["alice"], w.rings["bob"]
        first = alice.seal(ROOM, b"first", message_id="m-1")
        before = snapshot(alice)
        assert code(alice.seal, ROOM, b"second, genuine", message_id="m-1") == "E_POLICY"
        assert snapshot(alice) == before
        assert bob.open(first).plaintext == b"first"
        # a new epoch is a new id space
        w.apply(w.room.rotate(), "bob")
        assert bob.open(alice.seal(ROOM, b"again", message_id="m-1")).plaintext == b"again"

    def test_ids_are_generated_unique(self) -> None:
        w = World()
        alice, bob = w.rings["alice"], w.rings["bob"]
        messages = [alice.seal(ROOM, b"same text") for _ in range(20)]
        assert len({m.message_id for m in messages}) == 20
        for message in messages:
            assert bob.open(message).plaintext == b"same text"
