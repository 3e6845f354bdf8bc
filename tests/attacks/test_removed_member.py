"""Attack: a removed member reads (or rotates) after its removal.

Sources: Rösler, Mainka and Schwenk, "More is Less: On the End-to-End Security of Group Chats in
Signal, WhatsApp, and Threema" (EuroS&P 2018), which treats a removed member's continued access to
group messages as a break of the group's confidentiality; Albrecht, Celi, Dowling and Jones,
"Practically-exploitable Cryptographic Vulnerabilities in Matrix" (IEEE S&P 2023, disclosed 2022),
where key sharing outside the membership the clients had verified let parties read what they should not.

Why it fails here: removal always rotates (Room.remove), the new epoch's key is fresh randomness,
not derived from any earlier key, and it is wrapped only to the remaining members. The removed
member has no leaf in the new member tree, so no slice of the new epoch is for it: the bundle or
announcement only keeps its chain (a "link" epoch without a key, where opening is E_NOT_MEMBER). It
cannot authorise a later rotation: only admins of the epoch before rotate (or, in rooms whose admins
allow it, members of the epoch before). What stays possible is documented in spec/threat-model.md:
reading the epochs it was legitimately a member of, and, in member-rotated rooms only, racing its own
removal with a rotation of its own ("concurrent rotations"), which honest members see as a fork.
"""

from __future__ import annotations

import pytest

from domvia_e2ee import Bundle, RoomPolicy, open_unsigned, seal
from domvia_e2ee.hazmat import kdf
from domvia_e2ee.wrap import unwrap

from .scenario import ROOM, Scenario, error_code, held_key, next_bundle, room_key, scenario, state

NAMES = ("alice", "bob", "carol")


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
    for member in ("alice", "bob"):
        assert error_code(s.rings["carol"].accept, bundle.slice_for(member).to_bytes()) == "E_NOT_RECIPIENT"
    with pytest.raises(KeyError):
        bundle.slice_for("carol")
    assert state(s.rings["carol"]) == before
    # The bundle (or the announcement) keeps her chain, and gives her no key: a link epoch.
    accepted = s.rings["carol"].accept(bundle.to_bytes())
    assert (accepted.epochs, accepted.kind) == ((2,), "link")
    assert held_key(s.rings["carol"], 2) is None
    assert error_code(s.rings["carol"].seal, ROOM, b"still here?") == "E_NOT_MEMBER"


def test_removed_member_cannot_unwrap_any_leaf() -> None:
    s, bundle = _removed()
    header = bundle.header
    for member in bundle.members:
        assert error_code(unwrap, s.people["carol"], member.wrapped, kem=header.kem, suite=header.suite,
                          room_id=ROOM, epoch=header.epoch, key_id=header.key_id) == "E_AUTH"


def test_removed_member_cannot_read_after_removal() -> None:
    s, bundle = _removed()
    after = s.rings["alice"].seal(ROOM, b"carol is gone", message_id="m-after")
    assert s.rings["bob"].open(after).plaintext == b"carol is gone"
    assert error_code(s.rings["carol"].open, after.to_bytes()) == "E_UNKNOWN_KEY"
    assert error_code(s.rings["carol"].open, after.to_json()) == "E_UNKNOWN_KEY"
    # Once she holds epoch 2 as a link, it is "not a member then".
    assert s.rings["carol"].accept(bundle.announcement().to_bytes()).kind == "link"
    assert error_code(s.rings["carol"].open, after.to_bytes()) == "E_NOT_MEMBER"
    # Her old key does not open it either: the message names epoch 2's key id.
    old_key = held_key(s.rings["carol"], 1)
    assert error_code(open_unsigned, old_key, after) == "E_UNKNOWN_KEY"



def test_new_epoch_key_is_not_derived_from_the_old_one() -> None:
    """Fresh randomness per epoch: nothing carol can compute from epoch 1's key gives epoch 2's."""
    s, _ = _removed()
    old = bytes(held_key(s.rings["carol"], 1))  # type: ignore[arg-type]
    new = bytes(held_key(s.rings["bob"], 2))  # type: ignore[arg-type]
    assert new != old
    assert new not in {kdf.extract(old, b""), kdf.expand(kdf.extract(b"", old), b"", 32), old[::-1]}


@pytest.mark.parametrize("policy", [None, RoomPolicy(members_may_rotate=True)], ids=["admins", "members"])
def test_removed_member_cannot_rotate_afterwards(policy: RoomPolicy | None) -> None:
    """carol signs an epoch-3 bundle on top of epoch 2 with her proof of epoch 1 membership: she is no
    admin, and not a member of epoch 2, so she has no authority even where members may rotate."""
    s = scenario(policy=policy)
    second = s.room.remove(["carol"]).bundle
    s.deliver(second, "bob", "carol")
    third = next_bundle(s, room_key(3, label="carol"), NAMES, rotator="carol", chain="carol",
                        authority=s.bundles[1].proof_for("carol"))
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
    leaked = held_key(s.rings["bob"], 2)
    forged = seal(leaked, b"I am still here", message_id="m-carol", sender=s.people["carol"])
    assert error_code(s.rings["alice"].open, forged) == "E_UNAUTHORIZED"
    # bob accepted the full bundle, so he knows epoch 2's roster too.
    assert error_code(s.rings["bob"].open, forged) == "E_UNAUTHORIZED"


def test_racing_the_removal_is_refused_where_only_admins_rotate() -> None:
    """The known limit (spec/threat-model.md, "Concurrent rotations"): carol, still a member of epoch 1,
    signs her own epoch 2 before alice's removal arrives. In a default (admin-governed) room hers is
    refused, as bundle and as slice; where members may rotate, whichever comes first is taken and the
    other is a fork that the member detects, with evidence."""
    s = scenario()
    racing = next_bundle(s, room_key(2, label="carol"), NAMES, rotator="carol", authority=s.bundles[1].proof_for("carol"))
    strict = s.rings["bob"]
    before = state(strict)
    for form in (racing.to_bytes(), racing.slice_for("bob").to_bytes()):
        assert error_code(strict.accept, form) == "E_UNAUTHORIZED"
    assert state(strict) == before
    removal = s.room.remove(["carol"]).bundle
    strict.accept(removal.slice_for("bob").to_bytes())
    assert held_key(strict, 2) == held_key(s.rings["alice"], 2)
    # Where members may rotate, the race is won by whoever arrives first: the documented limit.
    lenient = scenario(policy=RoomPolicy(members_may_rotate=True))
    racing = next_bundle(lenient, room_key(2, label="carol"), NAMES, rotator="carol",
                         authority=lenient.bundles[1].proof_for("carol"))
    lenient.deliver(racing, "bob")
    assert held_key(lenient.rings["bob"], 2) == room_key(2, label="carol")
    removal = lenient.room.remove(["carol"]).bundle
    assert error_code(lenient.rings["bob"].accept, removal.to_bytes()) == "E_FORK"
    assert [e.kind for e in lenient.rings["bob"].forks(ROOM)] == ["header"]
