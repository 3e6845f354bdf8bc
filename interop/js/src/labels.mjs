// Every label (spec/labels.md): messages, wraps and key files are format version 1; attachments format version 2;
// the group-state structures (bundles, slices, announcements, member proofs, history bundles, device lists) format
// version 3, and so are device lists and key backups.
const ascii = (s) => new TextEncoder().encode(s);

export const MAGIC_MESSAGE = Uint8Array.of(0x44, 0x56, 0x4d, 0x01);
export const MAGIC_BUNDLE = Uint8Array.of(0x44, 0x56, 0x42, 0x03);
export const MAGIC_SLICE = Uint8Array.of(0x44, 0x56, 0x53, 0x03);
export const MAGIC_HISTORY = Uint8Array.of(0x44, 0x56, 0x48, 0x03);
export const MAGIC_EPOCH = Uint8Array.of(0x44, 0x56, 0x45, 0x03);
export const MAGIC_MEMBER_PROOF = Uint8Array.of(0x44, 0x56, 0x50, 0x03);
export const MAGIC_ATTACHMENT = Uint8Array.of(0x44, 0x56, 0x41, 0x02);
export const MAGIC_DEVICE_LIST = Uint8Array.of(0x44, 0x56, 0x4c, 0x03);
export const MAGIC_BACKUP = Uint8Array.of(0x44, 0x56, 0x4b, 0x03);
export const MAGIC_BACKUP_INFO = Uint8Array.of(0x44, 0x56, 0x49, 0x03);

export const ROOM_KEY_SALT = ascii('domvia-e2ee/v1 room-key');
export const INFO_KEY_ID = ascii('domvia-e2ee/v1 key-id');
export const INFO_SENDER_KEY = ascii('domvia-e2ee/v1 sender-key');
export const AAD_MESSAGE = ascii('domvia-e2ee/v1 message-aad');
export const SIG_MESSAGE = ascii('domvia-e2ee/v1 message-sig');
export const INFO_WRAP = ascii('domvia-e2ee/v1 wrap');
export const INFO_HISTORY_WRAP = ascii('domvia-e2ee/v1 history-wrap');
export const SIG_EPOCH = ascii('domvia-e2ee/v3 epoch-sig');
export const SIG_HISTORY = ascii('domvia-e2ee/v3 history-sig');
export const EPOCH_HASH = ascii('domvia-e2ee/v3 epoch-hash');
export const TREE_LEAF = ascii('\x00domvia-e2ee/v3 member');
export const TREE_NODE = Uint8Array.of(0x01);
export const SIG_DEVICE_LIST = ascii('domvia-e2ee/v3 device-list-sig');
export const DEVICE_LIST_HASH = ascii('domvia-e2ee/v3 device-list-hash');
export const USER_FINGERPRINT = ascii('domvia-e2ee/v3 user-fingerprint');
export const SIG_BACKUP_INFO = ascii('domvia-e2ee/v3 backup-info-sig');
export const SIG_BACKUP_CHUNK = ascii('domvia-e2ee/v3 backup-chunk-sig');
export const INFO_BACKUP_WRAP = ascii('domvia-e2ee/v3 backup-wrap');
export const INFO_BACKUP_KEY = ascii('domvia-e2ee/v3 backup-key-pair');
export const BACKUP_KEY_ID = ascii('domvia-e2ee/v3 backup-id');
export const RECOVERY_CHECKSUM = ascii('domvia-e2ee/v3 recovery-checksum');
export const FINGERPRINT = ascii('domvia-e2ee/v1 fingerprint');
export const INFO_ATTACHMENT_KEY = ascii('domvia-e2ee/v2 attachment-key');
export const ATTACHMENT_LEAF = ascii('domvia-e2ee/v2 attachment-leaf');
export const ATTACHMENT_NODE = ascii('domvia-e2ee/v2 attachment-node');
export const ATTACHMENT_ROOT = ascii('domvia-e2ee/v2 attachment-root');
export const KEYFILE_AAD = ascii('domvia-e2ee/v1 keyfile');
