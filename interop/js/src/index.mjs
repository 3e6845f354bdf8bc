// domvia-e2ee, messages format version 1, attachments format version 2, group state format version 3: a JavaScript implementation written from spec/*.md.
// The public API. Nonce-taking and ephemeral-taking hooks for test vectors are deliberately not exported here.
export * from './errors.mjs';
export { toHex, fromHex, b64uEncode, b64uDecode, constantTimeEqual } from './encoding.mjs';
export { A256GCM, XC20P, SUITES } from './suites.mjs';
export { RoomKey } from './keys.mjs';
export { pad, unpad, padme } from './padding.mjs';
export { SealedMessage, SealCounter, seal, sealUnsigned, open, openUnsigned, MAX_CONTENT } from './message.mjs';
export { PublicIdentity, Identity, safetyNumber } from './identity.mjs';
export { KEM_CLASSIC, KEM_XWING, wrapRoomKey, unwrapRoomKey } from './wrap.mjs';
export { merkleRoot, inclusionPath, verifyInclusion } from './merkle.mjs';
export { buildBundle, parseBundle, parseSlice, parseAnnouncement, memberProof, memberProofFile } from './bundle.mjs';
export { parseHeader, epochHash, FLAG_MEMBERS_MAY_ROTATE, FLAG_DOWNGRADE, ZERO_HASH } from './header.mjs';
export { parseMemberProofFile } from './memberproof.mjs';
export { buildHistory, parseHistory } from './history.mjs';
export { KeyRing } from './keyring.mjs';
export { UserKey, UserSigner, userFingerprint, userOfDevice } from './userkey.mjs';
export { buildDeviceList, parseDeviceList, verifyDeviceList, listDigest } from './devicelist.mjs';
export {
  AttachmentReference,
  AttachmentReader,
  AttachmentSealer,
  sealAttachment,
  openAttachment,
  openAttachmentChunk,
  CONTENT_TYPE_ATTACHMENT,
} from './attachment.mjs';
export { formatRecoveryKey, parseRecoveryKey, generateSecret, secretFromPassphrase, backupKeyPair } from './recovery.mjs';
export { buildBackupInfo, parseBackupInfo, verifyBackupInfo, openBackupInfo } from './backupinfo.mjs';
export { parseChunk } from './backupchunk.mjs';
export { UNREADABLE, explain } from './unreadable.mjs';
