"""Attack: a removed member reads (or rotates) after its removal.

Sources: Rösler, Mainka and Schwenk, "More is Less: On the End-to-End Security of Group Chats in
Signal, WhatsApp, and Threema" (EuroS&P 2018), which treats a removed member's continued access to
group messages as a break of the group's confidentiality; Albrecht, Celi, Dowling and Jones,
"Practically-exploitable Cryptographic Vulnerabilities in Matrix" (IEEE S&P 2023, disclosed 2022),
where key sharing outside the membership the clients had verified let parties read what they should not.

Why it fails here: removal always rotates (Room.remove), the new epoch's key is fresh randomness,
not derived from any earlier key, and it is wrapped only to the remaining members. The removed
member has no leaf in the new member tree, so no bundle or slice of the new epoch is for it, and it
cannot authorise a later rotation: authority comes from membership of the epoch before. What stays
possible is documented in spec/threat-model.md: reading the epochs it was legitimately a member of,
and racing its own removal with a rotation of its own ("concurrent rotations").
"""

from __future__ import annotations

import pytest

from domvia_e2ee import open_unsigned, seal
from domvia_e2ee.bundle import Bundle, build_bundle
from domvia_e2ee.hazmat import kdf
from domvia_e2ee.wrap import unwrap

from .scenario import ROOM, Scenario, error_code, room_key, scenario, state


def _removed() -> tuple[Scenario, Bundle]:
    s = scenario()
    rotation = s.room.remove(["carol"])
    s.deliver(rotation.bundle, "bob")
    return s, rotation.bundle


def test_removal_rotates_and_the_new_bundle_is_not_for_the_removed_member() -> None:
    s, bundle = _removed()
    assert bundle.header.epoch == 2
    assert "carol" not in [m.participant_id for m in bundle.members]
    before = state(s.rings["carol"])
    assert error_code(s.rings["carol"].accept, bundle.to_bytes()) == "E_NOT_RECIPIENT"
    for member in ("alice", "bob"):
        assert error_code(s.rings["carol"].accept, bundle.slice_for(member).to_bytes()) == "E_NOT_RECIPIENT"
    with pytest.raises(KeyError):
        bundle.slice_for("carol")
    assert state(s.rings["carol"]) == before


def test_removed_member_cannot_unwrap_any_leaf() -> None:
    s, bundle = _removed()
    header = bundle.header
    for member in bundle.members:
        assert error_code(unwrap, s.people["carol"], member.wrapped, kem=header.kem, suite=header.suite,
                          room_id=ROOM, epoch=header.epoch, key_id=header.key_id) == "E_AUTH"


def test_removed_member_cannot_read_after_removal() -> None:
    s, _ = _removed()
    after = s.rings["alice"].seal(ROOM, b"carol is gone", message_id="m-after")
    assert s.rings["bob"].open(after).plaintext == b"carol is gone"
    assert error_code(s.rings["carol"].open, after.to_bytes()) == "E_UNKNOWN_KEY"
    assert error_code(s.rings["carol"].open, after.to_json()) == "E_UNKNOWN_KEY"
    # Her old key does not open it either: the message names epoch 2's key id.
    old_key = s.rings["carol"].key(ROOM, 1)
    assert error_code(open_unsigned, old_key, after) == "E_UNKNOWN_KEY"


def test_new_epoch_key_is_not_derived_from_the_old_one() -> None:
    """Fresh randomness per epoch: nothing carol can compute from epoch 1's key gives epoch 2's."""
    s, _ = _removed()
    old = bytes(s.rings["carol"].key(ROOM, 1))
    new = bytes(s.rings["bob"].key(ROOM, 2))
    assert new != old
    assert new not in {kdf.extract(old, b""), kdf.expand(kdf.extract(b"", old), b"", 32), old[::-1]}


def test_removed_member_cannot_rotate_afterwards() -> None:
    """carol signs an epoch-3 bundle with her proof of epoch 1 membership: bob holds epoch 2, which she
    was not in, so she has no authority."""
    s, second = _removed()
    carol = s.people["carol"]
    proof = s.bundles[1].proof_for("carol")
    members = [s.people[n].public for n in ("alice", "bob", "carol")]
    third = build_bundle(carol, room_key(3, label="carol"), members, kem=s.room.kem, issued_at=0, proof=proof)
    before = state(s.rings["bob"])
    assert error_code(s.rings["bob"].accept, third.to_bytes()) == "E_UNAUTHORIZED"
    assert error_code(s.rings["bob"].accept, third.slice_for("bob").to_bytes()) == "E_UNAUTHORIZED"
    assert state(s.rings["bob"]) == before
    assert second.header.epoch == 2


def test_removed_member_cannot_come_back_through_an_old_bundle() -> None:
    s, _ = _removed()
    assert error_code(s.rings["bob"].accept, s.bundles[1].to_bytes()) == "E_STALE"


def test_removed_member_signing_in_the_new_epoch_is_not_a_member() -> None:
    """Even given epoch 2's key by a colluding member, carol's signed message is from a non-member."""
    s, _ = _removed()
    leaked = s.rings["bob"].key(ROOM, 2)
    forged = seal(leaked, b"I am still here", message_id="m-carol", sender=s.people["carol"])
    assert error_code(s.rings["alice"].open, forged) == "E_UNAUTHORIZED"
    # bob accepted the full bundle, so he knows epoch 2's roster too.
    assert error_code(s.rings["bob"].open, forged) == "E_UNAUTHORIZED"


def test_racing_the_removal_is_refused_where_only_admins_rotate() -> None:
    """The known limit (spec/threat-model.md, "Concurrent rotations"): carol, still a member of epoch 1,
    signs her own epoch 2 before alice's removal arrives. A key ring that lets members rotate takes
    whichever comes first; one that requires admin rotation refuses hers, as bundle and as slice."""
    s = scenario()
    carol = s.people["carol"]
    members = [s.people[n].public for n in ("alice", "bob", "carol")]
    racing = build_bundle(carol, room_key(2, label="carol"), members, kem=s.room.kem, issued_at=0,
                          proof=s.bundles[1].proof_for("carol"))
    strict = s.rings["bob"]
    strict.require_admin_rotation(ROOM)
    before = state(strict)
    for form in (racing.to_bytes(), racing.slice_for("bob").to_bytes()):
        assert error_code(strict.accept, form) == "E_UNAUTHORIZED"
    assert state(strict) == before
    removal = s.room.remove(["carol"]).bundle
    strict.accept(removal.slice_for("bob").to_bytes())
    assert strict.key(ROOM, 2) == s.rings["alice"].key(ROOM, 2)
    # Where members may rotate, the race is won by whoever arrives first: the documented limit.
    lenient = scenario()
    lenient.deliver(racing, "bob")
    assert lenient.rings["bob"].key(ROOM, 2) == room_key(2, label="carol")
