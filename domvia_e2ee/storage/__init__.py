"""Files at rest (spec/files.md): identity, key ring and room state files, and how they are written.

- Every write is atomic: a new temp file beside the target (O_CREAT|O_EXCL, mode 0600 or 0644),
  written, fsynced, renamed over the target, then the directory fsynced. A reader sees the old
  file or the new one, never a mix; a failed write leaves no temp file behind.
- Private files (identity, key ring) are refused when group or others may read them, or when
  another user owns them, the way ssh refuses a private key.
- An identity file may be encrypted under a passphrase: Argon2id derives an AES-256-GCM key; the
  KDF parameters and salt are stored in the file and bound into the associated data. The
  encrypted identity also carries a random key ring key, so the key ring is encrypted at rest
  exactly when the identity is, without a second passphrase derivation.
- The room state file holds no secret. A rotation writes it with a pending next state first,
  then the key ring, then the committed state, so a crash at any point leaves a pair that loads
  into one consistent epoch (rolled back or rolled forward; see `load_room_state`).
- `locked(path)` serializes writers with flock(2) on a sidecar `PATH.lock` file.

Every failure is a `FileError` naming the file; its `code` is the underlying error's code
(E_FORMAT, E_AUTH, E_POLICY) or E_IO for an operating-system error.

Modules: errors (FileError), atomic (Staged, write_atomic), reading (read_file), locks (locked),
json_file (the header every file shares), envelope (the passphrase envelope), identity_file,
keyring_file, room_file, rotation (commit_rotation, commit_keyring), user_file (the private user key).
"""

from __future__ import annotations

from .atomic import (PARALLEL_WRITES, PRIVATE_MODE, PUBLIC_MODE, WRITERS, Staged, StagedDirectory, commit_all,
                     discard_all, fsync_directory, write_atomic)
from .envelope import (COST_LEVELS, DEFAULT_COST, KDF_NAME, KEY_SIZE, MAX_ITERATIONS, MAX_LANES, MAX_MEMORY_KIB,
                       MIN_COST, NONCE_SIZE, SALT_SIZE, KdfCost)
from .errors import FileError, OutputError
from .identity_file import (IDENTITY_FILE, MAX_IDENTITY_BYTES, Passphrase, StoredIdentity, dump_identity,
                            load_identity)
from .json_file import FILE_VERSION, MAX_STATE_BYTES
from .keyring_file import KEYRING_FILE, dump_keyring, load_keyring, load_or_new_keyring, stage_keyring
from .locks import locked
from .reading import check_private, read_file
from .room_file import (NOTHING_COMMITTED, ROOM_STATE_FILE, RoomState, dump_room_state, is_interrupted_creation,
                        load_room_state)
from .rotation import commit_keyring, commit_rotation
from .user_file import MAX_USER_KEY_BYTES, USER_KEY_FILE, StoredUserKey, dump_user_key, load_user_key

__all__ = [
    "COST_LEVELS", "DEFAULT_COST", "FILE_VERSION", "IDENTITY_FILE", "KDF_NAME", "KEYRING_FILE", "KEY_SIZE",
    "MAX_IDENTITY_BYTES", "MAX_ITERATIONS", "MAX_LANES", "MAX_MEMORY_KIB", "MAX_STATE_BYTES", "MAX_USER_KEY_BYTES",
    "MIN_COST",
    "NONCE_SIZE", "NOTHING_COMMITTED", "PARALLEL_WRITES", "PRIVATE_MODE", "PUBLIC_MODE", "ROOM_STATE_FILE",
    "SALT_SIZE", "WRITERS", "FileError", "KdfCost", "OutputError", "Passphrase", "RoomState", "Staged",
    "StagedDirectory", "StoredIdentity", "StoredUserKey", "USER_KEY_FILE", "check_private", "commit_all", "commit_keyring", "commit_rotation",
    "discard_all", "dump_identity", "fsync_directory", "dump_keyring", "dump_room_state", "dump_user_key", "is_interrupted_creation", "load_identity",
    "load_keyring", "load_or_new_keyring", "load_room_state", "load_user_key", "locked", "read_file", "stage_keyring",
    "write_atomic",
]
