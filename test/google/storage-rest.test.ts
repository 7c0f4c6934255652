/**
 * The Cloud Storage JSON API client (shared/google/storage-rest.ts) against firebase-tools' Storage
 * emulator, with @google-cloud/storage as the independent writer and reader: reads return the bytes the SDK
 * uploaded (gzip-encoded ones decompressed, as the SDK's download does), writes and copies read back through
 * the SDK, a missing object is a 404 the upload processor treats as gone, and a reader that stops early
 * releases its request.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { Storage } from '@google-cloud/storage';
import { freePort } from '../../scripts/emulators/firestore.ts';
import { type StorageEmulator, startStorageEmulator } from '../../scripts/emulators/storage.ts';
import { createRestStorage, type ObjectStore } from '../../shared/google/storage-rest.ts';
import { isGone, isTransient } from '../../shared/uploads/errors.ts';

const BUCKET = 'rest-storage-test';
let emulator: StorageEmulator;
let sdk: Storage;
let rest: ObjectStore;

before(async () => {
  emulator = await startStorageEmulator();
  sdk = new Storage({ apiEndpoint: emulator.host, projectId: emulator.projectId });
  await sdk.createBucket(BUCKET).catch(() => {});
  rest = createRestStorage({ emulatorHost: emulator.host });
});
after(async () => {
  await emulator?.stop();
});

async function upload(name: string, data: Buffer, metadata: Record<string, string> = {}) {
  const f = sdk.bucket(BUCKET).file(name);
  await f.save(data, { resumable: false, metadata });
  const [m] = await f.getMetadata();
  return String(m.generation);
}
async function readAll(s: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c);
  return Buffer.concat(parts);
}

test('read streams the bytes the SDK uploaded (3 MiB, several chunks)', async () => {
  const data = randomBytes(3 << 20);
  const g = await upload('a/big.bin', data);
  assert.ok((await readAll(rest.read(BUCKET, 'a/big.bin', g))).equals(data));
});

test('an object stored with Content-Encoding: gzip reads decompressed, as the SDK downloads it', async () => {
  const data = Buffer.from('Image Index,Finding Labels\n'.repeat(2000));
  const g = await upload('a/encoded.csv', gzipSync(data), { contentEncoding: 'gzip' });
  const [viaSdk] = await sdk.bucket(BUCKET).file('a/encoded.csv').download();
  const viaRest = await readAll(rest.read(BUCKET, 'a/encoded.csv', g));
  assert.ok(viaRest.equals(viaSdk));
  assert.ok(viaRest.equals(data));
});

test('a gzip file without the encoding reads as its compressed bytes (the processor sniffs them)', async () => {
  const gz = gzipSync(Buffer.from('x'.repeat(5000)));
  const g = await upload('a/plain.gz', gz);
  assert.ok((await readAll(rest.read(BUCKET, 'a/plain.gz', g))).equals(gz));
});

test('a missing object is a StorageRestError 404: gone, not transient', async () => {
  await assert.rejects(readAll(rest.read(BUCKET, 'a/missing.png', '1')), (e) => {
    assert.equal((e as Error).name, 'StorageRestError');
    assert.equal((e as { code?: number }).code, 404);
    return isGone(e) && !isTransient(e);
  });
});

test('save writes an object with its content type; saving again overwrites it', async () => {
  await rest.save(BUCKET, 'reports/x y/ü.json', '{"a":1}\n', 'application/json');
  await rest.save(BUCKET, 'reports/x y/ü.json', '{"a":2}\n', 'application/json');
  const f = sdk.bucket(BUCKET).file('reports/x y/ü.json');
  const [m] = await f.getMetadata();
  assert.equal(m.contentType, 'application/json');
  assert.equal((await f.download())[0].toString(), '{"a":2}\n');
});

test('copy duplicates one generation under another name, server-side', async () => {
  const data = randomBytes(100_000);
  const g = await upload('bad/thing.png', data);
  await rest.copy(BUCKET, 'bad/thing.png', g, 'quarantine/bad/thing.png');
  const [copied] = await sdk.bucket(BUCKET).file('quarantine/bad/thing.png').download();
  assert.ok(copied.equals(data));
  await assert.rejects(rest.copy(BUCKET, 'bad/none.png', '1', 'quarantine/none.png'), (e) => isGone(e));
});

test('a reader that stops early ends its request: the next reads are served', async () => {
  const data = randomBytes(8 << 20);
  const g = await upload('a/huge.bin', data);
  for (let i = 0; i < 3; i++) {
    const s = rest.read(BUCKET, 'a/huge.bin', g);
    for await (const _ of s) break;
    assert.ok(s.destroyed);
  }
  assert.equal((await readAll(rest.read(BUCKET, 'a/huge.bin', g))).length, data.length);
});

test('nothing listening is UNAVAILABLE (14), transient, for reads and writes', async () => {
  const down = createRestStorage({ emulatorHost: `127.0.0.1:${await freePort()}` });
  const transient14 = (e: unknown) => (e as { code?: number }).code === 14 && isTransient(e);
  await assert.rejects(readAll(down.read(BUCKET, 'a', '1')), transient14);
  await assert.rejects(down.save(BUCKET, 'a', '{}', 'application/json'), transient14);
});
