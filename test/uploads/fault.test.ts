/**
 * Firestore killed in the middle of a label load: the event fails (throws, so that the platform redelivers
 * it) and the redelivery once Firestore is back completes the load with no document missing or doubled.
 * The scenario runs in a child process (fault-scenario.ts; see there why) and its assertions run there too.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

test('Firestore killed mid-load: the event throws; the redelivery completes it, nothing missing or doubled', async () => {
  const script = fileURLToPath(new URL('./fault-scenario.ts', import.meta.url));
  const { stdout } = await promisify(execFile)(process.execPath, [script], {
    maxBuffer: 16 << 20,
    timeout: 8 * 60_000,
  });
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  assert.ok(line, `no RESULT line in:\n${stdout.slice(-4000)}`);
  const r = JSON.parse(line.slice('RESULT '.length)) as Record<string, unknown>;
  console.log(`# ${JSON.stringify(r)}`);
  assert.equal(r.error, undefined, String(r.error));
  assert.equal(r.ok, true);
  assert.ok(Number(r.documentsWhenFailed) > 0 && Number(r.documentsWhenFailed) < 3000, 'killed mid-load');
  assert.equal(r.documents, 3000);
  assert.equal(r.reportAttempt, 2);
});
