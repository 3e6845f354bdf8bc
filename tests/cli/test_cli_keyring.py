"""keyring accept / keyring show, trust, and key ring files at rest."""

from __future__ import annotations

import json
import os

from .helpers import ALICE, STATE, Cli, World, new_identity


def test_accept_needs_a_trusted_admin_and_changes_nothing_when_refused(world: World) -> None:
    cli = world.cli
    new_identity(cli, "dave")
    cli("room", "add", *ALICE, *STATE, "dave.pub", "--bundle-out", "b2.bin")
    untrusted = ["domvia-e2ee: error: b2.bin: rejected: 'alice' is not an admin trusted to let you join this room"]
    refused = cli("keyring", "accept", "-I", "dave.id", "b2.bin", expect=1)
    assert refused.lines == untrusted
    assert not cli.path("dave.keyring").exists()
    # A known identity is not a trusted admin: only --admin (bound to --room) lets you join.
    known = cli("keyring", "accept", "-I", "dave.id", "--known", "alice.pub", "b2.bin", expect=1)
    assert known.lines == untrusted
    wrong_admin = cli("keyring", "accept", "-I", "dave.id", "--room", "room-42", "--admin", "bob.pub", "b2.bin",
                      "--json", expect=1)
    assert wrong_admin.json()["error"]["code"] == "E_UNAUTHORIZED"
    assert not cli.path("dave.keyring").exists()
    accepted = cli("keyring", "accept", "-I", "dave.id", "--room", "room-42", "--admin", "alice.pub", "b2.bin")
    assert accepted.out == "accepted bundle for room room-42: epoch 2\n"
    assert accepted.lines[0].startswith("domvia-e2ee: trusting alice to let you join room-42; safety number ")
    assert accepted.lines[1] == "domvia-e2ee: created key ring dave.keyring"


def test_replayed_bundle_is_stale_and_the_keyring_is_unchanged(world: World) -> None:
    cli = world.cli
    before = cli.path("bob.keyring").read_bytes()
    result = cli("keyring", "accept", "-I", "bob.id", "b1.bin", "--json", expect=1)
    assert result.lines == ["domvia-e2ee: error: b1.bin: rejected: epoch 1 is already held"]
    assert result.json() == {"ok": False, "error": {"code": "E_STALE", "hint": None, "message":
                                                    "b1.bin: rejected: epoch 1 is already held"}}
    assert cli.path("bob.keyring").read_bytes() == before


def test_tampered_truncated_and_foreign_bundles(world: World) -> None:
    cli = world.cli
    cli("room", "rotate", *ALICE, *STATE, "--bundle-out", "b2.bin")
    good = cli.path("b2.bin").read_bytes()
    before = cli.path("bob.keyring").read_bytes()
    flipped = bytearray(good)
    flipped[40] ^= 1
    cases = {"flipped.bin": (bytes(flipped), "flipped.bin: rejected: authentication failed"),
             "short.bin": (good[:60], "short.bin: not a bundle: previous epoch's hash (previous): truncated"),
             "text.bin": (b"hello", "text.bin: not a bundle: magic bytes (magic): not a version 3 bundle, slice, announcement, "
                                    "history bundle or member proof"),
             "v1.bin": (b"DVB\x01" + good[4:], "v1.bin: not a bundle: magic bytes (magic): not a version 3 bundle, slice, "
                                               "announcement, history bundle or member proof")}
    for name, (data, message) in cases.items():
        cli.path(name).write_bytes(data)
        result = cli("keyring", "accept", "-I", "bob.id", name, expect=1)
        assert result.lines[0] == f"domvia-e2ee: error: {message}", result.transcript()
    assert cli.path("bob.keyring").read_bytes() == before


def test_show_lists_rooms_epochs_and_never_keys(world: World) -> None:
    cli = world.cli
    text = cli("keyring", "show", "-I", "bob.id").out.splitlines()
    assert text[0] == "key ring: bob.keyring (not encrypted)"
    assert text[2:4] == ["room room-42", "  admins: alice (only admins rotate)"]
    assert text[4].startswith("  epoch 1: key id ") and "from bundle  3 members  key held  0 messages" in text[4]
    assert text[5] == "pinned identities: alice, carol"
    room = cli("keyring", "show", "-I", "bob.id", "--json").json()["rooms"][0]
    assert room["admins"] == [{"id": "alice", "fingerprint": room["admins"][0]["fingerprint"]}]
    assert (room["members_may_rotate"], room["forks"]) == (False, 0)
    assert {k: room["epochs"][0][k] for k in ("epoch", "key", "kem", "source", "downgrade", "members", "roster_known")} \
        == {"epoch": 1, "key": True, "kem": "X25519", "source": "bundle", "downgrade": False, "members": 3,
            "roster_known": True}
    shown = cli("keyring", "show", *ALICE, "--json").json()
    assert shown["encrypted"] is True and shown["owner"]["id"] == "alice"
    assert [e["epoch"] for e in shown["rooms"][0]["epochs"]] == [1]
    assert "secret" not in json.dumps(shown)


def test_encrypted_identity_means_encrypted_keyring(world: World) -> None:
    cli = world.cli
    data = json.loads(cli.path("alice.keyring").read_bytes())
    assert set(data) == {"file", "v", "owner", "owner_fingerprint", "nonce", "ciphertext"}
    plain = json.loads(cli.path("bob.keyring").read_bytes())
    assert "keyring" in plain and "secret" in json.dumps(plain)  # not encrypted: the identity is not either


def test_downgraded_or_swapped_keyring_is_refused(world: World) -> None:
    cli = world.cli
    alice = json.loads(cli.path("alice.keyring").read_bytes())
    bob = json.loads(cli.path("bob.keyring").read_bytes())
    downgraded = {**bob, "owner": alice["owner"], "owner_fingerprint": alice["owner_fingerprint"]}
    cli.path("alice.keyring").write_text(json.dumps(downgraded))
    result = cli("keyring", "show", *ALICE, expect=1)
    assert result.lines == ["domvia-e2ee: error: alice.keyring: is not encrypted but the identity file is; "
                            "refusing a downgraded key ring",
                            "domvia-e2ee: hint: restore the encrypted key ring from a backup"]
    cli.path("alice.keyring").write_text(json.dumps(alice))
    os.replace(cli.path("alice.keyring"), cli.path("stolen.keyring"))
    other = cli("keyring", "show", "-I", "bob.id", "-k", "stolen.keyring", expect=1)
    assert other.lines == ["domvia-e2ee: error: stolen.keyring: belongs to 'alice', not to this identity ('bob')"]
    forged = {**alice, "ciphertext": alice["ciphertext"][:-4] + "AAAA"}
    cli.path("alice.keyring").write_text(json.dumps(forged))
    os.chmod(cli.path("alice.keyring"), 0o600)
    tampered = cli("keyring", "show", *ALICE, expect=1)
    assert tampered.lines == ["domvia-e2ee: error: alice.keyring: cannot be decrypted with this identity: "
                              "modified, or written for another identity"]


def test_world_readable_keyring_is_refused(world: World) -> None:
    cli = world.cli
    os.chmod(cli.path("bob.keyring"), 0o604)
    result = cli("keyring", "show", "-I", "bob.id", expect=1)
    assert result.lines[-1] == "domvia-e2ee: hint: chmod 600 bob.keyring"
    assert "permissions 0604 are too open" in result.lines[0]


def test_corrupt_truncated_and_wrong_version_keyrings_change_nothing(world: World) -> None:
    cli = world.cli
    good = cli.path("bob.keyring").read_bytes()
    cases = {
        good[:-40]: "bob.keyring: not valid JSON: truncated or corrupt",
        json.dumps({**json.loads(good), "v": 7}).encode(): "bob.keyring: unsupported file version 7; this domvia-e2ee reads "
                                             "version 1",
        good.replace(b'"secret":"', b'"secret":"AAAA', 1): "bob.keyring: not a valid domvia-e2ee keyring file: "
                                                           "secret: must be 32 bytes, got 35",
    }
    for data, message in cases.items():
        cli.path("bob.keyring").write_bytes(data)
        snapshot = cli.snapshot()
        result = cli("keyring", "accept", "-I", "bob.id", "b1.bin", expect=1)
        assert result.lines[0] == f"domvia-e2ee: error: {message}", result.transcript()
        assert cli.snapshot() == snapshot


def test_missing_keyring(cli: Cli) -> None:
    new_identity(cli, "bob")
    result = cli("keyring", "show", "-I", "bob.id", expect=1)
    assert result.lines == ["domvia-e2ee: error: bob.keyring: does not exist",
                            "domvia-e2ee: hint: a key ring is created by `keyring accept` or `room create`; "
                            "or pass -k FILE"]


def test_changed_identity_of_a_known_member_is_refused(world: World) -> None:
    cli = world.cli
    cli("identity", "new", "--id", "carol", "-o", "carol2.id", "--public-out", "carol2.pub")
    before = cli.snapshot()
    result = cli("open", "-I", "bob.id", "--known", "carol2.pub", input="{}", expect=1)
    assert result.lines[0].startswith("domvia-e2ee: error: carol2.pub: 'carol' is known with another identity "
                                      "(safety number ")
    assert result.lines[1] == ("domvia-e2ee: hint: if the change is genuine (checked out of band), pass it to "
                               "`keyring accept --known FILE --replace-known`")
    assert cli.snapshot() == before
    cli("keyring", "accept", "-I", "bob.id", "--known", "carol2.pub", "--replace-known", "b1.bin", expect=1)
    assert cli.snapshot() == before  # the bundle was stale, so nothing at all was stored


def test_encrypted_keyring_needs_the_passphrase(world: World) -> None:
    result = world.cli("keyring", "show", "-I", "alice.id", "--passphrase-env", "NOT_SET_HERE", expect=2)
    assert result.lines[0] == "domvia-e2ee: error: environment variable NOT_SET_HERE is not set"


def test_keyring_show_does_not_print_thousands_of_ids_on_one_line(world: World) -> None:
    from domvia_e2ee import Identity, storage

    from .helpers import keyring_of

    cli = world.cli
    ring = keyring_of(cli, "bob")
    for n in range(60):
        ring.add_identity(Identity.generate(f"user-{n:02d}").public)
    owner = storage.load_identity(cli.path("bob.id"))
    storage.commit_keyring(cli.path("bob.keyring"), ring, owner)
    line = next(x for x in cli("keyring", "show", "-I", "bob.id").out.splitlines() if x.startswith("pinned"))
    assert line.endswith("and 42 more (--json lists all)") and len(line) < 300
    assert len(cli("keyring", "show", "-I", "bob.id", "--json").json()["identities"]) == 63
