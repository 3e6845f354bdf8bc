"""A room's life as random sequences of create, join, leave, rotate, seal, open and forged bundles.

The model knows only who was a member of which epoch and which epochs were shared on purpose;
from that alone it predicts, for every participant and every message, whether it opens:
- every current member opens every message of every epoch it holds a key for,
- a removed member opens nothing sealed after its removal (it keeps the chain as links: E_NOT_MEMBER),
- a joiner opens nothing from before it joined unless that epoch was shared,
and that epochs strictly increase, that every participant holds one contiguous chain, and that no
forged bundle (signed by a non-member, by a removed member, by a member who is no admin, or with a
bad signature) changes anything.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from core_helpers import ROOM, assert_unchanged, fixed_identity, forge_bundle, key_of, next_after
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from domvia_e2ee import (
    AuthenticationError, Bundle, KeyRing, NotMemberError, NotRecipientError, ReplayError, Room, RoomKey, Rotation,
    StaleEpochError, UnauthorizedError, UnknownKeyError,
)
from domvia_e2ee.group.bundle import SignedHeader
from domvia_e2ee.group.members import MemberProof

PEOPLE = ("alice", "bob", "carol", "dave", "erin")
IDENTITIES = {name: fixed_identity(name) for name in PEOPLE}
ADMIN = "alice"


@dataclass(frozen=True)
class Sent:
    epoch: int
    sender: str
    message_id: str
    plaintext: bytes
    wire: bytes


class RoomLife(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.rings = {name: KeyRing(identity) for name, identity in IDENTITIES.items()}
        for ring in self.rings.values():
            for identity in IDENTITIES.values():
                if identity.participant_id != ring.owner.participant_id:
                    ring.add_identity(identity.public)
            ring.trust_admin(ROOM, IDENTITIES[ADMIN].public)
        self.room, rotation = Room.create(self.rings[ADMIN], ROOM)
        self.members_at: dict[int, set[str]] = {}
        self.shared: dict[str, set[int]] = {name: set() for name in PEOPLE}
        self.first: dict[str, int] = {ADMIN: 1}  # the first epoch of each participant's chain
        self.proofs: dict[str, MemberProof] = {}
        self.bundles: dict[int, Bundle] = {}
        self.epoch_log: list[int] = []
        self.sent: list[Sent] = []
        self._record(rotation)

    # -- the model ---------------------------------------------------------------------------

    def held(self, name: str) -> set[int]:
        """The epochs whose key name holds."""
        return {e for e, members in self.members_at.items() if name in members} | self.shared[name]

    def chain(self, name: str) -> set[int]:
        """Every epoch name holds, keys and links: one contiguous range up to the latest epoch."""
        return set(range(self.first[name], self.room.epoch + 1)) if name in self.first else set()

    def _record(self, rotation: Rotation) -> None:
        epoch = rotation.epoch
        self.members_at[epoch] = set(self.room.members)
        self.bundles[epoch] = rotation.bundle
        self.epoch_log.append(epoch)
        for name in self.room.members:
            self.proofs[name] = rotation.bundle.proof_for(name)

    def _distribute(self, rotation: Rotation, slices: bool) -> None:
        bundle = rotation.bundle
        for name in PEOPLE:
            if name == ADMIN:
                continue
            ring = self.rings[name]
            if name in self.room.members:
                if slices:
                    assert ring.accept(bundle.slice_for(name).to_bytes()).kind == "slice"
                    assert ring.accept(bundle.to_bytes()).kind == "roster"
                else:
                    assert ring.accept(bundle.to_bytes()).kind == "bundle"
                self.first.setdefault(name, rotation.epoch)
            elif name in self.first:  # a former member keeps the chain: the epoch is a link
                form = bundle.announcement().to_bytes() if slices else bundle.to_bytes()
                assert ring.accept(form).kind == "link"
            else:
                assert_unchanged(ring, NotRecipientError, ring.accept, bundle.to_bytes())

    def _check(self, name: str, sent: Sent) -> None:
        ring = self.rings[name]
        if sent.epoch in self.held(name):
            opened = ring.open(sent.wire, check_replay=False)
            assert (opened.plaintext, opened.sender_id, opened.epoch) == (sent.plaintext, sent.sender, sent.epoch)
        elif sent.epoch in self.chain(name):
            assert_unchanged(ring, NotMemberError, ring.open, sent.wire, check_replay=False)
        else:
            assert_unchanged(ring, UnknownKeyError, ring.open, sent.wire, check_replay=False)

    def _outsiders(self) -> list[str]:
        return [name for name in PEOPLE if name not in self.room.members]

    def _next_key(self) -> RoomKey:
        return RoomKey.generate(room_id=ROOM, epoch=self.room.epoch + 1)

    # -- membership --------------------------------------------------------------------------

    @precondition(lambda self: len(self.room.members) < len(PEOPLE))
    @rule(data=st.data(), slices=st.booleans())
    def join(self, data: st.DataObject, slices: bool) -> None:
        joiner = data.draw(st.sampled_from(self._outsiders()))
        past = sorted(self.members_at)
        share = data.draw(st.lists(st.sampled_from(past), unique=True, max_size=2))
        before = self.chain(joiner)
        rotation = self.room.add([IDENTITIES[joiner].public], share_history=share)
        self._record(rotation)
        self._distribute(rotation, slices)
        if share:
            accepted = self.rings[joiner].accept(rotation.history[joiner].to_bytes())
            # history entries run from the first shared epoch to the anchor: new ones are committed, and
            # held ones only when they gain a key (or a full roster, which a slice-holder may lack)
            new_keys = set(share) - self.held(joiner)
            assert new_keys <= set(accepted.epochs) <= set(range(min(share), rotation.epoch))
            assert set(range(min(share), rotation.epoch)) - before <= set(accepted.epochs)
            self.shared[joiner] |= set(share)
            self.first[joiner] = min(self.first[joiner], min(share))
            for sent in self.sent:
                self._check(joiner, sent)
        else:
            assert joiner not in rotation.history

    @precondition(lambda self: len(self.room.members) > 1)
    @rule(data=st.data(), slices=st.booleans())
    def leave(self, data: st.DataObject, slices: bool) -> None:
        leaving = data.draw(st.sampled_from(sorted(set(self.room.members) - {ADMIN})))
        rotation = self.room.remove([leaving])
        self._record(rotation)
        self._distribute(rotation, slices)

    @rule(slices=st.booleans())
    def rotate(self, slices: bool) -> None:
        rotation = self.room.rotate()
        self._record(rotation)
        self._distribute(rotation, slices)

    # -- messages ----------------------------------------------------------------------------

    @rule(data=st.data(), plaintext=st.binary(max_size=64))
    def seal(self, data: st.DataObject, plaintext: bytes) -> None:
        sender = data.draw(st.sampled_from(sorted(self.room.members)))
        message_id = f"m-{len(self.sent)}"
        sealed = self.rings[sender].seal(ROOM, plaintext, message_id=message_id)
        assert sealed.epoch == self.room.epoch
        sent = Sent(sealed.epoch, sender, message_id, plaintext, sealed.to_bytes())
        self.sent.append(sent)
        for name in PEOPLE:
            self._check(name, sent)

    @precondition(lambda self: bool(self.sent))
    @rule(data=st.data())
    def open_live(self, data: st.DataObject) -> None:
        """A live open by a current member: first time it opens, the second time it is a replay."""
        current = [s for s in self.sent if s.epoch == self.room.epoch]
        if not current:
            return
        sent = data.draw(st.sampled_from(current))
        reader = data.draw(st.sampled_from(sorted(self.room.members)))
        ring = self.rings[reader]
        seen = ring._replay.dump().get(ROOM, [])
        opened = {(s, m) for epoch, _, entries in seen if epoch == sent.epoch for s, m, bits in entries if bits & 2}
        if (sent.sender, sent.message_id) in opened:
            assert_unchanged(ring, ReplayError, ring.open, sent.wire)
        else:
            assert ring.open(sent.wire).plaintext == sent.plaintext

    # -- forged bundles ------------------------------------------------------------------------

    def _forged(self, forger: str, names: set[str], proof: MemberProof | None) -> Bundle:
        return forge_bundle(IDENTITIES[forger], self._next_key(), [IDENTITIES[m].public for m in sorted(names)],
                            authority=proof, **next_after(self.rings[ADMIN], ROOM))

    @precondition(lambda self: len(self.room.members) < len(PEOPLE))
    @rule(data=st.data())
    def forged_by_a_non_member(self, data: st.DataObject) -> None:
        """Signed by someone who is not a member now: never one, or removed (with its old proof)."""
        forger = data.draw(st.sampled_from(self._outsiders()))
        forged = self._forged(forger, {*self.room.members, forger}, self.proofs.get(forger))
        for name in self.room.members:
            ring = self.rings[name]
            assert_unchanged(ring, UnauthorizedError, ring.accept, forged.to_bytes())
            assert_unchanged(ring, UnauthorizedError, ring.accept, forged.slice_for(name).to_bytes())

    @precondition(lambda self: len(self.room.members) > 1)
    @rule(data=st.data())
    def forged_by_a_member_who_is_no_admin(self, data: st.DataObject) -> None:
        forger = data.draw(st.sampled_from(sorted(set(self.room.members) - {ADMIN})))
        forged = self._forged(forger, set(self.room.members), self.proofs.get(forger))
        for name in self.room.members:
            ring = self.rings[name]
            assert_unchanged(ring, UnauthorizedError, ring.accept, forged.to_bytes())

    @rule()
    def forged_with_a_bad_signature(self) -> None:
        genuine = self._forged(ADMIN, set(self.room.members), None)
        signature = bytes((genuine.signed.signature[0] ^ 1,)) + genuine.signed.signature[1:]
        forged = dataclasses.replace(genuine, signed=SignedHeader(genuine.header, signature, None))
        for name in self.room.members:
            ring = self.rings[name]
            assert_unchanged(ring, AuthenticationError, ring.accept, forged.to_bytes())

    @precondition(lambda self: len(self.bundles) > 1)
    @rule(data=st.data())
    def replayed_old_bundle(self, data: st.DataObject) -> None:
        """The server replays a stored bundle: stale for every member that holds that epoch in full,
        and for one whose chain starts later (older epochs come only through history). A member that
        holds the epoch without its full roster (a slice, an announcement, a link-only history entry)
        gains the roster and nothing else."""
        epoch = data.draw(st.sampled_from(sorted(self.bundles)[:-1]))
        for name in self.room.members:
            ring = self.rings[name]
            if epoch in self.chain(name) and not ring.record(ROOM, epoch).complete:
                key = key_of(ring, ROOM, epoch)
                assert ring.accept(self.bundles[epoch].to_bytes()).kind == "roster"
                assert ring.record(ROOM, epoch).complete and key_of(ring, ROOM, epoch) == key
            assert_unchanged(ring, StaleEpochError, ring.accept, self.bundles[epoch].to_bytes())

    # -- invariants -----------------------------------------------------------------------------

    @invariant()
    def epochs_strictly_increase(self) -> None:
        assert all(a < b for a, b in zip(self.epoch_log, self.epoch_log[1:]))
        assert self.room.epoch == self.epoch_log[-1] == self.rings[ADMIN].latest_epoch(ROOM)

    @invariant()
    def every_participant_holds_exactly_the_modelled_chain_and_keys(self) -> None:
        for name in PEOPLE:
            ring = self.rings[name]
            assert ring.epochs(ROOM) == sorted(self.chain(name)), name
            keyed = {e for e in ring.epochs(ROOM) if key_of(ring, ROOM, e) is not None}
            assert keyed == self.held(name), name

    def teardown(self) -> None:
        for sent in self.sent:
            for name in PEOPLE:
                self._check(name, sent)


RoomLife.TestCase.settings = settings(max_examples=40, stateful_step_count=20, deadline=None)
TestRoomLife = RoomLife.TestCase
