"""room create / add / remove / rotate / show, and their outputs."""

from __future__ import annotations

import base64
import json
import os

from domvia_e2ee import Bundle, Slice
from domvia_e2ee.cli.room_common import member_file_name

from .helpers import ALICE, STATE, Cli, World, new_identity


def test_create_writes_state_keyring_and_bundle(world: World) -> None:
    cli = world.cli
    first = cli.history[3]
    size = len(cli.path("b1.bin").read_bytes())
    assert first.out.splitlines() == ["room room-42: epoch 1, members 3 (alice, bob, carol)",
                                      f"wrote the signed bundle of epoch 1 to b1.bin ({size} bytes)"]
    bundle = Bundle.from_bytes(cli.path("b1.bin").read_bytes())
    assert (bundle.header.room_id, bundle.header.epoch, bundle.header.rotator_id) == ("room-42", 1, "alice")
    assert oct(os.stat(cli.path("alice.keyring")).st_mode & 0o777) == "0o600"
    state = json.loads(cli.path("room.state").read_bytes())
    assert state["pending"] is None and state["room"] == {"room": "room-42", "epoch": 1}  # no members: the chain has them
    shown = world.room_show()
    assert {k: shown[k] for k in ("room", "epoch", "members", "admins", "rotation_due", "recovered", "downgraded")} == {
        "room": "room-42", "epoch": 1, "members": ["alice", "bob", "carol"], "admins": ["alice"], "rotation_due": [],
        "recovered": None, "downgraded": False}
    assert shown["policy"] == {"max_messages": 100, "max_age_seconds": 604800, "members_may_rotate": False}


def test_show_text(world: World) -> None:
    text = world.cli("room", "show", *ALICE, *STATE).out.splitlines()
    assert text == ["room:         room-42", "epoch:        1", "members:      3 (alice, bob, carol)",
                    "admins:       alice", "suite:        A256GCM, keys wrapped with X25519", "policy:       rotate after 100 messages or 7d",
                    "messages:     0 in this epoch", "rotation due: no", "state:        room.state"]


def test_remove_rotates_and_the_removed_member_gets_no_key(world: World) -> None:
    cli = world.cli
    result = cli("room", "remove", *ALICE, *STATE, "carol", "--bundle-out", "b2.bin", "--json").json()
    assert result["epoch"] == 2 and result["removed"] == ["carol"] and result["members"] == ["alice", "bob"]
    cli("keyring", "accept", "-I", "bob.id", "b2.bin")
    # carol keeps the chain (a link: the signed header and roster, no key), so she can follow the room.
    link = cli("keyring", "accept", "-I", "carol.id", "b2.bin")
    assert link.out == "accepted link for room room-42: epoch 2\n"
    epochs = cli("keyring", "show", "-I", "carol.id", "--json").json()["rooms"][0]["epochs"]
    assert [(e["epoch"], e["key"], e["source"]) for e in epochs] == [(1, True, "bundle"), (2, False, "link")]
    sealed = cli("seal", "-I", "bob.id", "--room", "room-42", input="after carol").stdout
    refused = cli("open", "-I", "carol.id", input=sealed, expect=1)
    assert refused.lines == ["domvia-e2ee: error: stdin: cannot open: you were not a member of room 'room-42' "
                             "in epoch 2",
                             "domvia-e2ee: hint: Sent while you were not in this room. [not-a-member; client action: none]"]
    error = cli("open", "-I", "carol.id", "--json", input=sealed, expect=1).json()["error"]
    assert error["code"] == "E_NOT_MEMBER" and error["unreadable"] == {
        "cause": "not-a-member", "action": "none", "retry": False, "message": "Sent while you were not in this room."}


def test_add_with_slices_and_history(world: World) -> None:
    cli = world.cli
    new_identity(cli, "dave")
    out = cli("room", "add", *ALICE, *STATE, "dave.pub", "--slices-dir", "s2", "--share-history", "1",
              "--history-dir", "h2").out
    assert "wrote 4 slices to s2/" in out and "wrote history bundles for dave to h2/" in out
    assert sorted(os.listdir(cli.path("s2"))) == ["alice.slice", "bob.slice", "carol.slice", "dave.slice"]
    piece = Slice.from_bytes(cli.path("s2/dave.slice").read_bytes())
    assert piece.member.participant_id == "dave" and piece.header.epoch == 2
    accepted = cli("keyring", "accept", "-I", "dave.id", "--room", "room-42", "--admin", "alice.pub", "s2/dave.slice",
                   "--json").json()
    assert accepted["epochs"] == [2] and accepted["kind"] == "slice"
    history = cli("keyring", "accept", "-I", "dave.id", "h2/dave.history", "--json").json()
    assert history["epochs"] == [1] and history["kind"] == "history"


def test_share_history_needs_a_directory(world: World) -> None:
    result = world.cli("room", "add", *ALICE, *STATE, "bob.pub", "--share-history", "1", expect=2)
    assert result.lines[0] == "domvia-e2ee: error: --share-history needs --history-dir"


def test_rotate_if_due_and_policy(cli: Cli) -> None:
    new_identity(cli, "bob")
    cli("room", "create", "-I", "bob.id", *STATE, "--room", "r", "--max-messages", "1", "--max-age", "2h")
    not_due = cli("room", "rotate", "-I", "bob.id", *STATE, "--if-due")
    assert not_due.out == "room r: epoch 1, rotation not due; nothing changed\n"
    cli("seal", "-I", "bob.id", "--room", "r", input="one")
    shown = cli("room", "show", "-I", "bob.id", *STATE, "--json").json()
    assert shown["rotation_due"] == ["messages"] and shown["policy"] == {"max_messages": 1, "max_age_seconds": 7200,
                                                                        "members_may_rotate": False}
    rotated = cli("room", "rotate", "-I", "bob.id", *STATE, "--if-due")
    assert rotated.out == "room r: epoch 2, members 1 (bob)\n"
    assert rotated.lines == ["domvia-e2ee: the bundle of epoch 2 is kept in room.state; write it with "
                             "`room show --bundle-out FILE` or `--slices-dir DIR`"]
    again = cli("room", "rotate", "-I", "bob.id", *STATE, "--if-due", "--json").json()
    assert again == {"ok": True, "room": "r", "epoch": 2, "rotated": False, "rotation_due": []}
    cli("room", "show", "-I", "bob.id", *STATE, "--bundle-out", "again.bin")
    assert Bundle.from_bytes(cli.path("again.bin").read_bytes()).header.epoch == 2


def test_create_refuses_an_existing_state_or_room(world: World) -> None:
    cli = world.cli
    before = cli.snapshot()
    again = cli("room", "create", *ALICE, *STATE, "--room", "room-43", expect=1)
    assert again.lines == ["domvia-e2ee: error: room.state: already exists; refusing to overwrite it",
                           "domvia-e2ee: hint: choose another state file name"]
    same_room = cli("room", "create", *ALICE, "--state", "other.state", "--room", "room-42", expect=1)
    assert same_room.lines == ["domvia-e2ee: error: alice.keyring: already holds room 'room-42' (epoch 1)",
                               "domvia-e2ee: hint: choose another room id; a room is created once"]
    assert {k: v for k, v in cli.snapshot().items() if not k.endswith(".lock")} == {
        k: v for k, v in before.items() if not k.endswith(".lock")}


def test_membership_errors_change_nothing(world: World) -> None:
    cli = world.cli
    before = cli.snapshot()
    unknown = cli("room", "remove", *ALICE, *STATE, "zed", expect=1)
    assert unknown.lines == ["domvia-e2ee: error: room.state: not members: ['zed']"]
    itself = cli("room", "remove", *ALICE, *STATE, "alice", expect=1)
    assert "cannot remove itself" in itself.stderr
    twice = cli("room", "add", *ALICE, *STATE, "bob.pub", expect=1)
    assert twice.lines == ["domvia-e2ee: error: room.state: 'bob' is already a member"]
    assert cli.snapshot() == before


def test_bad_room_id_is_a_usage_error(world: World) -> None:
    result = world.cli("room", "create", *ALICE, "--state", "x.state", "--room", "room 1", expect=2)
    assert result.lines[0] == "domvia-e2ee: error: --room: must be 1-128 characters of [A-Za-z0-9._:@/+=-]"
    assert not world.cli.path("x.state").exists()


def test_duplicate_member_files_are_a_usage_error(world: World) -> None:
    world.cli.path("bob2.pub").write_bytes(world.cli.path("bob.pub").read_bytes())
    result = world.cli("room", "add", *ALICE, *STATE, "bob.pub", "bob2.pub", expect=2)
    assert result.lines[0] == "domvia-e2ee: error: bob2.pub and bob.pub are both 'bob'"


def test_slices_dir_must_be_new_or_empty(world: World) -> None:
    cli = world.cli
    (cli.path("full")).mkdir()
    (cli.path("full/x")).write_text("x")
    before = world.room_show()["epoch"]
    result = cli("room", "rotate", *ALICE, *STATE, "--slices-dir", "full", expect=1)
    assert result.lines == ["domvia-e2ee: error: full: exists and is not an empty directory",
                            "domvia-e2ee: hint: name a new or empty directory"]
    assert world.room_show()["epoch"] == before
    assert [p.name for p in cli.cwd.iterdir() if p.name.endswith(".tmp")] == []
    cli.path("empty").mkdir()
    cli("room", "rotate", *ALICE, *STATE, "--slices-dir", "empty")
    assert len(os.listdir(cli.path("empty"))) == 3


def test_a_state_behind_the_keyring_continues_from_the_keyring(world: World) -> None:
    """Another admin rotated (here: the same admin from another state file): the key ring holds a newer
    epoch than the state names. The room is the key ring's, but the state has no bundle of that epoch."""
    cli = world.cli
    behind = cli.path("room.state").read_bytes()
    cli("room", "rotate", *ALICE, *STATE)
    cli.path("room.state").write_bytes(behind)
    assert world.room_show()["epoch"] == 2
    before = cli.snapshot()
    result = cli("room", "show", *ALICE, *STATE, "--bundle-out", "again.bin", expect=1)
    assert result.lines == [
        "domvia-e2ee: error: room.state: does not hold the bundle of epoch 2: another admin made it",
        "domvia-e2ee: hint: fetch that bundle from the product server"]
    assert cli.snapshot() == before and not cli.path("again.bin").exists()
    rotated = cli("room", "rotate", *ALICE, *STATE, "--bundle-out", "b3.bin", "--json").json()
    assert rotated["epoch"] == 3
    assert json.loads(cli.path("room.state").read_bytes())["room"] == {"room": "room-42", "epoch": 3}


def test_a_state_ahead_of_the_keyring_is_refused(world: World) -> None:
    cli = world.cli
    state = json.loads(cli.path("room.state").read_bytes())
    cli.path("room.state").write_text(json.dumps({**state, "room": {"room": "room-42", "epoch": 5}}))
    before = cli.snapshot()
    result = cli("room", "rotate", *ALICE, *STATE, expect=1)
    assert result.lines == [
        "domvia-e2ee: error: room.state: room state is at epoch 5 of 'room-42' but the key ring's latest is 1",
        "domvia-e2ee: hint: this state file and key ring do not belong together"]
    assert cli.snapshot() == before


def test_state_of_another_owner_is_refused(world: World) -> None:
    cli = world.cli
    result = cli("room", "show", "-I", "bob.id", *STATE, expect=1)
    assert result.lines == ["domvia-e2ee: error: room.state: belongs to 'alice', not to this identity ('bob')"]


def test_member_file_names_are_safe() -> None:
    assert member_file_name("bob", ".slice") == "bob.slice"
    assert member_file_name("team/ops:1", ".slice") == "team%2Fops%3A1.slice"
    assert member_file_name("..", ".slice") == "%2E..slice"


def test_post_quantum_room_and_xchacha(cli: Cli) -> None:
    cli("identity", "new", "--id", "pq", "-o", "pq.id", "--post-quantum")
    cli("room", "create", "-I", "pq.id", *STATE, "--room", "r", "--post-quantum", "--suite", "XC20P")
    shown = cli("room", "show", "-I", "pq.id", *STATE, "--json").json()
    assert (shown["suite"], shown["kem"]) == ("XC20P", "MLKEM768_X25519")


def test_corrupt_truncated_and_wrong_version_state_files_change_nothing(world: World) -> None:
    cli = world.cli
    good = cli.path("room.state").read_bytes()
    state = json.loads(good)
    cli("room", "create", *ALICE, "--state", "x.state", "--room", "room-x", "--bundle-out", "x.bin")
    foreign = base64.urlsafe_b64encode(cli.path("x.bin").read_bytes()).rstrip(b"=").decode()
    cases = {
        good[:-10]: "room.state: not valid JSON: truncated or corrupt",
        json.dumps({**state, "v": 2}).encode(): "room.state: unsupported file version 2; this domvia-e2ee reads "
                                                "version 1",
        json.dumps({**state, "extra": 1}).encode(): "room.state: not a valid domvia-e2ee room-state file: extra: "
                                                    "unknown field",
        json.dumps({**state, "bundle": foreign}).encode(): "room.state: not a valid domvia-e2ee room-state file: "
                                                           "bundle: is not the signed bundle of the state's epoch",
        json.dumps({**state, "room": {**state["room"], "room": "room-x"}}).encode():
            "room.state: not a valid domvia-e2ee room-state file: bundle: is not the signed bundle of the state's epoch",
        # Members and admins are never read from this file: a file that names them is refused, not obeyed.
        json.dumps({**state, "room": {**state["room"], "members": ["alice"]}}).encode():
            "room.state: not a valid domvia-e2ee room-state file: member list (members): unknown field",
    }
    for data, message in cases.items():
        cli.path("room.state").write_bytes(data)
        before = cli.snapshot()
        result = cli("room", "rotate", *ALICE, *STATE, expect=1)
        assert result.lines[0] == f"domvia-e2ee: error: {message}", result.transcript()
        assert cli.snapshot() == before
    cli.path("room.state").write_bytes(good)
    assert world.room_show()["epoch"] == 1


def test_an_id_too_long_for_a_file_name_gets_a_hashed_name() -> None:
    long_id = "a/" * 64  # 128 characters, 192 once escaped: with a suffix, past MAX_FILE_NAME
    names = {member_file_name(long_id, ".slice"), member_file_name(long_id[:-1] + "b", ".slice")}
    assert len(names) == 2 and all(len(n.encode()) <= 255 - 32 for n in names)
    assert all("~" in n and n.endswith(".slice") and "%2" in n for n in names)
    assert member_file_name("bob", ".slice") == "bob.slice"
