// Padmé padding with a 32-byte floor (spec/message.md#padding).
import { AuthError, FormatError } from './errors.mjs';

export const PAD_FLOOR = 32;
const MAX_CONTENT = 65536; // spec/message.md#limits (also message.mjs's MAX_CONTENT)

export function padme(L) {
  if (L < 2) return L;
  const E = Math.floor(Math.log2(L));
  const S = Math.floor(Math.log2(E)) + 1;
  const lastBits = E - S;
  const m = 2 ** lastBits - 1;
  // (L + m) & ~m without 32-bit overflow
  return Math.floor((L + m) / (m + 1)) * (m + 1);
}

export function paddedLength(contentLength) {
  return padme(Math.max(contentLength + 1, PAD_FLOOR));
}

export function pad(content) {
  const out = new Uint8Array(paddedLength(content.length));
  out.set(content);
  out[content.length] = 0x80;
  return out;
}

/**
 * Canonical unpadding; every padding failure is E_AUTH. Content over 65,536 bytes is E_FORMAT
 * (spec/message.md#limits): 67,584 bytes of padding also fit every content length up to 67,583.
 */
export function unpad(padded) {
  let i = padded.length;
  while (i > 0 && padded[i - 1] === 0x00) i--;
  if (i === 0 || padded[i - 1] !== 0x80) throw new AuthError();
  const n = i - 1;
  if (padded.length !== paddedLength(n)) throw new AuthError();
  if (n > MAX_CONTENT) throw new FormatError('content', 'larger than 65,536 bytes');
  return padded.slice(0, n);
}
