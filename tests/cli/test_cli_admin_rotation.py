"""Only admins rotate by default: it is signed state (the header's flags), shown, and kept.
`--admin-rotation` is gone; `room create --members-may-rotate` opts out. (That a member who is no
admin is refused is also tested on the library in tests/test_authority.py.)"""

from __future__ import annotations

from .helpers import ALICE, STATE, Cli, World, new_identity, unauthorised_rotation_by


def test_admin_rotation_is_the_default_and_admin_rotations_pass(world: World) -> None:
    cli = world.cli
    shown = cli("keyring", "show", "-I", "bob.id", "--json").json()
    assert shown["rooms"][0]["members_may_rotate"] is False
    assert "  admins: alice (only admins rotate)" in cli("keyring", "show", "-I", "bob.id").out.splitlines()
    assert world.room_show()["policy"]["members_may_rotate"] is False
    cli("room", "rotate", *ALICE, *STATE, "--bundle-out", "b2.bin")
    assert cli("keyring", "accept", "-I", "bob.id", "b2.bin").out == "accepted bundle for room room-42: epoch 2\n"


def test_a_member_who_is_no_admin_is_refused_by_default(world: World) -> None:
    cli = world.cli
    unauthorised_rotation_by(cli, "bob", "room-42", "b2-bob.bin")
    before = cli.snapshot()
    refused = cli("keyring", "accept", "-I", "carol.id", "b2-bob.bin", "--json", expect=1)
    assert refused.json()["error"] == {"code": "E_UNAUTHORIZED", "hint": None,
                                       "message": "b2-bob.bin: rejected: 'bob' is not an admin of epoch 1"}
    assert cli.snapshot() == before


def test_the_old_admin_rotation_flag_is_gone(world: World) -> None:
    result = world.cli("keyring", "accept", "-I", "bob.id", "--admin-rotation", "b1.bin", expect=2)
    assert result.lines[0] == "domvia-e2ee: error: unrecognized arguments: --admin-rotation"


def test_members_may_rotate_is_an_explicit_choice_at_creation(cli: Cli) -> None:
    for name in ("alice", "bob", "carol"):
        new_identity(cli, name)
    cli("room", "create", "-I", "alice.id", *STATE, "--room", "room-9", "--member", "bob.pub", "--member", "carol.pub",
        "--members-may-rotate", "--bundle-out", "e1.bin")
    for name in ("bob", "carol"):
        cli("keyring", "accept", "-I", f"{name}.id", "--room", "room-9", "--admin", "alice.pub", "e1.bin")
    room = cli("keyring", "show", "-I", "bob.id", "--json").json()["rooms"][0]
    assert room["members_may_rotate"] is True
    assert "  admins: alice" in cli("keyring", "show", "-I", "bob.id").out.splitlines()
    assert cli("room", "show", "-I", "alice.id", *STATE, "--json").json()["policy"]["members_may_rotate"] is True
    # bob is a member of epoch 1, which lets members rotate: carol accepts his epoch 2.
    unauthorised_rotation_by(cli, "bob", "room-9", "e2-bob.bin")
    accepted = cli("keyring", "accept", "-I", "carol.id", "e2-bob.bin")
    assert accepted.out == "accepted bundle for room room-9: epoch 2\n"
