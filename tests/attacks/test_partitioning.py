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
prevented without a total order, but it is never silent: each side's messages name a key id the
other does not hold, so they fail with E_UNKNOWN_KEY rather than being read under the wrong key,
and the second bundle is refused as stale.
"""

from __future__ import annotations

import dataclasses

from domvia_e2ee import PublicIdentity
from domvia_e2ee.bundle import build_bundle
from domvia_e2ee.hazmat import hpke
from domvia_e2ee.labels import INFO_WRAP
from domvia_e2ee.wrap import WrapKem, wrap, wrap_info

from .scenario import ROOM, error_code, publics, room_key, scenario, signed_bundle, state


def test_one_bundle_with_a_different_key_for_bob_is_refused_by_bob() -> None:
    """alice signs a bundle whose header commits to key K, but bob's leaf wraps key K'."""
    s = scenario()
    key, other = room_key(2), room_key(2, label="for bob only")
    members = publics(s, "alice", "bob", "carol")
    wrapped = [wrap(other if p.participant_id == "bob" else key, p, WrapKem.X25519) for p in members]
    bundle = signed_bundle(s.people["alice"], key, members, wrapped, proof=s.room.own_proof)
    before = state(s.rings["bob"])
    assert error_code(s.rings["bob"].accept, bundle.to_bytes()) == "E_AUTH"
    assert error_code(s.rings["bob"].accept, bundle.slice_for("bob").to_bytes()) == "E_AUTH"
    assert state(s.rings["bob"]) == before
    s.deliver(bundle, "carol")
    assert s.rings["carol"].key(ROOM, 2) == key


def test_wrap_made_for_the_signed_key_id_but_carrying_another_key() -> None:
    """The strongest form: the HPKE info names the header's key id, so HPKE decrypts; the unwrapped
    secret is checked against the key id anyway, and refused."""
    s = scenario()
    key, other = room_key(2), room_key(2, label="for bob only")
    members = publics(s, "alice", "bob", "carol")

    def wrap_for(p: PublicIdentity) -> bytes:
        if p.participant_id != "bob":
            return wrap(key, p, WrapKem.X25519)
        info = wrap_info(INFO_WRAP, WrapKem.X25519, key.suite, ROOM, 2, key.key_id, "bob")
        return hpke.seal_base(p.x25519, info, bytes(other))

    bundle = signed_bundle(s.people["alice"], key, members, [wrap_for(p) for p in members], proof=s.room.own_proof)
    assert error_code(s.rings["bob"].accept, bundle.to_bytes()) == "E_AUTH"
    assert s.rings["bob"].epochs(ROOM) == [1]


def test_two_signed_bundles_for_one_epoch_fork_loudly() -> None:
    """Equivocation: alice signs epoch 2 twice and the server gives bob one and carol the other."""
    s = scenario()
    members = [s.people[n].public for n in ("alice", "bob", "carol")]
    for_bob = build_bundle(s.people["alice"], room_key(2, label="x"), members, kem=WrapKem.X25519, issued_at=0,
                           proof=s.room.own_proof)
    for_carol = build_bundle(s.people["alice"], room_key(2, label="y"), members, kem=WrapKem.X25519, issued_at=0,
                             proof=s.room.own_proof)
    s.deliver(for_bob, "bob")
    s.deliver(for_carol, "carol")
    assert s.rings["bob"].key(ROOM, 2).key_id != s.rings["carol"].key(ROOM, 2).key_id
    # Each side's messages are refused by the other as sealed under a key it does not hold, never misread.
    from_bob = s.rings["bob"].seal(ROOM, b"bob in fork x", message_id="m-1")
    from_carol = s.rings["carol"].seal(ROOM, b"carol in fork y", message_id="m-2")
    assert error_code(s.rings["carol"].open, from_bob) == "E_UNKNOWN_KEY"
    assert error_code(s.rings["bob"].open, from_carol) == "E_UNKNOWN_KEY"
    # The other fork's bundle cannot replace the one held.
    assert error_code(s.rings["bob"].accept, for_carol.to_bytes()) == "E_STALE"
    # A rotation from either side heals the fork for everyone the rotator includes.
    third = build_bundle(s.people["alice"], room_key(3), members, kem=WrapKem.X25519, issued_at=0,
                         proof=for_bob.proof_for("alice"))
    s.deliver(third, "bob", "carol")
    assert s.rings["bob"].key(ROOM, 3) == s.rings["carol"].key(ROOM, 3)


def test_leaf_of_another_member_cannot_be_swapped_into_a_signed_tree() -> None:
    """A server that got two signed bundles cannot mix their leaves: each leaf is under its own root."""
    s = scenario()
    members = [s.people[n].public for n in ("alice", "bob", "carol")]
    x = build_bundle(s.people["alice"], room_key(2, label="x"), members, kem=WrapKem.X25519, issued_at=0,
                     proof=s.room.own_proof)
    y = build_bundle(s.people["alice"], room_key(2, label="y"), members, kem=WrapKem.X25519, issued_at=0,
                     proof=s.room.own_proof)
    mixed = dataclasses.replace(x.slice_for("bob"), member=y.slice_for("bob").member)
    assert error_code(s.rings["bob"].accept, mixed.to_bytes()) == "E_AUTH"
    mixed_members = tuple(y.members[i] if m.participant_id == "bob" else m for i, m in enumerate(x.members))
    assert error_code(s.rings["bob"].accept, dataclasses.replace(x, members=mixed_members).to_bytes()) == "E_AUTH"
