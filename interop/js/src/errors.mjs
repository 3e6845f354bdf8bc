// Error taxonomy of spec/errors.md. Every error carries a stable `.code`; messages never contain key material.

export class DomviaError extends Error {
  constructor(code, message) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** E_FORMAT: malformed structure. `field` names the offending field or JSON member. */
export class FormatError extends DomviaError {
  constructor(field, detail) {
    super('E_FORMAT', detail ? `malformed ${field}: ${detail}` : `malformed ${field}`);
    this.field = field;
  }
}

/** E_AUTH: one opaque error for every cryptographic failure (no cause, no detail). */
export class AuthError extends DomviaError {
  constructor() {
    super('E_AUTH', 'authentication failed');
  }
}

export class UnknownKeyError extends DomviaError {
  constructor(detail = 'the epoch or key id is not held') { super('E_UNKNOWN_KEY', detail); }
}
export class UnknownSenderError extends DomviaError {
  constructor(detail = 'the sender is not known') { super('E_UNKNOWN_SENDER', detail); }
}
export class NotMemberError extends DomviaError {
  constructor(detail = 'the epoch is held as a link: not a member then') { super('E_NOT_MEMBER', detail); }
}
export class GapError extends DomviaError {
  constructor(detail = 'epochs are missing before this one') { super('E_GAP', detail); }
}
/** E_FORK: two authorised histories. `evidence` is the list of signed items that prove it (spec/keyring.md#forks). */
export class ForkError extends DomviaError {
  constructor(evidence = [], detail = 'two authorised histories for one room') {
    super('E_FORK', detail);
    this.evidence = evidence;
  }
}
export class DowngradeError extends DomviaError {
  constructor(detail = 'KEM downgrade not allowed here') { super('E_DOWNGRADE', detail); }
}
export class ReplayError extends DomviaError {
  constructor(detail = 'message already opened') { super('E_REPLAY', detail); }
}
export class StaleError extends DomviaError {
  constructor(detail = 'not newer than what is held') { super('E_STALE', detail); }
}
export class UnauthorizedError extends DomviaError {
  constructor(detail = 'the signer may not do this') { super('E_UNAUTHORIZED', detail); }
}
export class NotRecipientError extends DomviaError {
  constructor(detail = 'this participant is not a recipient') { super('E_NOT_RECIPIENT', detail); }
}
export class PolicyError extends DomviaError {
  constructor(detail = 'refused by local policy', code = 'E_POLICY') { super(code, detail); }
}
/** E_KEY_EXHAUSTED is a policy error (spec/errors.md). */
export class KeyExhaustedError extends PolicyError {
  constructor(detail = 'the (epoch, sender) key reached its message bound') { super(detail, 'E_KEY_EXHAUSTED'); }
}
/** E_ROLLBACK: a user's device list older than one already held or used by the chain (spec/users.md). */
export class RollbackError extends DomviaError {
  constructor(detail = 'an older device list than one already held') { super('E_ROLLBACK', detail); }
}
/** E_DEVICE_TOO_NEW: an epoch held as a link while P's user was a member: this device was added after it. */
export class DeviceTooNewError extends DomviaError {
  constructor(detail = 'this device was added after the epoch') { super('E_DEVICE_TOO_NEW', detail); }
}
/** E_WITHHELD: an epoch key P held and forgot under its retention policy. */
export class WithheldError extends DomviaError {
  constructor(detail = 'the epoch key was forgotten under the retention policy') { super('E_WITHHELD', detail); }
}
export class BadKeyError extends DomviaError {
  constructor(detail = 'invalid public key') { super('E_BAD_KEY', detail); }
}
/** Not a spec code: an operation this implementation does not offer (conformance.md says E_UNSUPPORTED). */
export class UnsupportedError extends DomviaError {
  constructor(detail = 'unsupported operation') { super('E_UNSUPPORTED', detail); }
}
