// Random access to one chunk of an attachment (spec/attachment.md#random-access): the chunk, its
// inclusion proof fetched from the blob's stored tree, checked against the reference's root before
// any plaintext is released.
import { AuthError, FormatError } from './errors.mjs';
import { constantTimeEqual } from './encoding.mjs';
import { HASH_LENGTH, leafHash, proofMatches, proofNodes } from './attachmenttree.mjs';
import { TAG_LENGTH, aeadDecrypt } from './suites.mjs';
import {
  AttachmentReference, HEADER_LENGTH, attachmentKeys, chunkLength, chunkNonce, chunkOffset, parseAttachmentHeader,
} from './attachment.mjs';

/** Offsets of the 32-byte hashes of chunk i's inclusion proof, in proof order. */
export function proofOffsets(ref, i) {
  return proofNodes(i, ref.chunkCount).map(({ level, position }) => {
    const j = (position + 1) * 2 ** level - 1; // the chunk after which the node is stored
    return chunkOffset(j, ref.chunkSize) + chunkLength(ref, j) + HASH_LENGTH * level;
  });
}

/**
 * Random access to chunk `index` from the reference, the 70-byte header, the chunk's bytes and its
 * inclusion proof (the hashes at proofOffsets, concatenated). Order: reference (E_FORMAT), header parse
 * (E_FORMAT), commitment and suite/chunk size (E_AUTH), index outside 0..n-1 (E_FORMAT, field index),
 * chunk length and decryption, proof length, inclusion in the reference's root (all E_AUTH).
 */
export function openAttachmentChunk(reference, header, index, chunk, proof) {
  const ref = typeof reference === 'string' ? AttachmentReference.fromJSON(reference) : reference;
  if (header.length !== HEADER_LENGTH) throw new FormatError('header', 'not 70 bytes');
  const h = parseAttachmentHeader(header);
  const { payloadKey, commitment } = attachmentKeys(ref.fileKey, h.prefix);
  if (!constantTimeEqual(commitment, h.commitment)) throw new AuthError();
  if (h.suite.id !== ref.suite.id || h.chunkSize !== ref.chunkSize) throw new AuthError();
  // The index is checked once the header is known to belong to the reference (spec/attachment.md#random-access).
  const n = ref.chunkCount;
  if (!Number.isInteger(index) || index < 0 || index >= n) throw new FormatError('index', 'outside 0..n-1');
  const last = index === n - 1;
  const expected = (last ? ref.size - (n - 1) * ref.chunkSize : ref.chunkSize) + TAG_LENGTH;
  if (chunk.length !== expected) throw new AuthError();
  const plain = aeadDecrypt(ref.suite, payloadKey, chunkNonce(ref.suite, index, last), chunk);
  const count = proofNodes(index, n).length;
  if (proof.length !== HASH_LENGTH * count) throw new AuthError();
  const hashes = Array.from({ length: count }, (_, k) => proof.subarray(HASH_LENGTH * k, HASH_LENGTH * (k + 1)));
  if (!proofMatches(leafHash(chunk), index, n, hashes, h.bytes, ref.root)) throw new AuthError();
  return plain;
}
