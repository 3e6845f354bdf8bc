// The unreadable taxonomy (src/unreadable.mjs) is spec/unreadable.md's table, row by row.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UNREADABLE, explain } from '../src/unreadable.mjs';
import { AuthError, DeviceTooNewError } from '../src/errors.mjs';

const specPath = fileURLToPath(new URL('../../../spec/unreadable.md', import.meta.url));

function specTable() {
  const lines = readFileSync(specPath, 'utf8').split('\n');
  const start = lines.findIndex((l) => l.startsWith('| code | cause |'));
  const rows = [];
  for (const l of lines.slice(start + 2)) {
    if (!l.startsWith('|')) break;
    const cells = l.slice(1, -1).split(' | ').map((c) => c.trim());
    const [code, cause, retry, action, message] = cells.map((c) => c.replace(/^`(.*)`$/, '$1'));
    rows.push({ code, cause, retry: retry === 'yes', action, message });
  }
  return rows;
}

test('the taxonomy equals the table of spec/unreadable.md', () => {
  const rows = specTable();
  assert.equal(rows.length, 14);
  assert.deepEqual(UNREADABLE.map((r) => ({ ...r })), rows);
});

test('explain: by error or code; any other code is internal', () => {
  assert.equal(explain(new DeviceTooNewError()).action, 'restore-backup-or-ask-sibling');
  assert.equal(explain(new AuthError()).cause, 'tampered');
  assert.equal(explain('E_WITHHELD').cause, 'withheld-by-policy');
  const other = explain('E_KEY_EXHAUSTED');
  assert.equal(other.cause, 'internal');
  assert.equal(other.action, 'report');
  assert.equal(other.code, 'E_KEY_EXHAUSTED');
});
