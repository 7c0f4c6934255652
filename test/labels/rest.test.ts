/**
 * Firestore's REST transport against the real emulator: the labels function's own REST reader
 * (firestore-rest.ts) reads exactly what Google's SDK reads over gRPC (the oracle), and the SDK's own REST
 * mode (`preferRest`) reaches the emulator through createFirestore, where a plain `preferRest` client fails
 * asking for Application Default Credentials (why: google-gax's REST fallback always asks its GoogleAuth for
 * a client; the gRPC path uses insecure channel credentials and no auth).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../../scripts/emulators/firestore.ts';
import { isStoreUnavailable } from '../../shared/labels/errors.ts';
import { createFirestore } from '../../shared/labels/firestore-client.ts';
import { createFirestoreLabelRepo } from '../../shared/labels/firestore-repo.ts';
import { createRestFirestore, type RestFirestore } from '../../shared/labels/firestore-rest.ts';
import { loadRecords } from '../../shared/labels/loader.ts';
import { hasJson, type StoredImage } from '../../shared/labels/repo.ts';
import { createRestLabelRepo } from '../../shared/labels/rest-repo.ts';
import type { ImageId, PatientId } from '../../shared/model/index.ts';
import { startTestFirestore, type TestFirestore } from '../harness/firestore.ts';
import { fixtureRecords } from './fixtures.ts';

const records = fixtureRecords();
/** The StoredImage fields (the REST repo's images also carry their JSON). */
const plain = (x: StoredImage | undefined) => x && { record: x.record, version: x.version };
let fs: TestFirestore;
let rest: RestFirestore;

before(async () => {
  fs = await startTestFirestore();
  await loadRecords(fs.db, records, { throttle: false });
  rest = createRestFirestore({ projectId: fs.emulator.projectId, emulatorHost: fs.emulator.host });
});
after(async () => {
  rest?.close();
  await fs?.stop();
});

describe('REST label reads (no SDK) against the emulator', () => {
  const sdk = () => createFirestoreLabelRepo({ firestore: fs.db });
  const restRepo = () => createRestLabelRepo({ firestore: () => rest, writes: sdk(), chunkSize: 2 });
  const ids = [...records.map((r) => r.imageId), '09999999_000' as ImageId, records[0]!.imageId];

  test('getImages equals the SDK over gRPC, in request order, across chunks, with undefined for unknown ids', async () => {
    const got = await restRepo().getImages(ids);
    assert.deepEqual(got.map(plain), await sdk().getImages(ids));
    assert.equal(got.filter(Boolean).length, records.length + 1);
    assert.equal(got[records.length], undefined);
  });

  test('each image carries its stored JSON, byte for byte what JSON.stringify gives for the record', async () => {
    const got = await restRepo().getImages(records.map((r) => r.imageId));
    for (const image of got) {
      assert.ok(image && hasJson(image));
      assert.equal(image.json, JSON.stringify(image.record));
    }
  });

  test('getImage equals the SDK for every image, and is undefined for an unknown one', async () => {
    for (const r of records) {
      assert.deepEqual(plain(await restRepo().getImage(r.imageId)), await sdk().getImage(r.imageId));
    }
    assert.equal(await restRepo().getImage('09999999_000' as ImageId), undefined);
  });

  test("getPatientImages equals the SDK's query (ordered by followUp), empty for an unknown patient", async () => {
    for (const p of new Set(records.map((r) => r.patientId))) {
      const got = await restRepo().getPatientImages(p);
      assert.deepEqual(got.map(plain), await sdk().getPatientImages(p));
      assert.deepEqual(
        got.map((x) => x.record.followUp),
        records
          .filter((r) => r.patientId === p)
          .map((r) => r.followUp)
          .sort((a, b) => a - b),
      );
    }
    assert.deepEqual(await restRepo().getPatientImages(99_999_999 as PatientId), []);
  });
});

describe("REST errors carry the SDK's gRPC codes", () => {
  let server: Server;
  let status = 503;
  let body = '';
  before(async () => {
    server = createServer((_req, res) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(body),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });
  after(() => new Promise<void>((r) => server.close(() => r())));
  const at = (host: string) => createRestFirestore({ projectId: 'demo-x', emulatorHost: host });

  const cases: [number, string, number, boolean][] = [
    [503, 'UNAVAILABLE', 14, true],
    [429, 'RESOURCE_EXHAUSTED', 8, true],
    [504, 'DEADLINE_EXCEEDED', 4, true],
    [400, 'INVALID_ARGUMENT', 3, false],
    [403, 'PERMISSION_DENIED', 7, false],
  ];
  for (const [http, name, code, unavailable] of cases) {
    test(`HTTP ${http} ${name} is code ${code}${unavailable ? ', unavailable' : ''}`, async () => {
      status = http;
      body = JSON.stringify({ error: { code: http, message: 'm', status: name } });
      const c = at(`127.0.0.1:${(server.address() as AddressInfo).port}`);
      await assert.rejects(c.batchGet('images', ['a'], ['record']), (e: { code?: number }) => {
        assert.equal(e.code, code);
        assert.equal(isStoreUnavailable(e), unavailable);
        return true;
      });
      c.close();
    });
  }

  test('nothing listening is UNAVAILABLE (14)', async () => {
    const c = at(`127.0.0.1:${await freePort()}`);
    await assert.rejects(c.get('images', 'a', ['record']), (e: { code?: number }) => e.code === 14);
    c.close();
  });
});

describe("the SDK's REST transport (preferRest) and the emulator", () => {
  test('createFirestore({ preferRest }) writes, reads and queries through the emulator without credentials', async () => {
    const db = await createFirestore({
      projectId: fs.emulator.projectId,
      emulatorHost: fs.emulator.host,
      preferRest: true,
    });
    try {
      await db.doc('rest-check/a').set({ n: 1, s: 'x' });
      const [a, missing] = await db.getAll(db.doc('rest-check/a'), db.doc('rest-check/none'));
      assert.deepEqual(a!.data(), { n: 1, s: 'x' });
      assert.equal(missing!.exists, false);
      const q = await db.collection('rest-check').where('n', '==', 1).get();
      assert.deepEqual(
        q.docs.map((d) => d.id),
        ['a'],
      );
      // The REST fallback served these: the client pool made its clients with google-gax/fallback only.
      const pool = db as unknown as { _gaxFallback?: unknown; _gax?: unknown };
      assert.ok(pool._gaxFallback, 'a REST fallback client was made');
      assert.equal(pool._gax, undefined, 'no gRPC client was made');
    } finally {
      await db.terminate();
    }
  });

  test('without the pass-through auth client, preferRest asks for Application Default Credentials', () => {
    // A process with no credentials anywhere: no key file, no gcloud login (empty HOME), no metadata server.
    const home = mkdtempSync(join(tmpdir(), 'no-adc-'));
    try {
      const code = `
        const { Firestore } = await import('@google-cloud/firestore');
        const db = new Firestore({ projectId: 'demo-nih-cxr', preferRest: true });
        try { await db.doc('rest-check/a').get(); console.log('READ OK'); }
        catch (e) { console.log('FAILED: ' + e.message); }
        await db.terminate();`;
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], {
        cwd: join(import.meta.dirname, '../..'),
        env: {
          PATH: process.env.PATH ?? '',
          HOME: home,
          FIRESTORE_EMULATOR_HOST: fs.emulator.host,
          METADATA_SERVER_DETECTION: 'none',
        },
        encoding: 'utf8',
        timeout: 60_000,
      });
      // It fails before any request; in 9.4.1 the rejection even escapes the call, crashing the process.
      assert.doesNotMatch(r.stdout, /READ OK/);
      assert.match(r.stdout + r.stderr, /Could not load the default credentials/);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
