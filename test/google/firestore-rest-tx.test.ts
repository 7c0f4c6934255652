/**
 * The Firestore REST writer (shared/google/firestore-rest-tx.ts) against the emulator, with the SDK over gRPC
 * as the independent reader and writer: values come back as the SDK wrote or reads them, preconditions fail
 * with the SDK's gRPC codes and write nothing, a failed transaction releases its locks, concurrent
 * transactions on one document all apply once each (ABORTED ones run again), and the retries are bounded.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../../scripts/emulators/firestore.ts';
import { createFirestoreWriter, type FirestoreWriter } from '../../shared/google/firestore-rest-tx.ts';
import { isTransient } from '../../shared/uploads/errors.ts';
import { startTestFirestore, type TestFirestore } from '../harness/firestore.ts';

let fs: TestFirestore;
let w: FirestoreWriter;
const C = 'rest_tx_test';

before(async () => {
  fs = await startTestFirestore();
  w = createFirestoreWriter({ projectId: fs.emulator.projectId, emulatorHost: fs.emulator.host });
});
after(async () => {
  w?.close();
  await fs?.stop();
});

const sdkGet = async (id: string) => (await fs.db.collection(C).doc(id).get()).data();
const code = (c: number) => (e: unknown) => {
  assert.equal((e as { code?: unknown }).code, c, String(e));
  return true;
};

const VALUES = {
  s: 'text é ✓',
  i: 42,
  big: Number.MAX_SAFE_INTEGER,
  neg: -7,
  d: 1.5,
  t: true,
  f: false,
  n: null,
  arr: [1, 'a', { k: 2.25 }, null],
  map: { nested: { deep: 'x' }, empty: {}, list: [] },
  'odd.key': 'needs quoting',
};

describe('values and preconditions', () => {
  test('a created document reads back in the SDK as written, and the writer reads what the SDK wrote', async () => {
    await w.runTransaction(async (tx) => tx.create(C, 'v1', VALUES));
    assert.deepEqual(await sdkGet('v1'), VALUES);
    await fs.db.collection(C).doc('v2').set(VALUES);
    assert.deepEqual(await w.runTransaction((tx) => tx.get(C, 'v2')), VALUES);
    assert.equal(await w.runTransaction((tx) => tx.get(C, 'absent')), undefined);
  });

  test('create over an existing document is ALREADY_EXISTS (6) and writes nothing', async () => {
    await fs.db.collection(C).doc('e1').set({ a: 1 });
    await assert.rejects(
      w.runTransaction(async (tx) => {
        tx.create(C, 'e1', { a: 2 });
        tx.set(C, 'e1-other', { b: 1 });
      }),
      code(6),
    );
    assert.deepEqual(await sdkGet('e1'), { a: 1 });
    assert.equal(await sdkGet('e1-other'), undefined, 'the commit is all or nothing');
  });

  test('update replaces only the named fields; on a missing document it is NOT_FOUND (5), in or out of a transaction', async () => {
    await fs.db
      .collection(C)
      .doc('u1')
      .set({ a: 1, b: { x: 1, y: 2 }, c: 'keep' });
    await w.update(C, 'u1', { a: 2, b: { x: 3 } });
    assert.deepEqual(await sdkGet('u1'), { a: 2, b: { x: 3 }, c: 'keep' });
    await assert.rejects(w.update(C, 'u-missing', { a: 1 }), code(5));
    await assert.rejects(
      w.runTransaction(async (tx) => tx.update(C, 'u-missing', { a: 1 })),
      code(5),
    );
    assert.equal(await sdkGet('u-missing'), undefined);
  });

  test('create outside a transaction: true when it created, false (nothing written) when the document existed', async () => {
    assert.equal(await w.create(C, 'c1', { a: 1 }), true);
    assert.deepEqual(await sdkGet('c1'), { a: 1 });
    assert.equal(await w.create(C, 'c1', { a: 2 }), false);
    assert.deepEqual(await sdkGet('c1'), { a: 1 });
    await assert.rejects(w.create(C, 'c2', { a: [[1]] }), code(3), 'other refusals still throw');
  });

  test('create with updates alongside: one commit, all written or none', async () => {
    await fs.db.collection(C).doc('al-ledger').set({ state: 'processing', keep: 1 });
    const done = { collection: C, id: 'al-ledger', fields: { state: 'done' } };
    assert.equal(await w.create(C, 'al-new', { a: 1 }, [done]), true);
    assert.deepEqual(await sdkGet('al-new'), { a: 1 });
    assert.deepEqual(await sdkGet('al-ledger'), { state: 'done', keep: 1 });
    await fs.db.collection(C).doc('al-ledger').set({ state: 'processing' });
    assert.equal(await w.create(C, 'al-new', { a: 2 }, [done]), false, 'the document existed');
    assert.deepEqual(await sdkGet('al-new'), { a: 1 });
    assert.deepEqual(await sdkGet('al-ledger'), { state: 'processing' }, 'nor was the update written');
    const missing = { collection: C, id: 'al-absent', fields: { state: 'done' } };
    await assert.rejects(w.create(C, 'al-other', { a: 3 }, [missing]), code(5));
    assert.equal(await sdkGet('al-other'), undefined, 'the update was NOT_FOUND: the create was not written');
  });

  test('set replaces the whole document', async () => {
    await fs.db.collection(C).doc('s1').set({ a: 1, b: 2 });
    await w.runTransaction(async (tx) => tx.set(C, 's1', { c: 3 }));
    assert.deepEqual(await sdkGet('s1'), { c: 3 });
  });

  test('a value Firestore refuses (an array in an array) is INVALID_ARGUMENT (3), not transient', async () => {
    await assert.rejects(
      w.runTransaction(async (tx) => tx.set(C, 'bad', { a: [[1]] })),
      (e) => code(3)(e) && !isTransient(e),
    );
  });

  test('undefined is refused before anything is sent, as the SDK refuses it', async () => {
    await assert.rejects(
      w.runTransaction(async (tx) => tx.set(C, 'undef', { a: undefined })),
      /cannot hold undefined/,
    );
  });
});

describe('transactions', () => {
  test("the function's error rolls back: it is thrown, nothing is written, the read lock is released", async () => {
    await fs.db.collection(C).doc('r1').set({ n: 1 });
    await assert.rejects(
      w.runTransaction(async (tx) => {
        await tx.get(C, 'r1');
        tx.update(C, 'r1', { n: 2 });
        throw new Error('changed my mind');
      }),
      /changed my mind/,
    );
    const t0 = performance.now();
    await fs.db.collection(C).doc('r1').update({ n: 3 });
    assert.ok(performance.now() - t0 < 2000, 'a write right after does not wait for a held lock');
    assert.deepEqual(await sdkGet('r1'), { n: 3 });
  });

  test('concurrent read-modify-write transactions on one document each apply exactly once', async () => {
    await fs.db.collection(C).doc('counter').set({ n: 0 });
    const writer = createFirestoreWriter({
      projectId: fs.emulator.projectId,
      emulatorHost: fs.emulator.host,
      maxAttempts: 50,
    });
    const N = 12;
    await Promise.all(
      Array.from({ length: N }, () =>
        writer.runTransaction(async (tx) => {
          const d = await tx.get(C, 'counter');
          tx.update(C, 'counter', { n: Number(d?.n) + 1 });
        }),
      ),
    );
    writer.close();
    assert.deepEqual(await sdkGet('counter'), { n: N });
  });

  test('retries are bounded: with one attempt, contention surfaces as ABORTED (10), a transient error', async () => {
    await fs.db.collection(C).doc('contended').set({ n: 0 });
    const once = createFirestoreWriter({
      projectId: fs.emulator.projectId,
      emulatorHost: fs.emulator.host,
      maxAttempts: 1,
    });
    const N = 12;
    const results = await Promise.allSettled(
      Array.from({ length: N }, () =>
        once.runTransaction(async (tx) => {
          const d = await tx.get(C, 'contended');
          await new Promise((r) => setTimeout(r, 20));
          tx.update(C, 'contended', { n: Number(d?.n) + 1 });
        }),
      ),
    );
    once.close();
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    assert.ok(failed.length > 0, 'some transaction lost');
    for (const e of failed) assert.ok(code(10)(e) && isTransient(e));
    assert.deepEqual(await sdkGet('contended'), { n: N - failed.length }, 'the winners applied once each');
  });
});

describe('errors carry gRPC codes', () => {
  let server: Server;
  before(async () => {
    server = createServer((_req, res) =>
      res
        .writeHead(503, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { code: 503, message: 'm', status: 'UNAVAILABLE' } })),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  test('HTTP 503 UNAVAILABLE is code 14; nothing listening is 14 too; both transient', async () => {
    const down = createFirestoreWriter({
      projectId: 'demo-x',
      emulatorHost: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    });
    await assert.rejects(down.update(C, 'a', { n: 1 }), (e) => code(14)(e) && isTransient(e));
    down.close();
    const nobody = createFirestoreWriter({
      projectId: 'demo-x',
      emulatorHost: `127.0.0.1:${await freePort()}`,
    });
    await assert.rejects(
      nobody.runTransaction(async () => {}),
      (e) => code(14)(e) && isTransient(e),
    );
    nobody.close();
  });
});
