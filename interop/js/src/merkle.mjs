// The member tree (spec/bundle.md#member-tree): RFC 9162 section 2.1 over already-hashed leaves,
// interior nodes SHA-256(TREE_NODE || left || right).
import { sha256 } from '@noble/hashes/sha2.js';
import { ByteWriter, concat, constantTimeEqual } from './encoding.mjs';
import { TREE_LEAF, TREE_NODE } from './labels.mjs';

export const MAX_PATH = 32;

/** leaf = SHA-256(TREE_LEAF || str8(id) || fingerprint || list_digest || wrapped_digest) */
export function leafHash(id, fingerprint, listDigest, wrappedDigest) {
  return sha256(new ByteWriter().bytes(TREE_LEAF).str8(id).bytes(fingerprint).bytes(listDigest).bytes(wrappedDigest).finish());
}

export function nodeHash(left, right) {
  return sha256(concat(TREE_NODE, left, right));
}

/** The largest power of two strictly smaller than n (n >= 2). */
function split(n) {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH(D[n]) over leaf hashes; a one-leaf tree's root is the leaf. */
export function merkleRoot(leaves) {
  if (leaves.length === 0) throw new RangeError('empty tree');
  if (leaves.length === 1) return leaves[0];
  const k = split(leaves.length);
  return nodeHash(merkleRoot(leaves.slice(0, k)), merkleRoot(leaves.slice(k)));
}

/** PATH(m, D[n]) of RFC 9162 section 2.1.3.1: from the leaf's sibling up to the root's child. */
export function inclusionPath(m, leaves) {
  const n = leaves.length;
  if (n <= 1) return [];
  const k = split(n);
  if (m < k) return [...inclusionPath(m, leaves.slice(0, k)), merkleRoot(leaves.slice(k))];
  return [...inclusionPath(m - k, leaves.slice(k)), merkleRoot(leaves.slice(0, k))];
}

/** RFC 9162 section 2.1.3.2 verification of an inclusion path (constant-time final comparison). */
export function verifyInclusion(leaf, index, size, path, root) {
  if (!(Number.isInteger(index) && Number.isInteger(size)) || index < 0 || index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && constantTimeEqual(r, root);
}
