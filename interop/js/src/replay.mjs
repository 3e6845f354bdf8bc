// Replay state per (room, epoch) (spec/keyring.md#replay-state): a bounded set per epoch that closes when full
// (nothing is evicted), kept for the room's newest `liveEpochs` epochs only.
import { ReplayError, StaleError } from './errors.mjs';

export const DEFAULT_REPLAY_CAPACITY = 100000;
export const DEFAULT_LIVE_EPOCHS = 16;

// '\n' cannot occur in an id, so the pair encoding is unambiguous.
const pair = (senderId, messageId) => `${senderId}\n${messageId}`;

// Bits of an entry, as in the key ring file's replay state (spec/files.md): sealed here, opened.
export const SEALED = 1;
export const OPENED = 2;

export class EpochReplay {
  #seen = new Map(); // pair -> bits
  constructor(capacity = DEFAULT_REPLAY_CAPACITY) {
    this.capacity = capacity;
  }
  get closed() {
    return this.#seen.size >= this.capacity;
  }
  get size() {
    return this.#seen.size;
  }
  /** The pair was sealed here or opened: a sealer refuses it as a given id (E_POLICY). */
  has(senderId, messageId) {
    return this.#seen.has(pair(senderId, messageId));
  }
  /**
   * Step 6 of spec/keyring.md#opening: E_STALE when closed, E_REPLAY when already opened, else record. A pair only
   * sealed here (P's own message coming back) opens once: the state is "opened live, and ids P sealed".
   */
  recordOpened(senderId, messageId) {
    if (this.closed) throw new StaleError("the epoch's replay state is closed");
    const k = pair(senderId, messageId);
    const bits = this.#seen.get(k) ?? 0;
    if (bits & OPENED) throw new ReplayError();
    this.#seen.set(k, bits | OPENED);
  }
  /** Record an id P sealed (the sealer checked `closed` and `has` first: E_STALE, E_POLICY). */
  recordSealed(senderId, messageId) {
    const k = pair(senderId, messageId);
    this.#seen.set(k, (this.#seen.get(k) ?? 0) | SEALED);
  }
}

/** The replay states of one room's epochs. */
export class RoomReplay {
  #epochs = new Map();
  constructor({ capacity = DEFAULT_REPLAY_CAPACITY, liveEpochs = DEFAULT_LIVE_EPOCHS } = {}) {
    this.capacity = capacity;
    this.liveEpochs = liveEpochs;
  }
  isLive(epoch, latest) {
    return epoch > latest - this.liveEpochs;
  }
  /** The epoch's state, or null once it was dropped (older than the newest `liveEpochs` epochs). */
  state(epoch, latest) {
    if (!this.isLive(epoch, latest)) return null;
    let s = this.#epochs.get(epoch);
    if (!s) this.#epochs.set(epoch, (s = new EpochReplay(this.capacity)));
    return s;
  }
  /** Drop the state of epochs that left the window when `latest` moved up. */
  prune(latest) {
    for (const e of this.#epochs.keys()) if (!this.isLive(e, latest)) this.#epochs.delete(e);
  }
}
