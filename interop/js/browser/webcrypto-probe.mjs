// Which primitives of this format WebCrypto offers, probed by using each once (no feature tables):
// run in Node (node browser/webcrypto-probe.mjs) and in Chromium (node browser/run.mjs webcrypto).
export async function probeWebCrypto(subtle = globalThis.crypto.subtle) {
  const bytes = (n) => new Uint8Array(n).fill(7);
  const attempt = async (fn) => {
    try {
      await fn();
      return 'yes';
    } catch (e) {
      return `no (${e && e.name})`;
    }
  };
  return {
    'SHA-256': await attempt(() => subtle.digest('SHA-256', bytes(1))),
    'SHA-512': await attempt(() => subtle.digest('SHA-512', bytes(1))),
    'HMAC-SHA256': await attempt(async () => {
      const k = await subtle.importKey('raw', bytes(32), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
      await subtle.sign('HMAC', k, bytes(1));
    }),
    'HKDF-SHA256': await attempt(async () => {
      const k = await subtle.importKey('raw', bytes(32), 'HKDF', false, ['deriveBits']);
      await subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: bytes(32), info: bytes(1) }, k, 256);
    }),
    'AES-256-GCM': await attempt(async () => {
      const k = await subtle.importKey('raw', bytes(32), 'AES-GCM', false, ['encrypt']);
      await subtle.encrypt({ name: 'AES-GCM', iv: bytes(12), additionalData: bytes(3) }, k, bytes(5));
    }),
    'ChaCha20-Poly1305 / XChaCha20-Poly1305': await attempt(async () => {
      const k = await subtle.importKey('raw', bytes(32), 'ChaCha20-Poly1305', false, ['encrypt']);
      await subtle.encrypt({ name: 'ChaCha20-Poly1305', iv: bytes(12) }, k, bytes(5));
    }),
    X25519: await attempt(async () => {
      const a = await subtle.generateKey({ name: 'X25519' }, false, ['deriveBits']);
      const b = await subtle.generateKey({ name: 'X25519' }, false, ['deriveBits']);
      await subtle.deriveBits({ name: 'X25519', public: b.publicKey }, a.privateKey, 256);
    }),
    Ed25519: await attempt(async () => {
      const k = await subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']);
      await subtle.verify('Ed25519', k.publicKey, await subtle.sign('Ed25519', k.privateKey, bytes(1)), bytes(1));
    }),
    'SHA3-256 (the X-Wing combiner)': await attempt(() => subtle.digest('SHA3-256', bytes(1))),
    'SHAKE256 (X-Wing key expansion)': await attempt(() => subtle.digest({ name: 'cSHAKE256', length: 768 }, bytes(1))),
    'ML-KEM-768 (generate, encapsulate, decapsulate)': await attempt(async () => {
      const k = await subtle.generateKey({ name: 'ML-KEM-768' }, false, ['encapsulateBits', 'decapsulateBits']);
      const { ciphertext } = await subtle.encapsulateBits({ name: 'ML-KEM-768' }, k.publicKey);
      await subtle.decapsulateBits({ name: 'ML-KEM-768' }, k.privateKey, ciphertext);
    }),
    'ML-KEM-768 private key from a 64-byte seed (raw-seed)': await attempt(() =>
      subtle.importKey('raw-seed', bytes(64), { name: 'ML-KEM-768' }, false, ['decapsulateBits'])),
    'X25519 deriveBits with a small-order peer (u = 0) succeeds': await attempt(async () => {
      const a = await subtle.generateKey({ name: 'X25519' }, false, ['deriveBits']);
      const zero = await subtle.importKey('raw', new Uint8Array(32), { name: 'X25519' }, false, []);
      await subtle.deriveBits({ name: 'X25519', public: zero }, a.privateKey, 256);
    }),
    'Ed25519 importKey of the identity point succeeds': await attempt(() =>
      subtle.importKey('raw', Uint8Array.of(1, ...new Uint8Array(31)), { name: 'Ed25519' }, false, ['verify'])),
  };
}

if (typeof process !== 'undefined' && import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify({ platform: `Node ${process.versions.node}`, ...(await probeWebCrypto()) }, null, 1));
}
