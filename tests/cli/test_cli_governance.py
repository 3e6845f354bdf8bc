"""Who governs a room is signed state: --admin is a join anchor bound to --room, `room admins` and
`room policy` rotate, `keyring forks` shows two signed histories, and non-members keep the chain as links."""

from __future__ import annotations

import base64
import os

from domvia_e2ee import Announcement, Bundle

from .helpers import (
    ALICE, STATE, Cli, World, announcement_of, new_identity, rotation_by, unauthorised_rotation_by,
)

ANCHOR_REFUSED = ["domvia-e2ee: error: bob.keyring: already holds room 'room-42': its admins come from the signed "
                  "chain, not from --admin", "domvia-e2ee: hint: accept the file without --admin"]


def unlocked(files: dict[str, bytes]) -> dict[str, bytes]:
    """A snapshot without the lock files, which a command may leave behind even when it changes nothing."""
    return {k: v for k, v in files.items() if not k.endswith(".lock")}


def with_dave(world: World) -> Cli:
    cli = world.cli
    new_identity(cli, "dave")
    cli("room", "add", *ALICE, *STATE, "dave.pub", "--bundle-out", "b2.bin")
    return cli


def test_admin_without_room_is_a_usage_error(world: World) -> None:
    cli = with_dave(world)
    before = cli.snapshot()
    result = cli("keyring", "accept", "-I", "dave.id", "--admin", "alice.pub", "b2.bin", expect=2)
    assert result.lines[0] == "domvia-e2ee: error: --admin needs --room: an admin is trusted for one room only"
    failed = cli("keyring", "accept", "-I", "dave.id", "--admin", "alice.pub", "b2.bin", "--json", expect=2).json()
    assert failed["error"]["code"] == "E_USAGE"
    assert cli.snapshot() == before and not cli.path("dave.keyring").exists()


def test_a_room_other_than_the_files_is_refused(world: World) -> None:
    cli = with_dave(world)
    before = cli.snapshot()
    result = cli("keyring", "accept", "-I", "dave.id", "--room", "room-43", "--admin", "alice.pub", "b2.bin", expect=1)
    assert result.lines == ["domvia-e2ee: error: b2.bin: is for room 'room-42', not 'room-43'",
                            "domvia-e2ee: hint: an invitation to another room than the one you meant: refuse it"]
    failed = cli("keyring", "accept", "-I", "dave.id", "--room", "room-43", "--admin", "alice.pub", "b2.bin", "--json",
                 expect=1).json()
    assert failed["error"]["code"] == "E_POLICY"
    assert cli.snapshot() == before and not cli.path("dave.keyring").exists()
    bad = cli("keyring", "accept", "-I", "dave.id", "--room", "room 42", "--admin", "alice.pub", "b2.bin", expect=2)
    assert bad.lines[0] == "domvia-e2ee: error: --room: must be 1-128 characters of [A-Za-z0-9._:@/+=-]"
    assert cli.snapshot() == before


def test_an_admin_anchor_for_a_held_room_is_refused(world: World) -> None:
    cli = with_dave(world)
    before = cli.snapshot()
    result = cli("keyring", "accept", "-I", "bob.id", "--room", "room-42", "--admin", "alice.pub", "b2.bin", expect=1)
    assert result.lines == ANCHOR_REFUSED
    # Not even an admin of another identity: once a room is held, only its chain decides.
    other = cli("keyring", "accept", "-I", "bob.id", "--room", "room-42", "--admin", "dave.pub", "b2.bin", "--json",
                expect=1).json()
    assert other["error"]["code"] == "E_POLICY"
    assert cli.snapshot() == before
    accepted = cli("keyring", "accept", "-I", "bob.id", "--room", "room-42", "b2.bin")
    assert accepted.out == "accepted bundle for room room-42: epoch 2\n"


def test_a_removed_admins_rotation_is_refused(world: World) -> None:
    cli = world.cli
    added = cli("room", "admins", *ALICE, *STATE, "alice", "bob", "--bundle-out", "b2.bin", "--json").json()
    assert (added["epoch"], added["admins"], added["members"]) == (2, ["alice", "bob"], ["alice", "bob", "carol"])
    for name in ("bob", "carol"):
        cli("keyring", "accept", "-I", f"{name}.id", "b2.bin")
    room = cli("keyring", "show", "-I", "carol.id", "--json").json()["rooms"][0]
    assert [a["id"] for a in room["admins"]] == ["alice", "bob"]
    removed = cli("room", "admins", *ALICE, *STATE, "alice", "--bundle-out", "b3.bin", "--json").json()
    assert (removed["epoch"], removed["admins"], removed["members"]) == (3, ["alice"], ["alice", "bob", "carol"])
    assert world.room_show()["admins"] == ["alice"]
    for name in ("bob", "carol"):
        cli("keyring", "accept", "-I", f"{name}.id", "b3.bin")
    # bob is still a member, but no admin of epoch 3: his epoch 4 is refused, and nothing changes.
    unauthorised_rotation_by(cli, "bob", "room-42", "b4-bob.bin")
    before = cli.snapshot()
    refused = cli("keyring", "accept", "-I", "carol.id", "b4-bob.bin", expect=1)
    assert refused.lines == ["domvia-e2ee: error: b4-bob.bin: rejected: 'bob' is not an admin of epoch 3"]
    failed = cli("keyring", "accept", "-I", "carol.id", "b4-bob.bin", "--json", expect=1).json()
    assert failed["error"]["code"] == "E_UNAUTHORIZED"
    assert cli.snapshot() == before
    assert [e["epoch"] for e in cli("keyring", "show", "-I", "carol.id", "--json").json()["rooms"][0]["epochs"]] \
        == [1, 2, 3]


def test_room_admins_must_be_members(world: World) -> None:
    cli = world.cli
    before = cli.snapshot()
    result = cli("room", "admins", *ALICE, *STATE, "alice", "zed", expect=1)
    assert result.lines == ["domvia-e2ee: error: room.state: admins must be members: ['zed']"]
    assert cli.snapshot() == before


def test_a_downgrade_needs_allow_downgrade_and_members_see_it(cli: Cli) -> None:
    for name in ("alice", "bob"):
        cli("identity", "new", "--id", name, "-o", f"{name}.id", "--public-out", f"{name}.pub", "--post-quantum")
    cli("room", "create", "-I", "alice.id", *STATE, "--room", "room-42", "--member", "bob.pub", "--post-quantum",
        "--bundle-out", "b1.bin")
    cli("keyring", "accept", "-I", "bob.id", "--room", "room-42", "--admin", "alice.pub", "b1.bin")
    before = cli.snapshot()
    refused = cli("room", "policy", "-I", "alice.id", *STATE, "--wrapping", "classic", "--bundle-out", "b2.bin",
                  expect=1)
    assert refused.lines == ["domvia-e2ee: error: room.state: going from post-quantum to classic wrapping is a "
                             "downgrade",
                             "domvia-e2ee: hint: pass --allow-downgrade if it is meant; members see the downgrade in "
                             "the header"]
    failed = cli("room", "policy", "-I", "alice.id", *STATE, "--wrapping", "classic", "--json", expect=1).json()
    assert failed["error"]["code"] == "E_POLICY"
    assert cli.snapshot() == before and not cli.path("b2.bin").exists()
    done = cli("room", "policy", "-I", "alice.id", *STATE, "--wrapping", "classic", "--allow-downgrade",
               "--bundle-out", "b2.bin", "--json").json()
    assert (done["epoch"], done["kem"], done["downgraded"]) == (2, "X25519", True)
    cli("keyring", "accept", "-I", "bob.id", "b2.bin")
    epochs = cli("keyring", "show", "-I", "bob.id", "--json").json()["rooms"][0]["epochs"]
    assert [(e["epoch"], e["kem"], e["downgrade"]) for e in epochs] == [(1, "MLKEM768_X25519", False),
                                                                        (2, "X25519", True)]
    # Back up to post-quantum is no downgrade; the next epoch's flag is clear again.
    up = cli("room", "policy", "-I", "alice.id", *STATE, "--wrapping", "post-quantum", "--json").json()
    assert (up["epoch"], up["kem"], up["downgraded"]) == (3, "MLKEM768_X25519", False)


def test_room_policy_changes_signed_limits_and_suite(world: World) -> None:
    cli = world.cli
    changed = cli("room", "policy", *ALICE, *STATE, "--max-messages", "5", "--max-age", "1h", "--suite", "XC20P",
                  "--bundle-out", "b2.bin", "--json").json()
    assert changed["policy"] == {"max_messages": 5, "max_age_seconds": 3600, "members_may_rotate": False}
    assert (changed["epoch"], changed["suite"], changed["downgraded"]) == (2, "XC20P", False)
    assert "policy:       rotate after 5 messages or 1h" in cli("room", "show", *ALICE, *STATE).out.splitlines()
    cli("keyring", "accept", "-I", "bob.id", "b2.bin")
    assert cli("keyring", "show", "-I", "bob.id", "--json").json()["rooms"][0]["epochs"][1]["suite"] == "XC20P"
    before = cli.snapshot()
    bad = cli("room", "policy", *ALICE, *STATE, "--max-messages", "0", expect=2)
    assert bad.lines[0] == "domvia-e2ee: error: max_messages: must be an integer from 1 to 4294967295"
    assert cli.snapshot() == before


def test_two_admins_rotating_at_once_leave_fork_evidence(cli: Cli) -> None:
    for name in ("alice", "bob", "carol"):
        new_identity(cli, name)
    cli("room", "create", "-I", "alice.id", *STATE, "--room", "room-42", "--member", "bob.pub", "--member",
        "carol.pub", "--admin", "bob", "--bundle-out", "b1.bin")
    for name in ("bob", "carol"):
        cli("keyring", "accept", "-I", f"{name}.id", "--room", "room-42", "--admin", "alice.pub", "b1.bin")
    assert cli("keyring", "forks", "-I", "carol.id", "--json").json() == {"ok": True, "forks": []}
    assert cli("keyring", "forks", "-I", "carol.id").out == "no fork evidence\n"
    cli("room", "rotate", "-I", "alice.id", *STATE, "--bundle-out", "b2.bin")
    rotation_by(cli, "bob", "room-42", "b2-bob.bin")  # bob, an admin of epoch 1 too, rotates at the same time
    cli("keyring", "accept", "-I", "carol.id", "b2.bin")
    kept = cli.path("carol.keyring").read_bytes()
    fork = cli("keyring", "accept", "-I", "carol.id", "b2-bob.bin", "--json", expect=1).json()
    assert fork["error"] == {"code": "E_FORK", "hint": None,
                             "message": "b2-bob.bin: rejected: fork in room 'room-42' at epoch 2 (header)"}
    assert cli.path("carol.keyring").read_bytes() != kept  # the evidence is kept ...
    shown = cli("keyring", "show", "-I", "carol.id", "--json").json()["rooms"][0]
    assert shown["forks"] == 1 and [e["epoch"] for e in shown["epochs"]] == [1, 2]  # ... and the chain is not changed
    assert shown["epochs"][1]["key_id"] == Bundle.from_bytes(cli.path("b2.bin").read_bytes()).header.key_id.hex()
    (evidence,) = cli("keyring", "forks", "-I", "carol.id", "--json").json()["forks"]
    assert (evidence["room"], evidence["epoch"], evidence["kind"], evidence["sender"]) == ("room-42", 2, "header", "")
    held, other = (Announcement.from_bytes(base64.urlsafe_b64decode(evidence[k] + "=" * (-len(evidence[k]) % 4)))
                   for k in ("held", "other"))
    assert (held.header.rotator_id, other.header.rotator_id) == ("alice", "bob")
    assert held.header.epoch == other.header.epoch == 2 and held.header.key_id != other.header.key_id
    assert "  FORK: 1 piece(s) of evidence: see `keyring forks`" in cli("keyring", "show", "-I", "carol.id").out
    text = cli("keyring", "forks", "-I", "carol.id", "--room", "room-42").out
    assert text.startswith("room room-42 epoch 2: two signed histories (header); evidence held=")
    again = cli("keyring", "accept", "-I", "carol.id", "b2-bob.bin", expect=1)  # the same evidence is kept once
    assert again.lines == ["domvia-e2ee: error: b2-bob.bin: rejected: fork in room 'room-42' at epoch 2 (header)"]
    assert len(cli("keyring", "forks", "-I", "carol.id", "--json").json()["forks"]) == 1


def test_a_removed_member_shown_an_announcement_keeps_the_chain_as_a_link(world: World) -> None:
    cli = world.cli
    removed = cli("room", "remove", *ALICE, *STATE, "carol", "--bundle-out", "b2.bin", "--announcement-out", "a2.bin")
    assert "wrote the announcement of epoch 2 to a2.bin" in removed.out.splitlines()
    assert cli.path("a2.bin").read_bytes() == announcement_of(cli, "b2.bin", "a2-again.bin").to_bytes()
    assert oct(os.stat(cli.path("a2.bin")).st_mode & 0o777) == "0o644"
    accepted = cli("keyring", "accept", "-I", "carol.id", "a2.bin", "--json").json()
    assert (accepted["kind"], accepted["epochs"], accepted["room"]) == ("link", [2], "room-42")
    text = cli("keyring", "show", "-I", "carol.id").out
    assert "from link  2 members  not a member" in text
    epochs = cli("keyring", "show", "-I", "carol.id", "--json").json()["rooms"][0]["epochs"]
    assert [(e["epoch"], e["key"], e["source"], e["roster_known"]) for e in epochs] == [
        (1, True, "bundle", True), (2, False, "link", False)]
    again = cli("keyring", "accept", "-I", "carol.id", "a2.bin", "--json", expect=1).json()
    assert again["error"]["code"] == "E_STALE"
    # The announcement is a link of the chain: carol follows the room without a key for it.
    new_identity(cli, "dave")
    cli("room", "add", *ALICE, *STATE, "dave.pub")
    shown = cli("room", "show", *ALICE, *STATE, "--announcement-out", "a3.bin", "--json").json()
    assert (shown["epoch"], shown["announcement_file"]) == (3, "a3.bin")
    assert cli("keyring", "accept", "-I", "carol.id", "a3.bin", "--json").json()["epochs"] == [3]


def test_an_announcement_cannot_be_a_join(world: World) -> None:
    cli = with_dave(world)
    announcement_of(cli, "b2.bin", "a2.bin")
    before = cli.snapshot()
    refused = cli("keyring", "accept", "-I", "dave.id", "--room", "room-42", "--admin", "alice.pub", "a2.bin",
                  "--json", expect=1).json()
    assert refused["error"]["code"] == "E_NOT_RECIPIENT"
    assert unlocked(cli.snapshot()) == unlocked(before)
    assert not cli.path("dave.keyring").exists()


def test_a_co_admin_adopts_the_room_and_rotates_it(world: World) -> None:
    """bob is made an admin by alice; his client starts a state file from his key ring's chain and removes carol."""
    cli = world.cli
    cli("room", "admins", *ALICE, *STATE, "alice", "bob", "--bundle-out", "b2.bin")
    for name in ("bob", "carol"):
        cli("keyring", "accept", "-I", f"{name}.id", "b2.bin")
    before = cli.snapshot()
    refused = cli("room", "adopt", "-I", "carol.id", "--state", "carol.state", "--room", "room-42", "--json", expect=1)
    assert refused.json()["error"]["code"] == "E_POLICY"  # carol is no admin: no room for her to govern
    assert unlocked(cli.snapshot()) == unlocked(before)
    adopted = cli("room", "adopt", "-I", "bob.id", "--state", "bob.state", "--room", "room-42", "--json").json()
    assert (adopted["epoch"], adopted["admins"]) == (2, ["alice", "bob"])
    assert oct(os.stat(cli.path("bob.state")).st_mode & 0o777) == "0o600"
    cli("room", "adopt", "-I", "bob.id", "--state", "bob.state", "--room", "room-42", expect=1)  # never overwritten
    removed = cli("room", "remove", "-I", "bob.id", "--state", "bob.state", "carol", "--bundle-out", "b3.bin",
                  "--proofs-dir", "proofs-3", "--json").json()
    assert (removed["epoch"], removed["members"]) == (3, ["alice", "bob"])
    assert sorted(p.name for p in cli.path("proofs-3").iterdir()) == ["alice.proof", "bob.proof"]
    accepted = cli("keyring", "accept", *ALICE, "b3.bin", "--json").json()
    assert (accepted["epochs"], accepted["kind"]) == ([3], "bundle")
    assert world.room_show()["epoch"] == 3  # alice's own state carries on from her key ring


def test_room_policy_needs_a_change_and_room_admins_keeps_you_unless_you_step_down(world: World) -> None:
    cli = world.cli
    before = cli.snapshot()
    assert cli("room", "policy", *ALICE, *STATE, expect=2).lines[0].startswith("domvia-e2ee: error: nothing to change")
    dropped = cli("room", "admins", *ALICE, *STATE, "bob", expect=2)
    assert dropped.lines[0] == ("domvia-e2ee: error: alice would no longer be an admin: list yourself too, "
                                "or pass --step-down")
    assert unlocked(cli.snapshot()) == unlocked(before)
