// The chunk tree of an attachment (spec/attachment.md#chunk-tree): BLAKE3 leaves over the encrypted
// chunks, RFC 9162 shape, stored in the blob in post-order (after chunk i: leaf_i, then the nodes of the
// perfect subtrees chunk i completes), and root = BLAKE3(ATTACHMENT_ROOT || header || tree).
import { blake3 } from '@noble/hashes/blake3.js';
import { concat, constantTimeEqual } from './encoding.mjs';
import { ATTACHMENT_LEAF, ATTACHMENT_NODE, ATTACHMENT_ROOT } from './labels.mjs';

export const HASH_LENGTH = 32;

export const leafHash = (chunk) => blake3.create().update(ATTACHMENT_LEAF).update(chunk).digest();
export const nodeHash = (left, right) => blake3(concat(ATTACHMENT_NODE, left, right));
export const rootHash = (header, tree) => blake3(concat(ATTACHMENT_ROOT, header, tree));

/** Trailing zero bits of a positive integer below 2^53. */
function tz(x) {
  let k = 0;
  while (x % 2 === 0) {
    x /= 2;
    k += 1;
  }
  return k;
}

function popcount(x) {
  let k = 0;
  for (; x > 0; x = Math.floor(x / 2)) k += x % 2;
  return k;
}

/** Hashes stored after chunk i: 1 + tz(i + 1). */
export const frameHashes = (i) => 1 + tz(i + 1);
/** Hashes stored in the frames of chunks 0 .. i-1: 2i - popcount(i). */
export const hashesBefore = (i) => 2 * i - popcount(i);

/** The perfect subtrees of a tree of n leaves, left to right: {level, start}. */
export function perfectSubtrees(n) {
  const out = [];
  let start = 0;
  for (let level = 52; level >= 0; level--) {
    const size = 2 ** level;
    if (Math.floor(n / size) % 2 === 1) {
      out.push({ level, start });
      start += size;
    }
  }
  return out;
}

function subtreeOf(i, n) {
  const tops = perfectSubtrees(n);
  const which = tops.findIndex((t) => i < t.start + 2 ** t.level);
  return { tops, which };
}

/** The proof's nodes {level, position} in proof order: siblings inside i's perfect subtree from the leaf
 * up, then the other perfect subtrees left to right. */
export function proofNodes(i, n) {
  const { tops, which } = subtreeOf(i, n);
  const out = [];
  for (let level = 0; level < tops[which].level; level++) {
    const p = Math.floor(i / 2 ** level);
    out.push({ level, position: p % 2 === 0 ? p + 1 : p - 1 });
  }
  tops.forEach((t, k) => {
    if (k !== which) out.push({ level: t.level, position: t.start / 2 ** t.level });
  });
  return out;
}

function fold(tops) {
  let tree = tops[tops.length - 1];
  for (let k = tops.length - 2; k >= 0; k--) tree = nodeHash(tops[k], tree);
  return tree;
}

/** True when `proof` (hashes in proofNodes order) includes `leaf` at i in the tree that `root` names. */
export function proofMatches(leaf, i, n, proof, header, root) {
  const { tops, which } = subtreeOf(i, n);
  const height = tops[which].level;
  let top = leaf;
  for (let level = 0; level < height; level++) {
    top = Math.floor(i / 2 ** level) % 2 === 1 ? nodeHash(proof[level], top) : nodeHash(top, proof[level]);
  }
  const others = proof.slice(height);
  return constantTimeEqual(rootHash(header, fold([...others.slice(0, which), top, ...others.slice(which)])), root);
}

/** Builds the tree leaf by leaf with one hash per perfect subtree; add() returns the hashes stored after the chunk. */
export class TreeBuilder {
  #stack = [];

  add(chunk) {
    const leaf = leafHash(chunk);
    const stored = [leaf];
    this.#stack.push({ level: 0, hash: leaf });
    const s = this.#stack;
    while (s.length > 1 && s[s.length - 1].level === s[s.length - 2].level) {
      const right = s.pop();
      const left = s.pop();
      s.push({ level: left.level + 1, hash: nodeHash(left.hash, right.hash) });
      stored.push(s[s.length - 1].hash);
    }
    return concat(...stored);
  }

  root(header) {
    return rootHash(header, fold(this.#stack.map((t) => t.hash)));
  }
}
