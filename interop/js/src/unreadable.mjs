// Why can't I read this? (spec/unreadable.md): every failure to open a message falls into one cause, with whether a
// retry can help, the action a client takes and the message shown to users. Cause and action names are stable.
const WAITING = 'Waiting for this message\'s key.';
const TAMPERED = 'This message was changed or damaged on its way and cannot be read.';

/** The table of spec/unreadable.md, in its order: [{code, cause, retry, action, message}]. */
export const UNREADABLE = Object.freeze([
  ['E_UNKNOWN_KEY', 'no-key-yet', true, 'fetch-epochs', WAITING],
  ['E_GAP', 'no-key-yet', true, 'fetch-epochs', WAITING],
  ['E_UNKNOWN_SENDER', 'unknown-sender', true, 'fetch-member-proof', 'Checking who sent this message.'],
  ['E_DEVICE_TOO_NEW', 'device-too-new', true, 'restore-backup-or-ask-sibling',
    'Sent before this device was added. Restore your key backup or open this chat on another of your devices to read it.'],
  ['E_NOT_MEMBER', 'not-a-member', false, 'none', 'Sent while you were not in this room.'],
  ['E_WITHHELD', 'withheld-by-policy', true, 'restore-backup', 'This device no longer keeps keys this old. Restore your key backup to read it.'],
  ['E_FORK', 'fork', false, 'warn-user',
    "This room's history has split: some members see other messages. Your admins have been shown the evidence."],
  ['E_AUTH', 'tampered', false, 'drop', TAMPERED],
  ['E_FORMAT', 'tampered', false, 'drop', TAMPERED],
  ['E_REPLAY', 'replayed', false, 'ignore', 'A copy of a message already shown.'],
  ['E_STALE', 'replayed', false, 'ignore', 'An old message delivered again after the room moved on.'],
  ['E_UNAUTHORIZED', 'unknown-sender', false, 'drop', 'Sent by someone who is not in this room.'],
  ['E_BAD_KEY', 'unknown-sender', false, 'drop', "The sender's keys are not valid."],
  ['E_POLICY', 'refused-by-policy', false, 'none', "Refused by this device's settings (an unsigned message)."],
].map(([code, cause, retry, action, message]) => Object.freeze({ code, cause, retry, action, message })));

/** Any other code: a bug to report. */
export const INTERNAL = Object.freeze({ code: null, cause: 'internal', retry: false, action: 'report', message: 'Something went wrong. Please report it.' });

const BY_CODE = new Map(UNREADABLE.map((r) => [r.code, r]));

/** The row for an error (with `.code`) or a code string; INTERNAL (with that code) for any other. */
export function explain(errorOrCode) {
  const code = typeof errorOrCode === 'string' ? errorOrCode : errorOrCode?.code ?? null;
  return BY_CODE.get(code) ?? Object.freeze({ ...INTERNAL, code });
}
