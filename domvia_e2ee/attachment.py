"""Streamed encryption of attachments: photos, videos, documents (spec/attachment.md).

A fresh random file key per attachment; the content is encrypted in fixed-size chunks with STREAM
(attachment_stream.py); the file key, size, content type and the SHA-256 of the encrypted blob travel in
an AttachmentReference sealed inside a chat message (attachment_reference.py). Memory stays at a few
chunks whatever the size of the file.

- Sealing: `seal_stream(source)` (iterator), `seal_file(source, sink)`, `AttachmentEncryptor`
  (update/finalize).
- Opening: `open_stream(reference, source)`, `open_file(...)`, `AttachmentDecryptor` (update/finalize).
  Every chunk is authenticated before its plaintext is released; the final chunk is released
  only after the last-chunk flag, the size and the digest of the whole blob have been checked.
- Random access: `AttachmentReader` (a seekable file over a seekable blob),
  `open_chunk(reference, header, k, chunk)`.

Errors: `FormatError` (E_FORMAT) for a malformed reference, header or argument; `AuthenticationError`
(E_AUTH) for any chunk, header, size or digest that does not authenticate, including truncation and
extension of the blob.
"""

from __future__ import annotations

from .attachment_io import DEFAULT_CONTENT_TYPE, Progress, Readable, Source, Writable
from .attachment_open import AttachmentDecryptor, open_chunk, open_file, open_stream
from .attachment_reader import AttachmentReader
from .attachment_reference import AttachmentReference, parse_reference, seal_reference
from .attachment_seal import AttachmentEncryptor, SealingStream, seal_file, seal_stream
from .attachment_stream import DEFAULT_CHUNK_SIZE

# One concept per module: attachment_io (sources, sinks), attachment_seal, attachment_open,
# attachment_reader; the format itself is attachment_stream and attachment_reference.
__all__ = [
    "DEFAULT_CHUNK_SIZE", "DEFAULT_CONTENT_TYPE", "AttachmentDecryptor", "AttachmentEncryptor", "AttachmentReader",
    "AttachmentReference", "Progress", "Readable", "SealingStream", "Source", "Writable", "open_chunk", "open_file",
    "open_stream", "parse_reference", "seal_file", "seal_reference", "seal_stream",
]
