"""Key backup chunks and sibling shares (spec/backup.md, "Chunk"): entries encrypted with one HPKE
single-shot seal to the user's backup key (or to a sibling device), signed by the uploading device.

The server stores chunks as opaque blobs indexed by (user, uploader, seq) and learns their count and
size, nothing else: room ids, epochs and keys are inside the ciphertext.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite as HpkeSuite

from .. import labels
from ..encoding import Reader, Writer
from ..errors import AuthenticationError, FormatError
from ..hazmat import curves, hpke, xwing
from ..identity import FINGERPRINT_SIZE, Identity, PublicIdentity
from ..wrap import WrapKem, _x25519_private
from .backup_entries import BackupEntry, read_entries, write_entries
from .user_key import check_user_id, device_user

_ENC_SIZE: Final = {WrapKem.X25519: 32, WrapKem.MLKEM768_X25519: xwing.ENC_SIZE}
TO_BACKUP: Final = 1
TO_DEVICE: Final = 2
MAX_CHUNK_BYTES: Final = 64 << 20
MAX_SEQ: Final = 0xFFFFFFFF
_SUITES: Final = {WrapKem.X25519: HpkeSuite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_256_GCM),
                  WrapKem.MLKEM768_X25519: HpkeSuite(KEM.MLKEM768_X25519, KDF.HKDF_SHA256, AEAD.AES_256_GCM)}


@dataclass(frozen=True)
class Recipient:
    """Whom a chunk is for: the backup key (by key id) or a sibling device (by id and fingerprint)."""

    kind: int
    key_id: bytes = b""
    device_id: str = ""
    fingerprint: bytes = b""

    def write(self, w: Writer) -> Writer:
        w.u8(self.kind)
        return w.raw(self.key_id) if self.kind == TO_BACKUP else w.str8(self.device_id).raw(self.fingerprint)

    @classmethod
    def read(cls, r: Reader) -> Recipient:
        kind = r.u8("recipient")
        if kind == TO_BACKUP:
            return cls(kind, key_id=r.raw(32, "recipient.key_id"))
        if kind != TO_DEVICE:
            raise FormatError("recipient", "must be 1 (backup key) or 2 (a sibling device)")
        return cls(kind, device_id=r.str8("recipient.id"), fingerprint=r.raw(FINGERPRINT_SIZE, "recipient.fingerprint"))


@dataclass(frozen=True)
class BackupChunk:
    """A parsed chunk; ``open_chunk`` verifies its uploader's signature and decrypts it."""

    user_id: str
    uploader: PublicIdentity
    seq: int
    recipient: Recipient
    kem: WrapKem
    sealed: bytes = field(repr=False)
    signature: bytes = field(repr=False)
    raw: bytes = field(repr=False)

    def to_bytes(self) -> bytes:
        """The chunk's bytes, as the server stores them."""
        return self.raw

    @classmethod
    def from_bytes(cls, data: bytes) -> BackupChunk:
        """Parses a chunk of at most 64 MiB, verifying nothing. Raises FormatError (E_FORMAT) naming the field,
        E_BAD_KEY for the uploader's keys."""
        if not isinstance(data, bytes | bytearray | memoryview) or len(data) > MAX_CHUNK_BYTES:
            raise FormatError("backup_chunk", f"must be at most {MAX_CHUNK_BYTES} bytes")
        data = bytes(data)
        if data[:4] != labels.MAGIC_BACKUP:
            raise FormatError("magic", "not a version 3 key backup chunk")
        r = Reader(data, 4)
        user_id = check_user_id(r.str8("user_id"), "user_id")
        uploader = _read_uploader(r, user_id)
        seq = r.u32("seq")
        if seq == 0:
            raise FormatError("seq", "must be 1 or more")
        recipient = Recipient.read(r)
        if recipient.kind == TO_DEVICE and device_user(recipient.device_id) != user_id:
            raise FormatError("recipient.id", f"a share goes to a device of {user_id!r}")
        kem = WrapKem.from_wire(r.u8("kem"))
        if recipient.kind == TO_BACKUP and kem is not WrapKem.MLKEM768_X25519:
            raise FormatError("kem", "a backup is wrapped with X-Wing (2)")
        size = r.u32("sealed")
        if size < _ENC_SIZE[kem] + 16:
            raise FormatError("sealed", "shorter than an HPKE encapsulation and a tag")
        sealed = r.raw(size, "sealed")
        signature = r.raw(curves.SIGNATURE_SIZE, "signature")
        r.end()
        return cls(user_id, uploader, seq, recipient, kem, sealed, signature, data)

    def _info(self) -> bytes:
        return labels.INFO_BACKUP_WRAP + self.raw[:_kem_end(self)]


def _kem_end(chunk: BackupChunk) -> int:
    return len(chunk.raw) - curves.SIGNATURE_SIZE - len(chunk.sealed) - 4


def _read_uploader(r: Reader, user_id: str) -> PublicIdentity:
    device_id = r.str8("uploader.id")
    if device_user(device_id) != user_id:
        raise FormatError("uploader.id", f"must be a device of {user_id!r}")
    x25519, ed25519 = r.raw(32, "uploader.x25519"), r.raw(32, "uploader.ed25519")
    pq = r.bytes16("uploader.xwing")
    return PublicIdentity(device_id, x25519=x25519, ed25519=ed25519, xwing=pq or None)


def seal_chunk(uploader: Identity, user_id: str, seq: int, entries: list[BackupEntry], *, backup_public: bytes | None = None,
               recipient_key_id: bytes = b"", sibling: PublicIdentity | None = None) -> BackupChunk:
    """A chunk of ``entries`` for the backup key (``backup_public`` and its ``recipient_key_id``) or for a
    ``sibling`` device, signed by ``uploader``. Raises FormatError (E_FORMAT) for 0 or over 4096 entries."""
    return _seal_chunk_from_parts(uploader, user_id, seq, entries, backup_public=backup_public,
                                  recipient_key_id=recipient_key_id, sibling=sibling)


def _seal_chunk_from_parts(uploader: Identity, user_id: str, seq: int, entries: list[BackupEntry], *,
                           backup_public: bytes | None, recipient_key_id: bytes, sibling: PublicIdentity | None,
                           ephemeral: bytes | None = None) -> BackupChunk:
    """seal_chunk, with a fixed HPKE ephemeral key for a classic sibling share: for test vectors only."""
    if not 1 <= seq <= MAX_SEQ:
        raise FormatError("seq", "must be 1 to 2^32 - 1")
    me = uploader.public
    w = Writer(labels.MAGIC_BACKUP).str8(user_id).str8(me.participant_id).raw(me.x25519).raw(me.ed25519)
    w.bytes16(me.xwing or b"").u32(seq)
    if sibling is None:
        recipient, kem, public = Recipient(TO_BACKUP, key_id=recipient_key_id), WrapKem.MLKEM768_X25519, backup_public
    else:
        recipient = Recipient(TO_DEVICE, device_id=sibling.participant_id, fingerprint=sibling.fingerprint)
        kem = WrapKem.X25519 if sibling.xwing is None else WrapKem.MLKEM768_X25519
        public = sibling.x25519 if sibling.xwing is None else sibling.xwing
    assert public is not None
    head = recipient.write(w).u8(kem).getvalue()
    key = X25519PublicKey.from_public_bytes(public) if kem is WrapKem.X25519 else xwing.public_key(public)
    if ephemeral is not None and kem is WrapKem.X25519:
        sealed = hpke.seal_base(public, labels.INFO_BACKUP_WRAP + head, write_entries(entries), ephemeral_private=ephemeral)
    else:
        sealed = _SUITES[kem].encrypt(write_entries(entries), key, info=labels.INFO_BACKUP_WRAP + head)
    body = Writer(head).u32(len(sealed)).raw(sealed).getvalue()
    return BackupChunk.from_bytes(body + uploader.sign(labels.SIG_BACKUP_CHUNK + body))


def open_chunk(chunk: BackupChunk, device: Identity, backup_private: object = None) -> list[BackupEntry]:
    """Verifies the uploader's signature and decrypts: a chunk for the backup key with ``backup_private`` (the
    backup's X-Wing private key, when restoring), a share with ``device``'s own keys. Raises AuthenticationError
    (E_AUTH) for a bad signature or ciphertext or a chunk for another key or device, FormatError (E_FORMAT) for
    malformed entries. Whether the uploader may write this chunk is restore.py's question."""
    curves.verify(chunk.uploader.ed25519, chunk.signature, labels.SIG_BACKUP_CHUNK + chunk.raw[:-curves.SIGNATURE_SIZE])
    if chunk.recipient.kind == TO_BACKUP:
        private = backup_private
    elif chunk.recipient.fingerprint == device.public.fingerprint:
        private = _x25519_private(device) if chunk.kem is WrapKem.X25519 else device._xwing_private_key()
    else:
        private = None
    if private is None:
        raise AuthenticationError()
    try:
        plaintext = _SUITES[chunk.kem].decrypt(chunk.sealed, private, info=chunk._info())  # type: ignore[arg-type]
    except (InvalidTag, ValueError, TypeError):
        raise AuthenticationError() from None
    return read_entries(plaintext)
