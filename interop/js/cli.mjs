#!/usr/bin/env node
// Small command line over the JavaScript library, for round trips with other implementations.
// Usage: node cli.mjs COMMAND < request.json > response.json
// Every command reads one JSON object on standard input and writes one JSON object on standard output:
// the result, or {"error": "E_CODE", "message": "..."} with exit status 1. Byte strings are hex;
// identities are private {id, x25519, ed25519, xwing?} (hex raw keys) or public (identity JSON text).
//
//   identity      {id, x25519, ed25519, xwing?}                    -> {public: text, fingerprint, safety_number}
//   seal          {secret, suite, room_id, epoch, content, message_id, content_type?, padded?,
//                  sender: private identity (signed) | sender_id (unsigned), form?: "binary"|"json"}
//                                                                   -> {binary, json}
//   open          {secret, suite, room_id, epoch, binary | json, sender?: public text (signed path)}
//                                                                   -> {content, sender_id, message_id, content_type, signed}
//   build-bundle  {rotator: private, secret, suite, kem, room_id, epoch, previous? (hex; zeros), issued_at, flags?,
//                  max_messages?, max_age_seconds?, admins? ([[id, hex fingerprint]]; the rotator), members: [public text],
//                  authority? (member proof object)}  -> {bundle, announcement, slices, epoch_hash}
//   keyring       {owner: private, allow_unsigned?, directory: [public text], anchors: [{room_id, id}],
//                  steps: [{accept: hex} | {open: {binary|json}, check_replay?} | {seal: {room_id, content,
//                  message_id, content_type?, padded?, signed?}}]}   -> {results, held}
//   batch         {requests: [{command, input}]}   -> {responses: [result | {error, message}]}  (one process, many calls)
import { readFileSync } from 'node:fs';
import {
  KeyRing,
  PublicIdentity,
  RoomKey,
  buildBundle,
  fromHex,
  open,
  openUnsigned,
  seal,
  toHex,
  ZERO_HASH,
} from './src/index.mjs';
import { FormatError, UnsupportedError } from './src/errors.mjs';
import { openedOutput, privateIdentity, proofObject } from './conformance/ops.mjs';

const hex = (s, field) => fromHex(s, field);

function publicIdentity(p) {
  return PublicIdentity.fromJSON(typeof p === 'string' ? p : JSON.stringify(p));
}

function roomKeyOf(r) {
  return new RoomKey(hex(r.secret, 'secret'), { roomId: r.room_id, epoch: r.epoch, suite: r.suite ?? 'A256GCM' });
}

function messageOf(r) {
  if (typeof r.binary === 'string') return hex(r.binary, 'binary');
  if (typeof r.json === 'string') return r.json;
  throw new FormatError('message', 'binary or json is required');
}

function opened(o) {
  return openedOutput(o, true);
}

const COMMANDS = {
  async identity(r) {
    const id = await privateIdentity(r);
    return { public: id.public.toJSON(), fingerprint: toHex(id.fingerprint), safety_number: id.public.safetyNumber };
  },

  async seal(r) {
    const key = roomKeyOf(r);
    const signer = r.sender ? await privateIdentity(r.sender) : null;
    const msg = seal(key, hex(r.content, 'content'), {
      senderId: signer ? signer.id : r.sender_id,
      messageId: r.message_id,
      contentType: r.content_type ?? 'text/plain',
      padded: r.padded ?? true,
      signer,
    });
    return { binary: toHex(msg.toBinary()), json: msg.toJSON() };
  },

  async open(r) {
    const key = roomKeyOf(r);
    const input = messageOf(r);
    return opened(r.sender ? open(key, input, publicIdentity(r.sender)) : openUnsigned(key, input));
  },

  async 'build-bundle'(r) {
    const rotator = await privateIdentity(r.rotator);
    const b = await buildBundle({
      rotator,
      roomKey: roomKeyOf(r),
      kem: r.kem ?? 1,
      previous: r.previous ? hex(r.previous, 'previous') : ZERO_HASH,
      issuedAt: BigInt(r.issued_at ?? Math.floor(Date.now() / 1000)),
      flags: r.flags ?? 0,
      maxMessages: r.max_messages ?? 100,
      maxAgeSeconds: r.max_age_seconds ?? 604800,
      admins: (r.admins ?? [[rotator.id, toHex(rotator.fingerprint)]]).map(([id, fp]) => ({ id, fingerprint: hex(fp, 'admins') })),
      members: r.members.map(publicIdentity),
      authority: r.authority ? proofObject(r.authority) : null,
    });
    const out = {};
    for (const [id, s] of Object.entries(b.slices)) out[id] = toHex(s);
    return { bundle: toHex(b.bundle), announcement: toHex(b.announcement), slices: out, epoch_hash: toHex(b.epochHash) };
  },

  async keyring(r) {
    const ring = new KeyRing(await privateIdentity(r.owner), { allowUnsigned: !!r.allow_unsigned });
    for (const d of r.directory ?? []) ring.addIdentity(publicIdentity(d));
    for (const a of r.anchors ?? r.admins ?? []) {
      const who = ring.identity(a.id);
      if (!who) throw new FormatError('anchors', 'an anchor must be in the directory');
      ring.trustAnchor(a.room_id, who);
    }
    const results = [];
    for (const step of r.steps ?? []) {
      if (step.accept !== undefined) {
        const a = await ring.accept(hex(step.accept, 'accept'));
        results.push({ accepted: { room_id: a.roomId, epochs: a.epochs, kind: a.kind } });
      } else if (step.open !== undefined) {
        results.push({ opened: opened(ring.open(messageOf(step.open), { checkReplay: step.check_replay !== false })) });
      } else if (step.seal !== undefined) {
        const s = step.seal;
        const msg = ring.seal(s.room_id, hex(s.content, 'content'), {
          messageId: s.message_id,
          contentType: s.content_type ?? 'text/plain',
          padded: s.padded ?? true,
          signed: s.signed ?? true,
        });
        results.push({ sealed: { binary: toHex(msg.toBinary()), json: msg.toJSON() } });
      } else {
        throw new UnsupportedError('unknown keyring step');
      }
    }
    return {
      results,
      held: ring.held().map((h) => ({ room_id: h.roomId, epoch: h.epoch, key_id: toHex(h.keyId), secret: h.secret ? toHex(h.secret) : null })),
    };
  },
};

function errorResult(e) {
  const code = e && typeof e.code === 'string' && e.code.startsWith('E_') ? e.code : 'E_INTERNAL';
  return { error: code, message: String(e && e.message) };
}

COMMANDS.batch = async (r) => {
  const responses = [];
  for (const req of r.requests ?? []) {
    const fn = req.command !== 'batch' && Object.prototype.hasOwnProperty.call(COMMANDS, req.command) ? COMMANDS[req.command] : null;
    try {
      if (!fn) throw new UnsupportedError('unknown command');
      responses.push(await fn(req.input ?? {}));
    } catch (e) {
      responses.push(errorResult(e));
    }
  }
  return { responses };
};

async function main() {
  const name = process.argv[2];
  if (!name || !Object.prototype.hasOwnProperty.call(COMMANDS, name)) {
    process.stderr.write(`usage: node cli.mjs {${Object.keys(COMMANDS).join('|')}} < request.json\n`);
    process.exit(2);
  }
  let request;
  try {
    request = JSON.parse(readFileSync(0, 'utf8'));
  } catch {
    process.stdout.write(JSON.stringify({ error: 'E_FORMAT', message: 'standard input is not a JSON object' }) + '\n');
    process.exit(1);
  }
  try {
    const result = await COMMANDS[name](request);
    process.stdout.write(JSON.stringify(result) + '\n');
  } catch (e) {
    process.stdout.write(JSON.stringify(errorResult(e)) + '\n');
    process.exit(1);
  }
}

await main();
