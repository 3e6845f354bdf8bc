"""Every label, info string and magic number, in one place.

Messages, wraps and key files are format version 1; attachments are format version 2; the group-state
structures (bundles, slices, announcements, member proofs, history bundles, device lists, key backups)
are format version 3.

The spec (spec/labels.md) lists the same bytes; tests/test_labels.py keeps the two in step.
A label is never reused for a second purpose: that is the domain separation between
messages, bundles, slices, history bundles and attachments.
"""

from __future__ import annotations

from typing import Final

FORMAT_VERSION: Final = 1
GROUP_FORMAT_VERSION: Final = 3
ATTACHMENT_FORMAT_VERSION: Final = 2

# Binary magics: "DV", one type letter, the format version.
MAGIC_MESSAGE: Final = b"DVM\x01"
MAGIC_BUNDLE: Final = b"DVB\x03"
MAGIC_SLICE: Final = b"DVS\x03"
MAGIC_EPOCH: Final = b"DVE\x03"
MAGIC_MEMBER_PROOF: Final = b"DVP\x03"
MAGIC_HISTORY: Final = b"DVH\x03"
MAGIC_ATTACHMENT: Final = b"DVA\x02"
MAGIC_DEVICE_LIST: Final = b"DVL\x03"
MAGIC_BACKUP: Final = b"DVK\x03"
MAGIC_BACKUP_INFO: Final = b"DVI\x03"

# Room key schedule (HKDF-SHA256).
ROOM_KEY_SALT: Final = b"domvia-e2ee/v1 room-key"
INFO_KEY_ID: Final = b"domvia-e2ee/v1 key-id"
INFO_SENDER_KEY: Final = b"domvia-e2ee/v1 sender-key"

# Sealed messages.
AAD_MESSAGE: Final = b"domvia-e2ee/v1 message-aad"
SIG_MESSAGE: Final = b"domvia-e2ee/v1 message-sig"

# Key wrapping (HPKE info prefixes).
INFO_WRAP: Final = b"domvia-e2ee/v1 wrap"
INFO_HISTORY_WRAP: Final = b"domvia-e2ee/v1 history-wrap"

# Group state (format version 3): signatures over epoch headers and history bundles, and
# the hash that chains each epoch header to the one before.
SIG_EPOCH: Final = b"domvia-e2ee/v3 epoch-sig"
SIG_HISTORY: Final = b"domvia-e2ee/v3 history-sig"
EPOCH_HASH: Final = b"domvia-e2ee/v3 epoch-hash"

# Member tree (RFC 9162-style Merkle tree, domain-separated hashing).
TREE_LEAF: Final = b"\x00domvia-e2ee/v3 member"
TREE_NODE: Final = b"\x01"

# Users and their devices (group state format version 3): a user's signature over its device
# list, the hash by which member entries name that list, and the user key's fingerprint.
SIG_DEVICE_LIST: Final = b"domvia-e2ee/v3 device-list-sig"
DEVICE_LIST_HASH: Final = b"domvia-e2ee/v3 device-list-hash"
USER_FINGERPRINT: Final = b"domvia-e2ee/v3 user-fingerprint"

# Key backup and sibling sharing (spec/backup.md): the user key's signature over the backup's public
# key, the uploader device's signature over a chunk, the HPKE info of a chunk, the backup key's
# derivation from its secret, the key id, and the recovery key's checksum.
SIG_BACKUP_INFO: Final = b"domvia-e2ee/v3 backup-info-sig"
SIG_BACKUP_CHUNK: Final = b"domvia-e2ee/v3 backup-chunk-sig"
INFO_BACKUP_WRAP: Final = b"domvia-e2ee/v3 backup-wrap"
INFO_BACKUP_KEY: Final = b"domvia-e2ee/v3 backup-key-pair"
BACKUP_KEY_ID: Final = b"domvia-e2ee/v3 backup-id"
RECOVERY_CHECKSUM: Final = b"domvia-e2ee/v3 recovery-checksum"

# Identities.
FINGERPRINT: Final = b"domvia-e2ee/v1 fingerprint"

# Attachments (STREAM, format version 2). One HKDF-Expand gives the payload key and the header
# commitment; chunks carry no associated data because the key already binds the whole header.
INFO_ATTACHMENT_KEY: Final = b"domvia-e2ee/v2 attachment-key"
# The chunk tree (BLAKE3, RFC 9162 shape): a leaf per encrypted chunk, interior nodes, and the root
# the reference carries, which also binds the header.
ATTACHMENT_LEAF: Final = b"domvia-e2ee/v2 attachment-leaf"
ATTACHMENT_NODE: Final = b"domvia-e2ee/v2 attachment-node"
ATTACHMENT_ROOT: Final = b"domvia-e2ee/v2 attachment-root"
# Content type of the sealed chat message that carries an attachment reference.
CONTENT_TYPE_ATTACHMENT: Final = "application/vnd.domvia.attachment+json"

# Key files at rest.
KEYFILE_AAD: Final = b"domvia-e2ee/v1 keyfile"
