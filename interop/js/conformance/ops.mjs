// Translation of the conformance operations (spec/conformance.md, spec/attachment.md#conformance) to
// the library. Inputs arrive parsed by JSON.parse (the protocol layer); byte strings are hex.
import {
  AttachmentReference,
  Identity,
  KeyRing,
  PublicIdentity,
  RoomKey,
  SealedMessage,
  UnsupportedError,
  fromHex,
  openAttachment,
  openAttachmentChunk,
  pad,
  toHex,
  unpad,
  unwrapRoomKey,
} from '../src/index.mjs';
import { _wrapRoomKey } from '../src/wrap.mjs';
import { _buildBundle, memberProofFile } from '../src/bundle.mjs';
import { parseHeader } from '../src/header.mjs';
import { keysOf } from '../src/memberproof.mjs';
import { _buildHistory } from '../src/history.mjs';
import { _sealWithNonce, openParsed, encodeHeader } from '../src/message.mjs';
import { AttachmentSealer } from '../src/attachment.mjs';
import { DomviaError, FormatError } from '../src/errors.mjs';
import { _sealWithNonce as ringSealWithNonce, _setSealed } from '../src/keyring.mjs';
import { LABELS } from '../src/wrap.mjs';
import { concat } from '../src/encoding.mjs';
import { AAD_MESSAGE } from '../src/labels.mjs';
import { suiteByName } from '../src/suites.mjs';
import { buildDeviceList, parseDeviceList, userFingerprintOf, verifyDeviceList } from '../src/devicelist.mjs';
import { UserKey, UserSigner } from '../src/userkey.mjs';
import { openBackupInfo, parseBackupInfo, secretOf, verifyBackupInfo } from '../src/backupinfo.mjs';

/** A user key object {"v", "user", "sig"} (spec/users.md#user-key), through the strict JSON path. */
function userKeyObject(obj) {
  return UserKey.fromJSON(JSON.stringify(obj));
}

const listSummary = (l) => ({ user_id: l.userId, version: l.version, digest: toHex(l.digest) });

const hex = (s, field) => fromHex(s, field);

function roomKeyOf(i) {
  return new RoomKey(hex(i.secret, 'secret'), { roomId: i.room_id, epoch: i.epoch, suite: i.suite });
}

/** A public identity given as an object: re-serialized and imported through the strict JSON path. */
export function publicIdentity(obj) {
  return PublicIdentity.fromJSON(JSON.stringify(obj));
}

export async function privateIdentity(p) {
  if (!p || typeof p !== 'object') throw new FormatError('identity', 'a private identity object is required');
  return Identity.fromKeys({
    id: p.id,
    x25519: hex(p.x25519, 'x25519'),
    ed25519: hex(p.ed25519, 'ed25519'),
    xwing: p.xwing ? hex(p.xwing, 'xwing') : null,
  });
}

/** A member proof object {identity, wrapped_digest, index, path, optional list_digest} (spec/conformance.md), or null. */
export function proofObject(p) {
  return proofOf(p);
}

function proofOf(p) {
  if (p === null || p === undefined) return null;
  return {
    ...keysOf(publicIdentity(p.identity), listDigestOf(p)),
    wrappedDigest: hex(p.wrapped_digest, 'wrapped_digest'),
    index: p.index,
    path: p.path.map((x) => hex(x, 'path')),
  };
}

/** The optional `list_digest` (hex, 32 bytes) of a proof object or history roster member: 32 zero bytes when absent. */
function listDigestOf(o) {
  if (o.list_digest === undefined) return undefined;
  const d = hex(o.list_digest, 'list_digest');
  if (d.length !== 32) throw new FormatError('list_digest', 'a list digest is 32 bytes');
  return d;
}

function messageInput(i) {
  if (typeof i.binary === 'string') return hex(i.binary, 'binary');
  if (typeof i.json === 'string') return i.json;
  throw new FormatError('message', 'neither binary nor json');
}

function labelOf(name) {
  const l = LABELS[name];
  if (!l) throw new FormatError('label', 'unknown label');
  return l;
}

/** An opened message as the conformance protocol, the CLI and the browser page report it. */
export function openedOutput(o, withRoom) {
  const out = {
    content: toHex(o.content),
    sender_id: o.senderId,
    message_id: o.messageId,
    content_type: o.contentType,
    signed: o.signed,
  };
  if (withRoom) {
    out.room_id = o.roomId;
    out.epoch = o.epoch;
  }
  return out;
}

/** The recovery key (text) or passphrase (hex) of a backup_info op or restore step. */
function secretInput(i) {
  if (typeof i.recovery_key === 'string') return { recoveryKey: i.recovery_key };
  if (typeof i.passphrase === 'string') return { passphrase: hex(i.passphrase, 'passphrase') };
  return {};
}

const restoredOutput = (r) => ({
  restored: { rooms: r.rooms, keys: r.keys, refused_rooms: r.refusedRooms, refused_chunks: r.refusedChunks },
});

/** One step of the `session` op (spec/conformance.md): its result, or a thrown error. */
async function sessionStep(ring, step) {
  if (step === null || typeof step !== 'object') throw new FormatError('steps', 'a step is an object');
  if ('accept' in step) {
    const r = await ring.accept(hex(step.accept, 'accept'));
    return { accepted: { room_id: r.roomId, epochs: r.epochs, kind: r.kind, identity_changes: r.identityChanges } };
  }
  if ('open' in step) {
    const o = ring.open(messageInput(step.open), { checkReplay: step.check_replay !== false });
    return { opened: openedOutput(o, true) };
  }
  if ('seal' in step) {
    const p = step.seal;
    if (typeof p?.message_id !== 'string') throw new FormatError('message_id', 'the seal step names its message id');
    const msg = ringSealWithNonce(
      ring, p.room_id, hex(p.content, 'content'), { messageId: p.message_id, contentType: 'text/plain', padded: true, signed: true },
      hex(p.nonce, 'nonce'),
    );
    return { sealed: { binary: toHex(msg.toBinary()) } };
  }
  if ('pin_user' in step) {
    return { pinned: ring.pinUser(userKeyObject(step.pin_user)).userId };
  }
  if ('add_device_list' in step) {
    const ids = step.identities ?? [];
    if (!Array.isArray(ids)) throw new FormatError('identities', 'a list of public identities');
    return { device_list: listSummary(ring.addDeviceList(hex(step.add_device_list, 'add_device_list'), ids.map(publicIdentity))) };
  }
  if ('restore' in step) {
    const p = step.restore;
    if (!p || typeof p !== 'object' || !Array.isArray(p.chunks)) throw new FormatError('restore', 'an object with chunks');
    return restoredOutput(await ring.restore({
      info: hex(p.info, 'info'), chunks: p.chunks.map((c) => hex(c, 'chunks')), ...secretInput(p),
    }));
  }
  if ('accept_share' in step) {
    if (!Array.isArray(step.accept_share)) throw new FormatError('accept_share', 'a list of chunks');
    return restoredOutput(await ring.acceptShare(step.accept_share.map((c) => hex(c, 'accept_share'))));
  }
  if ('set_sealed' in step) {
    const p = step.set_sealed;
    _setSealed(ring, p.room_id, p.epoch, p.count);
    return { set: true };
  }
  throw new UnsupportedError('unknown session step');
}

const OPS = {
  key_schedule(i) {
    const k = roomKeyOf(i);
    return { key_id: toHex(k.keyId), sender_key: toHex(k.senderKey(i.sender_id)) };
  },

  pad(i) {
    return { padded: toHex(pad(hex(i.content))) };
  },

  unpad(i) {
    return { content: toHex(unpad(hex(i.padded))) };
  },

  aad(i) {
    const header = encodeHeader({
      suite: suiteByName(i.suite), flags: i.flags, roomId: i.room_id, epoch: i.epoch, keyId: hex(i.key_id),
      senderId: i.sender_id, contentType: i.content_type, messageId: i.message_id,
    });
    return { header: toHex(header), aad: toHex(concat(AAD_MESSAGE, header)) };
  },

  seal(i) {
    const msg = _sealWithNonce(
      roomKeyOf(i),
      hex(i.content),
      {
        senderId: i.sender_id,
        messageId: i.message_id,
        contentType: i.content_type,
        padded: i.padded,
        signer: i.signing_seed ? hex(i.signing_seed) : null,
      },
      hex(i.nonce),
    );
    return { binary: toHex(msg.toBinary()), json: msg.toJSON() };
  },

  open(i) {
    const key = roomKeyOf(i);
    const msg = SealedMessage.parse(messageInput(i));
    const sender = i.sender ? publicIdentity(i.sender) : null;
    return openedOutput(openParsed(key, msg, { sender, mode: sender ? 'signed' : 'unsigned' }), false);
  },

  convert(i) {
    const msg = SealedMessage.parse(messageInput(i));
    return { binary: toHex(msg.toBinary()), json: msg.toJSON() };
  },

  identity_import(i) {
    const id = PublicIdentity.fromJSON(i.json);
    return { id: id.id, fingerprint: toHex(id.fingerprint), safety_number: id.safetyNumber };
  },

  async wrap(i) {
    const wrapped = await _wrapRoomKey(
      { kem: i.kem, label: labelOf(i.label), roomKey: roomKeyOf(i), recipientId: i.recipient_id, recipientPublic: hex(i.recipient_public) },
      hex(i.ephemeral),
    );
    return { wrapped: toHex(wrapped) };
  },

  async unwrap(i) {
    const recipientPrivate = i.kem === 2 ? hex(i.recipient_xwing_seed) : hex(i.recipient_private);
    const key = await unwrapRoomKey({
      kem: i.kem, label: labelOf(i.label), suite: suiteByName(i.suite), roomId: i.room_id, epoch: i.epoch,
      keyId: hex(i.key_id), recipientId: i.recipient_id, recipientPrivate, wrapped: hex(i.wrapped),
    });
    return { secret: toHex(key.secret) };
  },

  async build_bundle(i) {
    const ephemerals = {};
    for (const [id, e] of Object.entries(i.ephemerals ?? {})) ephemerals[id] = hex(e);
    const b = await _buildBundle(
      {
        rotator: await privateIdentity(i.rotator), roomKey: roomKeyOf(i), kem: i.kem, previous: hex(i.previous, 'previous'),
        issuedAt: BigInt(i.issued_at), flags: i.flags, maxMessages: i.max_messages, maxAgeSeconds: i.max_age_seconds,
        admins: i.admins.map(([id, fp]) => ({ id, fingerprint: hex(fp, 'admins') })),
        members: i.members.map(publicIdentity), authority: proofOf(i.authority),
        lists: (i.lists ?? []).map((l) => parseDeviceList(hex(l, 'lists'))),
      },
      ephemerals,
    );
    const slices = {};
    for (const [id, s] of Object.entries(b.slices)) slices[id] = toHex(s);
    return { bundle: toHex(b.bundle), announcement: b.announcement && toHex(b.announcement), slices, epoch_hash: toHex(b.epochHash) };
  },

  member_proof(i) {
    const file = memberProofFile(hex(i.bundle, 'bundle'), i.id);
    if (!file) throw new FormatError('id', 'is not a member of the bundle');
    return { proof: toHex(file) };
  },

  async build_history(i) {
    const history = await _buildHistory({
      sharer: await privateIdentity(i.sharer), recipient: publicIdentity(i.recipient), roomId: i.room_id,
      anchorEpoch: i.anchor_epoch, issuedAt: BigInt(i.issued_at), kem: i.kem, sharerProof: proofOf(i.sharer_proof),
      entries: i.entries.map((e) => ({
        header: parseHeader(hex(e.header, 'header')),
        secret: e.secret ? hex(e.secret, 'secret') : null,
        roster: (e.roster ?? []).map((m) => ({ identity: publicIdentity(m.identity), wrappedDigest: hex(m.wrapped_digest, 'wrapped_digest'), listDigest: listDigestOf(m) })),
        ephemeral: e.ephemeral ? hex(e.ephemeral, 'ephemeral') : null,
      })),
    });
    return { history: toHex(history) };
  },

  async session(i) {
    const owner = await privateIdentity(i.owner);
    const ring = new KeyRing(owner, {
      allowUnsigned: !!i.allow_unsigned,
      ...(i.replay_capacity !== undefined ? { replayCapacity: i.replay_capacity } : {}),
      ...(i.live_epochs !== undefined ? { liveEpochs: i.live_epochs } : {}),
    });
    for (const d of i.directory ?? []) ring.addIdentity(publicIdentity(d));
    for (const a of i.anchors ?? []) {
      const who = ring.identity(a.id);
      if (!who) throw new FormatError('anchors', 'an anchor missing from the directory');
      ring.trustAnchor(a.room_id, who);
    }
    const results = [];
    for (const step of i.steps) {
      if (step.may_fail === true) {
        // the step's error is its result and the session goes on: the key ring refuses atomically (a refused
        // input changes nothing), so no snapshot is taken here
        try {
          results.push(await sessionStep(ring, step));
        } catch (e) {
          if (!(e instanceof DomviaError)) throw e;
          results.push({ error: e.code });
        }
      } else {
        results.push(await sessionStep(ring, step));
      }
    }
    return {
      results,
      held: ring.held().map((h) => ({
        room_id: h.roomId, epoch: h.epoch, key_id: toHex(h.keyId), secret: h.secret ? toHex(h.secret) : null,
        members: h.members, complete: h.complete,
      })),
      users: ring.users().map(listSummary),
    };
  },

  build_device_list(i) {
    const list = buildDeviceList({
      signer: new UserSigner(i.user_id, hex(i.user_seed, 'user_seed')), version: i.version, issuedAt: i.issued_at,
      devices: i.devices.map(publicIdentity),
      revoked: i.revoked.map((r) => ({ id: r.id, fingerprint: hex(r.fingerprint, 'fingerprint'), backupSeqLimit: r.backup_seq_limit })),
    });
    return { list: toHex(list) };
  },

  device_list(i) {
    const list = parseDeviceList(hex(i.list, 'list'));
    verifyDeviceList(list, i.pinned === null || i.pinned === undefined ? null : userKeyObject(i.pinned));
    return {
      user_id: list.userId, user_fingerprint: toHex(userFingerprintOf(list)), version: list.version,
      issued_at: Number(list.issuedAt),
      devices: list.devices.map((d) => ({ id: d.id, fingerprint: toHex(d.fingerprint) })),
      revoked: list.revoked.map((d) => ({ id: d.id, fingerprint: toHex(d.fingerprint), backup_seq_limit: d.backupSeqLimit })),
      digest: toHex(list.digest),
    };
  },

  async backup_info(i) {
    const info = verifyBackupInfo(parseBackupInfo(hex(i.info, 'info')), userKeyObject(i.user));
    const out = { user_id: info.userId, version: info.version, key_id: toHex(info.keyId), kdf: info.kdf };
    if (info.kdf === 'passphrase') Object.assign(out, { salt: toHex(info.salt), memory_kib: info.memoryKib, iterations: info.iterations, lanes: info.lanes });
    const given = secretInput(i);
    if (given.recoveryKey !== undefined || given.passphrase !== undefined) {
      await openBackupInfo(info, secretOf(info, given));
      out.secret_ok = true;
    }
    return out;
  },

  attachment_seal(i) {
    const s = new AttachmentSealer({
      suite: i.suite, chunkSize: i.chunk_size, contentType: i.content_type, fileKey: hex(i.file_key), salt: hex(i.salt),
    });
    const head = s.push(hex(i.plaintext));
    const { bytes, reference } = s.finish();
    return { blob: toHex(concat(head, bytes)), reference: reference.toJSON() };
  },

  attachment_open(i) {
    return { plaintext: toHex(openAttachment(i.reference, hex(i.blob))) };
  },

  attachment_open_chunk(i) {
    const ref = AttachmentReference.fromJSON(i.reference);
    return { plaintext: toHex(openAttachmentChunk(ref, hex(i.header), i.index, hex(i.chunk), hex(i.proof))) };
  },

  attachment_reference_parse(i) {
    const r = AttachmentReference.fromJSON(i.reference);
    return {
      file_key: toHex(r.fileKey),
      suite: r.suite.name,
      chunk_size: r.chunkSize,
      size: r.size,
      content_type: r.contentType,
      root: toHex(r.root),
      chunk_count: r.chunkCount,
      encrypted_size: r.encryptedSize,
      canonical: r.toJSON(),
    };
  },
};

/** Run one operation: resolves to {output} or rejects with an error carrying `.code`. */
export async function runOp(op, input) {
  const fn = Object.prototype.hasOwnProperty.call(OPS, op) ? OPS[op] : null;
  if (!fn) throw new UnsupportedError(`unsupported op ${op}`);
  return { output: await fn(input) };
}

export const SUPPORTED_OPS = Object.keys(OPS);
