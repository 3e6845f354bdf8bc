"""seal / open in both wire forms, through stdin/stdout and -i/-o, and their failures."""

from __future__ import annotations

import json
import os

from domvia_e2ee import SealedMessage

from .helpers import ALICE, STATE, World


def test_seal_json_to_stdout_and_open_from_stdin(world: World) -> None:
    cli = world.cli
    sealed = cli("seal", "-I", "bob.id", "--room", "room-42", "--message-id", "m-1", input="hello carol")
    message = SealedMessage.from_json(sealed.stdout)
    assert (message.room_id, message.epoch, message.sender_id, message.message_id) == ("room-42", 1, "bob", "m-1")
    assert b"hello" not in sealed.stdout
    opened = cli("open", "-I", "carol.id", input=sealed.stdout)
    assert opened.stdout == b"hello carol"
    assert opened.lines == ["domvia-e2ee: signed by bob (room room-42, epoch 1, message m-1, text/plain)"]


def test_binary_form_with_files(world: World) -> None:
    cli = world.cli
    cli.path("note.txt").write_bytes(bytes(range(256)))
    cli("seal", "-I", "bob.id", "--room", "room-42", "--format", "binary", "-i", "note.txt", "-o", "note.dvm")
    assert cli.path("note.dvm").read_bytes()[:4] == b"DVM\x01"
    assert oct(os.stat(cli.path("note.dvm")).st_mode & 0o777) == "0o644"
    cli("open", *ALICE, "-i", "note.dvm", "-o", "note.out")
    assert cli.path("note.out").read_bytes() == bytes(range(256))
    assert oct(os.stat(cli.path("note.out")).st_mode & 0o777) == "0o600"


def test_json_reports(world: World) -> None:
    cli = world.cli
    sealed = cli("seal", "-I", "bob.id", "--room", "room-42", "--message-id", "m-2", "--json", input="hi").json()
    assert {k: sealed[k] for k in ("ok", "room", "epoch", "sender", "message_id", "format", "signed")} == {
        "ok": True, "room": "room-42", "epoch": 1, "sender": "bob", "message_id": "m-2", "format": "json",
        "signed": True}
    cli.path("m2.json").write_text(json.dumps(sealed["message"]))
    opened = cli("open", "-I", "carol.id", "-i", "m2.json", "--json").json()
    assert opened == {"ok": True, "room": "room-42", "epoch": 1, "sender": "bob", "message_id": "m-2",
                      "content_type": "text/plain", "signed": True, "output": None, "bytes": 2,
                      "plaintext": "aGk", "text": "hi"}


def test_tampered_message_writes_no_output_and_changes_nothing(world: World) -> None:
    cli = world.cli
    sealed = json.loads(cli("seal", "-I", "bob.id", "--room", "room-42", "--message-id", "m-3", input="x").stdout)
    sealed["m"] = "m-999"
    cli.path("bad.json").write_text(json.dumps(sealed))
    before = cli.snapshot()
    result = cli("open", "-I", "carol.id", "-i", "bad.json", "-o", "out.txt", expect=1)
    assert result.lines == ["domvia-e2ee: error: bad.json: cannot open: authentication failed",
                            "domvia-e2ee: hint: This message was changed or damaged on its way and cannot be read. "
                            "[tampered; client action: drop]"]
    assert result.stdout == b""
    assert cli.snapshot() == before


def test_replay_is_refused_unless_rereading(world: World) -> None:
    cli = world.cli
    sealed = cli("seal", "-I", "bob.id", "--room", "room-42", "--message-id", "m-4", input="once").stdout
    cli("open", "-I", "carol.id", input=sealed)
    replay = cli("open", "-I", "carol.id", input=sealed, expect=1)
    assert replay.lines == ["domvia-e2ee: error: stdin: cannot open: message 'm-4' from 'bob' in epoch 1 "
                            "was already opened",
                            "domvia-e2ee: hint: A copy of a message already shown. [replayed; client action: ignore]"]
    assert cli("open", "-I", "carol.id", "--no-replay-check", input=sealed).stdout == b"once"


def test_removed_member_cannot_read_new_messages(world: World) -> None:
    cli = world.cli
    cli("room", "remove", *ALICE, *STATE, "carol", "--bundle-out", "b2.bin")
    cli("keyring", "accept", "-I", "bob.id", "b2.bin")
    sealed = cli("seal", "-I", "bob.id", "--room", "room-42", input="carol is gone").stdout
    refused = cli("open", "-I", "carol.id", input=sealed, expect=1)
    assert refused.lines == ["domvia-e2ee: error: stdin: cannot open: no key for room 'room-42' epoch 2",
                             "domvia-e2ee: hint: Waiting for this message's key. [no-key-yet; client action: fetch-epochs]"]
    assert cli("open", *ALICE, input=sealed).stdout == b"carol is gone"


def test_unsigned_bot_mode_needs_allow_unsigned(world: World) -> None:
    cli = world.cli
    sealed = cli("seal", "-I", "bob.id", "--room", "room-42", "--unsigned", input="beep").stdout
    assert "g" not in json.loads(sealed)
    refused = cli("open", "-I", "carol.id", input=sealed, expect=1)
    assert refused.lines == ["domvia-e2ee: error: stdin: cannot open: unsigned message refused: "
                             "this key ring requires signatures",
                             "domvia-e2ee: hint: Refused by this device's settings (an unsigned message). "
                             "[refused-by-policy; client action: none]"]
    opened = cli("open", "-I", "carol.id", "--allow-unsigned", input=sealed)
    assert opened.stdout == b"beep"
    assert opened.lines[0].startswith("domvia-e2ee: UNSIGNED (bot mode): claims to be from bob;")
    assert json.loads(cli.path("carol.keyring").read_bytes())["keyring"]["allow_unsigned"] is False


def test_seal_failures(world: World) -> None:
    cli = world.cli
    before = cli.snapshot()
    unknown = cli("seal", "-I", "bob.id", "--room", "room-99", "-o", "x.json", input="x", expect=1)
    assert unknown.lines == ["domvia-e2ee: error: bob.keyring: cannot seal: no key held for room 'room-99'"]
    big = cli("seal", "-I", "bob.id", "--room", "room-42", input=b"x" * 65537, expect=1)
    assert big.lines == ["domvia-e2ee: error: stdin: plaintext larger than 65536 bytes"]
    bad_id = cli("seal", "-I", "bob.id", "--room", "room-42", "--message-id", "a b", input="x", expect=2)
    assert bad_id.lines[0] == "domvia-e2ee: error: --message-id: must be 1-128 characters of [A-Za-z0-9._:@/+=-]"
    assert cli.snapshot() == before


def test_open_failures(world: World) -> None:
    cli = world.cli
    empty = cli("open", "-I", "carol.id", input=b"", expect=1)
    assert empty.lines == ["domvia-e2ee: error: stdin: empty: no sealed message"]
    garbage = cli("open", "-I", "carol.id", input=b"{not json", expect=1)
    assert garbage.lines == ["domvia-e2ee: error: stdin: cannot open: message: not valid JSON",
                             "domvia-e2ee: hint: This message was changed or damaged on its way and cannot be read. "
                             "[tampered; client action: drop]"]
    missing = cli("open", "-I", "carol.id", "-i", "nope.json", expect=1)
    assert missing.lines == ["domvia-e2ee: error: nope.json: No such file or directory"]


def test_the_sealed_count_is_kept_in_the_keyring(world: World) -> None:
    cli = world.cli
    for index in range(3):
        cli("seal", "-I", "bob.id", "--room", "room-42", input=f"{index}")
    ring = json.loads(cli.path("bob.keyring").read_bytes())["keyring"]
    (record,) = ring["rooms"]["room-42"]
    assert (record["sealed"], record["messages"]) == (3, 3)
