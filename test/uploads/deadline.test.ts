/**
 * withinAttemptTime, the bound on one upload attempt: in time, the work's own result or error; past the
 * bound, an UploadAttemptTimeout at the bound (not when the work ends), and the work's signal aborted so that
 * its later steps do not run.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withinAttemptTime } from '../../shared/uploads/deadline.ts';
import { isTransient, UploadAttemptTimeout } from '../../shared/uploads/errors.ts';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

test('work that ends in time: its value, or its own error', async () => {
  assert.equal(await withinAttemptTime(1000, 'attempt 1', async () => 'done'), 'done');
  await assert.rejects(
    withinAttemptTime(1000, 'attempt 1', async () => {
      throw new Error('Firestore said no');
    }),
    /Firestore said no/,
  );
});

test('work that never settles: an UploadAttemptTimeout at the bound, which a redelivery may cure', async () => {
  const t0 = performance.now();
  const err = await withinAttemptTime(200, 'attempt 3', () => new Promise<never>(() => {})).catch(
    (e: unknown) => e,
  );
  const ms = performance.now() - t0;
  assert.ok(err instanceof UploadAttemptTimeout, String(err));
  assert.match(err.message, /attempt 3 did not finish within 0.2 s/);
  assert.ok(ms >= 190 && ms < 2000, `${ms} ms`);
  assert.equal(isTransient(err), true);
});

test('past the bound the work is told to stop: a step after its next check does not run', async () => {
  let seen: AbortSignal | undefined;
  let laterStep = false;
  const err = await withinAttemptTime(100, 'attempt 1', async (signal) => {
    seen = signal;
    await sleep(300); // a call that outlives the bound (an SDK retrying)
    signal.throwIfAborted();
    laterStep = true; // e.g. writing the report
  }).catch((e: unknown) => e);
  assert.ok(err instanceof UploadAttemptTimeout);
  assert.equal(seen?.aborted, true);
  assert.equal(seen?.reason, err);
  await sleep(400);
  assert.equal(laterStep, false);
});

test('in time, the signal is never aborted and no timer is left behind', async () => {
  let seen: AbortSignal | undefined;
  await withinAttemptTime(100, 'attempt 1', async (signal) => {
    seen = signal;
  });
  await sleep(200);
  assert.equal(seen?.aborted, false);
});
