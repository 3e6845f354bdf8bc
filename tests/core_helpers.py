"""Helpers shared by the core library tests: fixed identities, message surgery, error checks."""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from hypothesis import strategies as st

from domvia_e2ee import AuthenticationError, Bundle, Identity, KeyRing, PublicIdentity, RoomKey, Suite, WrapKem
from domvia_e2ee.encoding import ID_ALPHABET
from domvia_e2ee.group.bundle import SignedHeader
from domvia_e2ee.group.header import NO_PREVIOUS, Admin, EpochHeader, Flag, RoomPolicy
from domvia_e2ee.group.keyring_state import keyring_to_plaintext
from domvia_e2ee.group.members import Member, MemberProof
from domvia_e2ee.hazmat import merkle
from domvia_e2ee.message import SealedMessage, header_prefix
from domvia_e2ee.wrap import wrap

ID_CHARS = ID_ALPHABET.decode("ascii")
ids = st.text(alphabet=ID_CHARS, min_size=1, max_size=128)
content_types = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=127)
suites = st.sampled_from(list(Suite))


def seed(*parts: object) -> bytes:
    """32 reproducible bytes named by parts: fixed randomness for tests."""
    return hashlib.sha256(repr(parts).encode()).digest()


def fixed_identity(name: str, *, post_quantum: bool = False) -> Identity:
    return Identity(name, x25519_private=seed(name, "x25519"), ed25519_seed=seed(name, "ed25519"),
                    xwing_seed=seed(name, "xwing") if post_quantum else None)


def fixed_key(room_id: str = "room-1", epoch: int = 1, suite: Suite = Suite.AES_256_GCM,
              secret: bytes | None = None) -> RoomKey:
    return RoomKey(secret if secret is not None else seed(room_id, epoch, "secret"), room_id=room_id, epoch=epoch,
                   suite=suite)


def assert_opaque_auth(error: BaseException) -> None:
    """An authentication failure says nothing: exactly AuthenticationError, fixed text, no chained cause.

    A raise inside an except block must suppress its context (raise ... from None); a raise
    outside one has no context to suppress."""
    assert type(error) is AuthenticationError
    assert str(error) == "authentication failed"
    assert error.args == ("authentication failed",)
    assert error.__cause__ is None
    assert error.__suppress_context__ or error.__context__ is None


def raises_auth(func: Any, *args: Any, **kwargs: Any) -> AuthenticationError:
    with pytest.raises(AuthenticationError) as info:
        func(*args, **kwargs)
    assert_opaque_auth(info.value)
    return info.value


def rebuild(sealed: SealedMessage, *, signer: Identity | None = None, keep_signature: bool = True,
            **changes: Any) -> bytes:
    """The wire bytes of sealed with header fields changed and the same nonce and ciphertext.

    The result is canonical, so it parses: what rejects it must be authentication.
    signer re-signs the result (a member claiming a message); keep_signature=False drops it."""
    fields = {"suite": sealed.suite, "flags": sealed.flags, "room_id": sealed.room_id, "epoch": sealed.epoch,
              "key_id": sealed.key_id, "sender_id": sealed.sender_id, "content_type": sealed.content_type,
              "message_id": sealed.message_id, "nonce": sealed.nonce, "ciphertext": sealed.ciphertext}
    fields.update(changes)
    message_id = fields.pop("message_id").encode()
    nonce, ciphertext = fields.pop("nonce"), fields.pop("ciphertext")
    body = header_prefix(**fields) + bytes((len(message_id),)) + message_id + nonce + ciphertext
    if signer is not None:
        return body + signer.sign(b"domvia-e2ee/v1 message-sig" + body)
    if keep_signature and sealed.signature is not None and fields["flags"] & 1:
        return body + sealed.signature
    return body


def epoch_bytes(epoch: int) -> bytes:
    return struct.pack(">I", epoch)


def ring_state(ring: KeyRing) -> dict[str, Any]:
    """Everything a key ring holds (its plaintext export form), to compare before and after."""
    return keyring_to_plaintext(ring)


def key_of(ring: KeyRing, room_id: str, epoch: int) -> RoomKey | None:
    """The room key a key ring holds for an epoch (None for a link); E_UNKNOWN_KEY if not held."""
    return ring.record(room_id, epoch).key


def admins_of(*identities: Identity | PublicIdentity) -> tuple[Admin, ...]:
    """An admin set as a header lists it: (id, fingerprint) sorted by id."""
    publics = [i.public if isinstance(i, Identity) else i for i in identities]
    return tuple(sorted(((p.participant_id, p.fingerprint) for p in publics), key=lambda a: a[0].encode()))


def forge_bundle(signer: Identity, key: RoomKey, wrapped: Mapping[PublicIdentity, bytes] | Sequence[PublicIdentity],
                 *, previous: bytes | None = None, admins: tuple[Admin, ...] | None = None,
                 policy: RoomPolicy | None = None, rotator_id: str | None = None, issued_at: int = 0,
                 flags: Flag | None = None, authority: MemberProof | None = None,
                 kem: WrapKem = WrapKem.X25519, lists: Sequence[Any] = (),
                 digests: Mapping[str, bytes] | None = None) -> Bundle:
    """A bundle assembled by hand and signed by signer, so a test can make each part exactly as
    wrong as it wants. wrapped maps members to the wrapped key their entry carries (a list of
    members: the key honestly wrapped to each). previous defaults to no previous (epoch 1) and
    admins to the signer alone. ``lists`` go in the lists section as they are; ``digests`` gives
    member ids the device list digest their entries name (none by default)."""
    if not isinstance(wrapped, Mapping):
        wrapped = {m: wrap(key, m, kem) for m in wrapped}
    ordered = sorted(wrapped.items(), key=lambda item: item[0].participant_id.encode())
    members = tuple(Member.make(p, w, (digests or {}).get(p.participant_id, bytes(32))) for p, w in ordered)
    tree = merkle.Tree([m.entry.leaf() for m in members])
    policy = policy or RoomPolicy()
    if flags is None:
        flags = Flag.MEMBERS_MAY_ROTATE if policy.members_may_rotate else Flag(0)
    header = EpochHeader(kem, key.suite, key.room_id, key.epoch, key.key_id,
                         NO_PREVIOUS if previous is None else previous, rotator_id or signer.participant_id,
                         issued_at, flags, policy, admins_of(signer) if admins is None else admins, len(members),
                         tree.root)
    return Bundle(SignedHeader(header, signer.sign(header.signed_bytes()), authority), members, tuple(lists))


def next_after(ring: KeyRing, room_id: str) -> dict[str, Any]:
    """forge_bundle arguments that extend ring's chain as its latest header says (previous, admins, policy)."""
    header = ring.header(room_id)
    return {"previous": header.epoch_hash(), "admins": header.admins, "policy": header.policy}


def connect(rings: dict[str, KeyRing], identities: dict[str, Identity]) -> None:
    """Every key ring knows every public identity."""
    for ring in rings.values():
        for identity in identities.values():
            if identity.participant_id != ring.owner.participant_id:
                ring.add_identity(identity.public)


ROOM = "room-1"


def world(names: tuple[str, ...] = ("alice", "bob", "carol"), admin: str = "alice",
          ) -> tuple[dict[str, Identity], dict[str, KeyRing]]:
    """Fixed identities and key rings that know each other and trust `admin` for ROOM."""
    identities = {name: fixed_identity(name) for name in names}
    rings = {name: KeyRing(identity) for name, identity in identities.items()}
    connect(rings, identities)
    for ring in rings.values():
        ring.trust_admin(ROOM, identities[admin].public)
    return identities, rings


def assert_unchanged(ring: KeyRing, error: type[BaseException], func: Any, *args: Any, **kwargs: Any) -> BaseException:
    """func(*args) raises exactly `error` and leaves the key ring's whole state as it was."""
    before = keyring_to_plaintext(ring)
    with pytest.raises(error) as info:
        func(*args, **kwargs)
    assert type(info.value) is error, info.value
    if error is AuthenticationError:
        assert_opaque_auth(info.value)
    assert keyring_to_plaintext(ring) == before
    return info.value
