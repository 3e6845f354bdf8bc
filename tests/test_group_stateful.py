"""The group layer (format v2) under a malicious server, as random sequences of steps.

Cast: alice, the admin (bob a second admin, until alice changes the admin set); honest members bob and
carol; joiners dave and erin, added and removed by alice; nina, a member who is never an admin;
rex, a member alice may remove; and the server, with an identity of its own. The server decides
everything about delivery: who gets which bundle as a full bundle, a slice or an announcement,
in which order, what it withholds, what old delivery it replays, which member proofs it serves.
nina, rex and the server forge bundles on top of what they hold (or of any genuine header: the
server stores them all), and nina and rex inject messages and history bundles.

Invariants, after every step, for every honest key ring (alice, bob, carol, dave, erin):
- every header it holds is one an honest admin signed (nothing signed by nina, rex or the server),
  its roster is that bundle's roster (all of it, or the members proved so far), its key that epoch's key;
- its epochs form a hash chain, and two honest rings that hold the same header for epoch E hold the
  same header for every epoch <= E both hold; every fork evidence it keeps verifies on its own;
- it opens every honest message of its latest epoch sealed under the key it holds, once the server
  has served the sender's member proof.
And in the rules: a message opened live comes from a member of the ring's latest epoch (so nothing
from rex once rex's removal is held); a rejected delivery changes nothing; a second, authorised
header for a held epoch is E_FORK.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from domvia_e2ee import (
    Announcement, Bundle, DomviaError, ForkError, HistoryBundle, Identity, KeyRing, MemberProofFile, Room, RoomKey,
    SealedMessage, keyring_to_plaintext, labels, seal,
)
from domvia_e2ee.encoding import Reader
from domvia_e2ee.group.bundle import Plan, build_bundle
from domvia_e2ee.group.header import MAX_LIMIT, NO_PREVIOUS, EpochHeader
from domvia_e2ee.group.history import SharedEpoch, build_history
from domvia_e2ee.group.members import RosterEntry
from domvia_e2ee.group.replay import DEFAULT_LIVE_EPOCHS
from domvia_e2ee.hazmat import curves

ROOM = "room-1"
HONEST = ("alice", "bob", "carol", "dave", "erin")
ATTACKERS = ("nina", "rex", "server")
EVERYONE = HONEST + ATTACKERS
JOINERS = ("dave", "erin")
FIRST_MEMBERS = ("bob", "carol", "nina", "rex")


def _seed(*parts: object) -> bytes:
    return hashlib.sha256(repr(("group-stateful", *parts)).encode()).digest()


PEOPLE = {n: Identity(n, x25519_private=_seed(n, "x"), ed25519_seed=_seed(n, "ed")) for n in EVERYONE}
FINGERPRINT = {n: p.public.fingerprint for n, p in PEOPLE.items()}


# an index into a log, mostly one of the newest entries (counted from the end), sometimes any
RECENT = st.one_of(st.integers(0, 2), st.integers(0, 1 << 16))
FORMS = st.sampled_from(["bundle", "slice", "announcement"])
# to whom the server delivers one item, and in which form: a few honest participants at once
AUDIENCE = st.lists(st.tuples(st.sampled_from(HONEST), FORMS), min_size=1, max_size=5,
                    unique_by=lambda pair: pair[0])


@dataclass(frozen=True)
class Sent:
    sealed: SealedMessage
    sender: str
    text: bytes
    honest: bool       # sealed by an honest member's key ring under its latest epoch
    forged_key: bool   # sealed under the key of a forged bundle


def _replay_in_window(state: dict[str, Any], ring: KeyRing) -> dict[str, Any]:
    """The export with replay state of epochs that left the live window removed (dropping them is
    dead state: live messages there are refused before the state is read)."""
    latest = ring.latest_epoch(ROOM) or 0
    state = dict(state)
    state["replay"] = {room: [e for e in epochs if room != ROOM or e[0] > latest - DEFAULT_LIVE_EPOCHS]
                       for room, epochs in state["replay"].items()}
    return state


def _snapshot(ring: KeyRing, *, forks: bool = True) -> dict[str, Any]:
    state = _replay_in_window(keyring_to_plaintext(ring), ring)
    if not forks:
        state.pop("forks")
    return state


def _verify_announcement(data: bytes) -> EpochHeader:
    announcement = Announcement.from_bytes(data)
    header, rotator = announcement.header, announcement.rotator
    assert rotator.entry.participant_id == header.rotator_id
    curves.verify(rotator.entry.ed25519, announcement.signed.signature, header.signed_bytes())
    assert rotator.verifies(header.member_count, header.root)
    return header


class GroupUnderAttack(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.rings = {n: KeyRing(PEOPLE[n]) for n in EVERYONE}
        for name, ring in self.rings.items():
            if name != "alice":
                ring.trust_admin(ROOM, PEOPLE["alice"].public)
        # bob starts as a second admin, so that concurrent rotations (forks) are reachable; alice may drop him
        _, rotation = Room.create(self.rings["alice"], ROOM, [PEOPLE[n].public for n in FIRST_MEMBERS],
                                  admins=["bob"])
        self.genuine: dict[bytes, Bundle] = {}          # header bytes -> the honest admin's bundle
        self.keys: dict[bytes, bytes] = {}              # header bytes -> that epoch's room key
        self.log: list[tuple[Bundle, bool]] = []        # everything the server can deliver, genuine or not
        self.histories: list[tuple[HistoryBundle, bool]] = []
        self.forged_keys: list[RoomKey] = []
        self.sent: list[Sent] = []
        self._published(rotation.bundle, "alice")
        for name in FIRST_MEMBERS:
            self.rings[name].accept(rotation.bundle.to_bytes())

    # -- helpers -----------------------------------------------------------------------------

    def _published(self, bundle: Bundle, rotator: str) -> None:
        header_bytes = bundle.header.to_bytes()
        self.genuine[header_bytes] = bundle
        self.keys[header_bytes] = bytes(self.rings[rotator].record(ROOM, bundle.header.epoch).key or b"")
        self.log.append((bundle, True))

    def _room(self, name: str) -> Room | None:
        try:
            return Room(self.rings[name], ROOM)
        except DomviaError:
            return None

    def _change(self, name: str, change: str, **kwargs: Any) -> None:
        room = self._room(name)
        if room is None:
            return
        try:
            rotation = getattr(room, change)(**kwargs)
        except DomviaError:
            return
        self._published(rotation.bundle, name)
        self.histories.extend((h, True) for h in rotation.history.values())

    def _fork_expected(self, ring: KeyRing, header: EpochHeader) -> bool:
        """spec/bundle.md step 5/6: another authorised header for a held epoch, or an authorised one
        for the next epoch that does not build on the held chain."""
        epochs = ring.epochs(ROOM)
        if not epochs:
            return False
        rotator, fingerprint = header.rotator_id, FINGERPRINT[header.rotator_id]
        if header.epoch in epochs:
            mine = ring.record(ROOM, header.epoch)
            if mine.header_bytes == header.to_bytes() or mine.source == "history":
                return False
            authority = ring.record(ROOM, header.epoch - 1) if header.epoch - 1 in epochs else mine
            return authority.header.is_admin(rotator, fingerprint)
        if header.epoch == epochs[-1] + 1:
            latest = ring.record(ROOM, epochs[-1]).header
            return header.previous != latest.epoch_hash() and latest.is_admin(rotator, fingerprint)
        return False

    def _listed(self, header_bytes: bytes, name: str) -> bool:
        bundle = self.genuine.get(header_bytes)
        return bundle is not None and bundle.index_of(name) is not None

    # -- the admins ----------------------------------------------------------------------------

    @rule()
    def alice_rotates(self) -> None:
        self._change("alice", "rotate")

    @rule()
    def alice_removes_rex(self) -> None:
        room = self._room("alice")
        if room is not None and "rex" in room.members:
            self._change("alice", "remove", participant_ids=["rex"])

    @rule(joiner=st.sampled_from(JOINERS), share=st.booleans())
    def alice_adds_or_removes_a_joiner(self, joiner: str, share: bool) -> None:
        room = self._room("alice")
        if room is None:
            return
        if joiner in room.members:
            self._change("alice", "remove", participant_ids=[joiner])
        else:
            self._change("alice", "add", joiners=[PEOPLE[joiner].public],
                         share_history=[room.epoch] if share else ())

    @rule(bob_admin=st.booleans())
    def alice_changes_admins(self, bob_admin: bool) -> None:
        self._change("alice", "set_admins", admin_ids=["alice", "bob"] if bob_admin else ["alice"])

    @rule()
    def bob_rotates_if_admin(self) -> None:
        self._change("bob", "rotate")     # refused (E_POLICY) by his own Room unless he is an admin

    # -- the server: delivery -------------------------------------------------------------------

    def _recent(self, log: list[Any], item: int) -> Any:
        return log[-1 - item % len(log)]

    @rule(item=RECENT, audience=AUDIENCE)
    def server_delivers(self, item: int, audience: list[tuple[str, str]]) -> None:
        bundle, genuine = self._recent(self.log, item)
        for who, form in audience:
            self._deliver(bundle, genuine, who, form)

    def _deliver(self, bundle: Bundle, genuine: bool, who: str, form: str) -> None:
        ring = self.rings[who]
        delivery: Any = bundle
        if form == "slice" and bundle.index_of(who) is not None:
            delivery = bundle.slice_for(who)
        elif form != "bundle":
            delivery = bundle.announcement()
        fork = genuine and self._fork_expected(ring, bundle.header)
        before = _snapshot(ring, forks=False)
        try:
            ring.accept(delivery.to_bytes())
        except ForkError as error:
            assert genuine, "a forged bundle was taken for an authorised fork"
            assert fork, f"E_FORK where the spec expects none: {error}"
            assert error.evidence in ring.forks(ROOM) or len(ring.forks(ROOM)) == 16
            assert _snapshot(ring, forks=False) == before
        except DomviaError as error:
            assert not fork, f"an authorised second header was {error.code}, not E_FORK"
            assert _snapshot(ring, forks=False) == before and error.code != "E_INTERNAL"
        else:
            assert genuine, f"{who} accepted a bundle signed by {bundle.header.rotator_id}"
            assert not fork

    @rule(item=RECENT, member=st.sampled_from(EVERYONE), who=st.sampled_from(HONEST),
          lie=st.integers(0, 3))
    def server_serves_a_member_proof(self, item: int, member: str, who: str, lie: int) -> None:
        """A genuine proof, or (lie) one for another epoch than the one it was made in."""
        bundle, _ = self._recent(self.log, item)
        if bundle.index_of(member) is None:
            return
        epoch = bundle.header.epoch if lie == 0 else max(1, bundle.header.epoch + lie - 2)
        ring = self.rings[who]
        before = _snapshot(ring)
        try:
            ring.accept(MemberProofFile(ROOM, epoch, bundle.proof_for(member)).to_bytes())
        except DomviaError:
            assert _snapshot(ring) == before

    @rule(item=RECENT, other=st.one_of(st.none(), st.sampled_from(HONEST)))
    def server_delivers_a_history_bundle(self, item: int, other: str | None) -> None:
        """To its recipient, or to someone else."""
        if not self.histories:
            return
        history, genuine = self._recent(self.histories, item)
        ring = self.rings[other or history.recipient_id]
        before = _snapshot(ring)
        try:
            ring.accept(history.to_bytes())
        except DomviaError:
            assert _snapshot(ring) == before
        else:
            assert genuine, "an invented history bundle was accepted"

    # -- the attackers: forged bundles -----------------------------------------------------------

    @rule(attacker=st.sampled_from(ATTACKERS), base=st.integers(0, 1 << 16), own_state=st.booleans(),
          extra=st.sets(st.sampled_from(EVERYONE), max_size=3), self_admin=st.booleans(),
          step=st.sampled_from([0, 1, 1, 1, 2, 1 << 20]), audience=AUDIENCE)
    def attacker_forges_a_bundle(self, attacker: str, base: int, own_state: bool, extra: set[str],
                                 self_admin: bool, step: int, audience: list[tuple[str, str]]) -> None:
        """On the attacker's own newest header, or on any genuine one (the server holds them all):
        a rival for that epoch (step 0), the next epoch, or a jump ahead."""
        ring = self.rings[attacker]
        if own_state and ring.epochs(ROOM):
            header = ring.header(ROOM)
        else:
            header = list(self.genuine.values())[base % len(self.genuine)].header
        if step == 0:
            epoch, previous = header.epoch, header.previous
        else:
            epoch, previous = min(header.epoch + step, MAX_LIMIT), header.epoch_hash()
        if epoch == 1:
            previous = NO_PREVIOUS
        elif previous == NO_PREVIOUS:
            previous = header.epoch_hash()
        genuine = self.genuine.get(header.to_bytes())
        authority = genuine.proof_for(attacker) if genuine is not None and genuine.index_of(attacker) is not None \
            else None
        admins = ((attacker, FINGERPRINT[attacker]),) if self_admin else header.admins
        members = [PEOPLE[n].public for n in sorted({attacker, *extra})]
        key = RoomKey.generate(room_id=ROOM, epoch=epoch, suite=header.suite)
        bundle = build_bundle(PEOPLE[attacker], key, members, kem=header.kem, issued_at=0,
                              plan=Plan(previous, header.policy, admins, False, authority))
        self.forged_keys.append(key)
        self.log.append((bundle, False))
        for who, form in audience:
            self._deliver(bundle, False, who, form)

    # -- messages --------------------------------------------------------------------------------

    @rule(sender=st.sampled_from(HONEST), n=st.integers(0, 999),
          audience=st.lists(st.sampled_from(HONEST), max_size=4, unique=True))
    def a_member_seals(self, sender: str, n: int, audience: list[str]) -> None:
        text = b"%s says %d" % (sender.encode(), n)
        try:
            sealed = self.rings[sender].seal(ROOM, text)
        except DomviaError:
            return
        self.sent.append(Sent(sealed, sender, text, True, False))
        for who in audience:
            self._open(self.sent[-1], who, live=True)

    @rule(attacker=st.sampled_from(("nina", "rex")), which=RECENT, forged=st.booleans())
    def attacker_injects_a_message(self, attacker: str, which: int, forged: bool) -> None:
        """Under any key the attacker holds (rex's old epochs too), or under a forged bundle's key."""
        ring = self.rings[attacker]
        if forged and self.forged_keys:
            key = self.forged_keys[which % len(self.forged_keys)]
        else:
            keyed = [k for k in (ring.record(ROOM, e).key for e in ring.epochs(ROOM)) if k is not None]
            if not keyed:
                return
            key = keyed[which % len(keyed)]
            forged = False
        text = b"%s injects %d" % (attacker.encode(), which)
        sealed = seal(key, text, message_id=f"m-{attacker}-{which}-{len(self.sent)}", sender=PEOPLE[attacker])
        self.sent.append(Sent(sealed, attacker, text, False, forged))
        for who in HONEST:
            self._open(self.sent[-1], who, live=True)

    @rule(which=RECENT, audience=st.lists(st.sampled_from(HONEST), min_size=1, max_size=5, unique=True),
          live=st.booleans())
    def server_delivers_a_message(self, which: int, audience: list[str], live: bool) -> None:
        """Delivers (or replays) a message; live=False is an application re-reading stored history."""
        if not self.sent:
            return
        sent = self._recent(self.sent, which)
        for who in audience:
            self._open(sent, who, live=live)

    def _open(self, sent: Sent, who: str, *, live: bool) -> None:
        ring = self.rings[who]
        before = _snapshot(ring, forks=False)
        try:
            opened = ring.open(sent.sealed.to_bytes(), check_replay=live)
        except DomviaError as error:
            assert error.code != "E_INTERNAL"
            assert _snapshot(ring, forks=False) == before, f"a refused message ({error.code}) changed the key ring"
            return
        assert opened.plaintext == sent.text and not sent.forged_key
        held = ring.record(ROOM, sent.sealed.epoch).header_bytes
        assert self._listed(held, sent.sender), f"{sent.sender} is no member of the epoch it sealed in"
        if live:
            latest = ring.record(ROOM, ring.latest_epoch(ROOM) or 0).header_bytes
            assert self._listed(latest, sent.sender), \
                f"{who} opened live a message from {sent.sender}, who is not in its latest epoch"

    @rule(attacker=st.sampled_from(("nina", "rex")), anchor=RECENT, who=st.sampled_from(HONEST),
          depth=st.integers(1, 3), lie=st.sampled_from(["none", "key", "roster", "header"]))
    def attacker_shares_history(self, attacker: str, anchor: int, who: str, depth: int, lie: str) -> None:
        """A history bundle from nina or rex, anchored on a genuine epoch it was a member of: the
        past epochs as they were (with the keys it holds), or with an invented key, roster or header."""
        listed = [b for b in self.genuine.values() if b.index_of(attacker) is not None and b.header.epoch > 1]
        if not listed:
            return
        anchor_bundle = self._recent(listed, anchor)
        chain = {b.header.epoch_hash(): b for b in self.genuine.values()}
        entries: list[Bundle] = []
        cursor = anchor_bundle.header.previous
        while len(entries) < depth and cursor in chain:
            entries.insert(0, chain[cursor])
            cursor = chain[cursor].header.previous
        if not entries:
            return
        ring = self.rings[attacker]
        shared = []
        for bundle in entries:
            held = ring.record(ROOM, bundle.header.epoch) if bundle.header.epoch in ring.epochs(ROOM) else None
            key = held.key if held is not None and held.header_bytes == bundle.header.to_bytes() else None
            shared.append(SharedEpoch(bundle.header.to_bytes(), key, tuple(m.entry for m in bundle.members)))
        first = entries[0]
        if lie == "key":
            shared[0] = SharedEpoch(shared[0].header_bytes, RoomKey.generate(room_id=ROOM, epoch=first.header.epoch,
                                                                             suite=first.header.suite),
                                    shared[0].roster)
        elif lie == "roster" and shared[0].key is not None:
            server = RosterEntry.of(PEOPLE["server"].public, first.members[0].entry.wrapped_digest)
            shared[0] = SharedEpoch(shared[0].header_bytes, shared[0].key, (server, *shared[0].roster[1:]))
        elif lie == "header":
            invented = build_bundle(PEOPLE[attacker], RoomKey.generate(room_id=ROOM, epoch=first.header.epoch),
                                    [PEOPLE[n].public for n in (attacker, "server")], kem=first.header.kem,
                                    issued_at=0, plan=Plan(first.header.previous, first.header.policy,
                                                           ((attacker, FINGERPRINT[attacker]),)))
            shared[0] = SharedEpoch(invented.header.to_bytes(), RoomKey.generate(
                room_id=ROOM, epoch=first.header.epoch), tuple(m.entry for m in invented.members))
        else:
            lie = "none"
        if all(s.key is None for s in shared) and lie == "none":
            return
        try:
            history = build_history(PEOPLE[attacker], PEOPLE[who].public, shared, room_id=ROOM,
                                    anchor_epoch=anchor_bundle.header.epoch, kem=anchor_bundle.header.kem,
                                    issued_at=0, sharer_proof=anchor_bundle.proof_for(attacker))
        except DomviaError:
            return
        self.histories.append((history, lie == "none"))
        ring = self.rings[who]
        before = _snapshot(ring)
        try:
            ring.accept(history.to_bytes())
        except DomviaError:
            assert _snapshot(ring) == before
        else:
            assert lie == "none", f"{who} accepted history with an invented {lie}"

    # -- invariants ------------------------------------------------------------------------------

    @invariant()
    def honest_rings_hold_only_the_genuine_chain(self) -> None:
        for name in HONEST:
            ring = self.rings[name]
            epochs = ring.epochs(ROOM)
            assert epochs == list(range(epochs[0], epochs[0] + len(epochs))) if epochs else True
            previous = None
            for epoch in epochs:
                record = ring.record(ROOM, epoch)
                bundle = self.genuine.get(record.header_bytes)
                assert bundle is not None, f"{name} holds epoch {epoch} signed by {record.header.rotator_id}"
                assert record.header.rotator_id not in ATTACKERS
                if previous is not None:
                    assert record.header.previous == previous.header.epoch_hash()
                    assert previous.header.is_admin(record.header.rotator_id, FINGERPRINT[record.header.rotator_id])
                signed = {m.participant_id: m.entry.fingerprint for m in bundle.members}
                held = {i: e.fingerprint for i, e in record.roster.items()}
                assert held.items() <= signed.items(), f"{name}'s roster of epoch {epoch} lists a non-member"
                assert held == signed if record.complete else True
                if record.key is not None:
                    assert bytes(record.key) == self.keys[record.header_bytes]
                    assert bundle.index_of(name) is not None or record.source == "history"
                previous = record

    @invariant()
    def honest_rings_agree_below_any_shared_header(self) -> None:
        chains = {n: {e: self.rings[n].record(ROOM, e).header_bytes for e in self.rings[n].epochs(ROOM)}
                  for n in HONEST}
        for a in HONEST:
            for b in HONEST:
                if a >= b:
                    continue
                common = sorted(chains[a].keys() & chains[b].keys())
                same = [e for e in common if chains[a][e] == chains[b][e]]
                if same:
                    top = max(same)
                    assert all(chains[a][e] == chains[b][e] for e in common if e <= top), \
                        f"{a} and {b} share epoch {top} but not the chain below it"

    @invariant()
    def fork_evidence_verifies_on_its_own(self) -> None:
        for name in HONEST:
            for evidence in self.rings[name].forks(ROOM):
                held = _verify_announcement(evidence.held)
                if evidence.kind == "message":
                    sealed = SealedMessage.parse(evidence.other)
                    sender = RosterEntry.read(Reader(evidence.sender), "sender", None)
                    assert sealed.signature is not None and sealed.key_id != held.key_id
                    curves.verify(sender.ed25519, sealed.signature, labels.SIG_MESSAGE + sealed.signed_part)
                else:
                    other = _verify_announcement(evidence.other)
                    assert other.to_bytes() != held.to_bytes()
                    assert other.epoch == held.epoch if evidence.kind == "header" else other.epoch == held.epoch + 1

    @invariant()
    def holders_of_the_latest_key_open_its_honest_messages(self) -> None:
        for name in HONEST:
            ring = self.rings[name]
            latest = ring.latest_epoch(ROOM)
            record = None if latest is None else ring.record(ROOM, latest)
            if record is None or record.key is None:
                continue
            for sent in self.sent:
                if not sent.honest or sent.sealed.epoch != latest or not record.key.matches(sent.sealed.key_id):
                    continue
                if record.member(sent.sender) is None:     # a slice: the server serves the sender's proof
                    proof = self.genuine[record.header_bytes].proof_for(sent.sender)
                    ring.accept(MemberProofFile(ROOM, latest, proof).to_bytes())
                assert ring.open(sent.sealed.to_bytes(), check_replay=False).plaintext == sent.text


GroupUnderAttack.TestCase.settings = settings(max_examples=30, stateful_step_count=25, deadline=None,
                                              suppress_health_check=[HealthCheck.too_slow])
TestGroupUnderAttack = GroupUnderAttack.TestCase
