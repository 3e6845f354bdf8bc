"""Attack: a rotator gives different members different keys for one epoch (partitioning).

Sources: key-distribution equivocation in group messaging: a malicious sharer hands some members one
key and others another, so that they see different conversations, or so that an outsider-chosen
subset can read. Albrecht, Celi, Dowling and Jones, "Practically-exploitable Cryptographic
Vulnerabilities in Matrix" (IEEE S&P 2023, disclosed 2022) exploit Matrix's unauthenticated key
distribution; agreement of all members on the group's state and key is a stated goal of MLS (RFC 9420).

Why it fails here: the key id, an HKDF commitment to (secret, suite, room, epoch), is in the signed
bundle header, and every recipient checks the key it unwraps against it (wrap.unwrap). HPKE's info
also binds the key id, so a key wrapped for another header does not even decrypt. So one signed
bundle gives every member who accepts it the same key. A rotator who signs two headers for one
epoch (equivocation) is the "concurrent rotations" limit of spec/threat-model.md: it cannot be
prevented without a total order, but it is never silent: each side's signed messages name a key id
the other does not hold for that epoch, so they fail with E_FORK (never read under the wrong key),
the other header is refused with E_FORK too, and each refusal keeps self-contained evidence
(spec/keyring.md, "Forks"). Members on the other branch rejoin explicitly.
"""

from __future__ import annotations

import dataclasses

from core_helpers import forge_bundle

from domvia_e2ee import PublicIdentity
from domvia_e2ee.hazmat import hpke
from domvia_e2ee.labels import INFO_WRAP
from domvia_e2ee.wrap import WrapKem, wrap, wrap_info

from .scenario import ROOM, error_code, held_key, next_bundle, publics, room_key, scenario, signed_bundle, state


def test_one_bundle_with_a_different_key_for_bob_is_refused_by_bob() -> None:
    """alice signs a bundle whose header commits to key K, but bob's leaf wraps key K'."""
    s = scenario()
    new, other = room_key(2), room_key(2, label="for bob only")
    members = publics(s, "alice", "bob", "carol")
    wrapped = [wrap(other if p.participant_id == "bob" else new, p, WrapKem.X25519) for p in members]
    bundle = signed_bundle(s.people["alice"], new, members, wrapped, chain=s.rings["alice"])
    before = state(s.rings["bob"])
    assert error_code(s.rings["bob"].accept, bundle.to_bytes()) == "E_AUTH"
    assert error_code(s.rings["bob"].accept, bundle.slice_for("bob").to_bytes()) == "E_AUTH"
    assert state(s.rings["bob"]) == before
    s.deliver(bundle, "carol")
    assert held_key(s.rings["carol"], 2) == new


def test_wrap_made_for_the_signed_key_id_but_carrying_another_key() -> None:
    """The strongest form: the HPKE info names the header's key id, so HPKE decrypts; the unwrapped
    secret is checked against the key id anyway, and refused."""
    s = scenario()
    new, other = room_key(2), room_key(2, label="for bob only")
    members = publics(s, "alice", "bob", "carol")

    def wrap_for(p: PublicIdentity) -> bytes:
        if p.participant_id != "bob":
            return wrap(new, p, WrapKem.X25519)
        info = wrap_info(INFO_WRAP, WrapKem.X25519, new.suite, ROOM, 2, new.key_id, "bob")
        return hpke.seal_base(p.x25519, info, bytes(other))

    bundle = signed_bundle(s.people["alice"], new, members, [wrap_for(p) for p in members], chain=s.rings["alice"])
    assert error_code(s.rings["bob"].accept, bundle.to_bytes()) == "E_AUTH"
    assert s.rings["bob"].epochs(ROOM) == [1]


def test_two_signed_bundles_for_one_epoch_fork_loudly() -> None:
    """Equivocation: alice signs epoch 2 twice and the server gives bob one and carol the other."""
    s = scenario()
    names = ("alice", "bob", "carol")
    for_bob = next_bundle(s, room_key(2, label="x"), names)
    for_carol = next_bundle(s, room_key(2, label="y"), names)
    s.deliver(for_bob, "bob")
    s.deliver(for_carol, "carol")
    assert held_key(s.rings["bob"], 2).key_id != held_key(s.rings["carol"], 2).key_id  # type: ignore[union-attr]
    # Each side's messages are refused by the other as a fork, never misread, and the evidence is kept.
    from_bob = s.rings["bob"].seal(ROOM, b"bob in fork x", message_id="m-1")
    from_carol = s.rings["carol"].seal(ROOM, b"carol in fork y", message_id="m-2")
    assert error_code(s.rings["carol"].open, from_bob) == "E_FORK"
    assert error_code(s.rings["bob"].open, from_carol) == "E_FORK"
    assert [e.kind for e in s.rings["carol"].forks(ROOM)] == ["message"]
    assert s.rings["carol"].forks(ROOM)[0].other == from_bob.to_bytes()
    # The other fork's bundle cannot replace the one held: it is a fork of the header, with evidence.
    with_evidence = len(s.rings["bob"].forks(ROOM))
    assert error_code(s.rings["bob"].accept, for_carol.to_bytes()) == "E_FORK"
    assert len(s.rings["bob"].forks(ROOM)) == with_evidence + 1
    assert held_key(s.rings["bob"], 2) == room_key(2, label="x")
    # An admin rotation on one branch heals it: bob follows; carol's chain refuses it (E_FORK) until
    # she rejoins on purpose, as a join from the admin she trusts.
    third = forge_bundle(s.people["alice"], room_key(3), [s.people[n].public for n in names],
                         previous=for_bob.header.epoch_hash(), admins=for_bob.header.admins)
    s.deliver(third, "bob")
    assert error_code(s.rings["carol"].accept, third.to_bytes()) == "E_FORK"
    carol = s.rings["carol"]
    carol.forget_room(ROOM)
    carol.trust_admin(ROOM, s.people["alice"].public)
    s.deliver(third, "carol")
    assert held_key(s.rings["bob"], 3) == held_key(s.rings["carol"], 3)


def test_leaf_of_another_member_cannot_be_swapped_into_a_signed_tree() -> None:
    """A server that got two signed bundles cannot mix their leaves: each leaf is under its own root."""
    s = scenario()
    names = ("alice", "bob", "carol")
    x = next_bundle(s, room_key(2, label="x"), names)
    y = next_bundle(s, room_key(2, label="y"), names)
    mixed = dataclasses.replace(x.slice_for("bob"), member=y.slice_for("bob").member)
    assert error_code(s.rings["bob"].accept, mixed.to_bytes()) == "E_AUTH"
    mixed_members = tuple(y.members[i] if m.participant_id == "bob" else m for i, m in enumerate(x.members))
    assert error_code(s.rings["bob"].accept, dataclasses.replace(x, members=mixed_members).to_bytes()) == "E_AUTH"
    assert error_code(s.rings["bob"].accept, dataclasses.replace(x, members=mixed_members)) == "E_AUTH"
