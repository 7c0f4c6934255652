/**
 * `npm run load:dicom` (the real CLI, as a child process) against the Storage emulator seeded with 1,000
 * generated DICOM files (dcmjs) and the Firestore emulator. A counting proxy between the CLI and the emulator
 * is the independent witness of what was downloaded: every media request is ranged, and no byte past the
 * first KiB of each file leaves the emulator, so the pixel data (32 KiB per file) is never downloaded.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Storage } from '@google-cloud/storage';
import { type StorageEmulator, startStorageEmulator } from '../../scripts/emulators/storage.ts';
import { REPO_ROOT } from '../../scripts/function-folders.ts';
import { fromImageDoc } from '../../shared/labels/doc.ts';
import type { ImageRecord } from '../../shared/model/index.ts';
import { startTestFirestore, type TestFirestore } from '../harness/firestore.ts';
import { dicomOf, imageId, putRecords, record } from './fixtures.ts';

const FILES = 1000;
const BUCKET = 'nih-cxr-dicom-load-test';
const SIDE = 128; // 128 x 128 x 16 bit: 32 KiB of pixel data per file

let fs: TestFirestore;
let gcs: StorageEmulator;
let proxy: Server;
let proxyUrl: string;
let dir: string;
/** Media (alt=media) responses the proxy passed: object, Range header, body bytes. */
const media: { name: string; range: string | undefined; bytes: number }[] = [];
const records: ImageRecord[] = [];
const files = new Map<string, ReturnType<typeof dicomOf>>();

/** Forwards everything to the emulator and counts the bytes of each media response. */
async function countingProxy(target: string): Promise<Server> {
  const t = new URL(target);
  const server = createServer((req, res) => {
    const up = httpRequest(
      { host: t.hostname, port: t.port, path: req.url, method: req.method, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        const url = new URL(req.url ?? '/', 'http://x');
        const entry =
          url.searchParams.get('alt') === 'media'
            ? {
                name: decodeURIComponent(url.pathname.split('/o/')[1] ?? ''),
                range: req.headers.range,
                bytes: 0,
              }
            : undefined;
        if (entry) media.push(entry);
        r.on('data', (c: Buffer) => {
          if (entry) entry.bytes += c.length;
        });
        r.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

function runLoad(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'scripts', 'load-dicom.ts'), ...args], {
      cwd: dir,
      env: {
        ...process.env,
        ...fs.env,
        STORAGE_EMULATOR_HOST: proxyUrl,
        BILLING_PROJECT: 'nih-cxr-billing-test',
        // A lasting DuckDB cohort store: load:dicom upserts the cohort rows with their DICOM columns.
        DUCKDB_PATH: join(dir, 'cohorts.duckdb'),
        NIH_DATA_DIR: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nih-cxr-load-dicom-'));
  [fs, gcs] = await Promise.all([startTestFirestore(), startStorageEmulator()]);
  proxy = await countingProxy(gcs.host);
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  const storage = new Storage({ apiEndpoint: gcs.host, projectId: gcs.projectId });
  await storage.createBucket(BUCKET).catch(() => {}); // the emulator creates buckets on first write
  const bucket = storage.bucket(BUCKET);
  for (let i = 0; i < FILES; i++) {
    const r = { ...record(imageId(`${String(10_000 + i).padStart(8, '0')}_000`)), width: SIDE, height: SIDE };
    records.push(r);
    files.set(r.imageId, dicomOf(r, { bits: 16 }));
  }
  for (let i = 0; i < records.length; i += 500) await putRecords(fs.db, records.slice(i, i + 500));
  const bad = imageId('00009998_000');
  await putRecords(fs.db, [record(bad)]);
  const uploads: [string, Buffer][] = [
    ...records.map((r): [string, Buffer] => [`dicom/${r.imageId}.dcm`, files.get(r.imageId)!.bytes]),
    ['dicom/README.txt', Buffer.from('not an image')],
    ['dicom/00009999_000.dcm', Buffer.alloc(4096, 0x41)], // not DICOM
    ['dicom/00009998_000.dcm', dicomOf(record(bad), { override: { SOPInstanceUID: '1.2.03' } }).bytes],
    ['dicom/00009997_000.dcm', dicomOf(record(imageId('00009997_000'))).bytes], // no such image
  ];
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < uploads.length) {
        const [name, bytes] = uploads[next++]!;
        await bucket.file(name).save(bytes, { resumable: false, contentType: 'application/dicom' });
      }
    }),
  );
});
after(async () => {
  await new Promise<void>((r) => (proxy ? proxy.close(() => r()) : r()));
  await Promise.all([fs?.stop(), gcs?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('npm run load:dicom', () => {
  it('records 1,000 identities from header-only ranged reads, resumable, and skips hostile objects with a reason', async (t) => {
    // A first run stops after 400 objects (two pages); the second resumes from the checkpoint.
    const first = await runLoad(['--bucket', BUCKET, '--page-size', '200', '--limit', '400', '--rate', '0']);
    assert.equal(first.code, 0, first.stderr);
    const a = JSON.parse(first.stdout) as Record<string, number | boolean>;
    assert.equal(a.objects, 400);
    assert.equal(a.complete, false);
    const checkpoint = JSON.parse(await readFile(join(dir, `.load-dicom.${BUCKET}.json`), 'utf8'));
    assert.equal(checkpoint.objects, 400);
    assert.equal(typeof checkpoint.pageToken, 'string');

    const second = await runLoad(['--bucket', BUCKET, '--page-size', '200', '--rate', '0']);
    assert.equal(second.code, 0, second.stderr);
    const b = JSON.parse(second.stdout) as Record<string, number | boolean>;
    assert.equal(b.complete, true);
    assert.equal(Number(a.objects) + Number(b.objects), FILES + 4, 'every object listed exactly once');
    assert.equal(Number(a.recorded) + Number(b.recorded), FILES);
    assert.equal(Number(a.skipped) + Number(b.skipped), 4);
    const reasons = `${first.stderr}\n${second.stderr}`;
    assert.match(reasons, /dicom\/README\.txt: the name does not end in <imageId>\.dcm/);
    assert.match(reasons, /00009999_000\.dcm: not a DICOM Part 10 file/);
    assert.match(
      reasons,
      /00009998_000\.dcm: \(0008,0018\) SOPInstanceUID is "1\.2\.03": must be a DICOM UID/,
    );
    assert.match(reasons, /00009997_000: no such image/);
    assert.match(second.stderr, /written=\d+/, 'progress on stderr');

    // Every identity equals the generated file's (dcmjs), read back from Firestore.
    const ids = records.map((r) => r.imageId);
    for (let i = 0; i < ids.length; i += 500) {
      const snaps = await fs.db.getAll(
        ...ids.slice(i, i + 500).map((id) => fs.db.collection('images').doc(id)),
      );
      for (const s of snaps) {
        const f = files.get(s.id)!;
        assert.deepEqual(fromImageDoc(s.id, s.data()).record.dicom, {
          studyInstanceUid: f.studyInstanceUid,
          seriesInstanceUid: f.seriesInstanceUid,
          sopInstanceUid: f.sopInstanceUid,
          transferSyntaxUid: f.transferSyntaxUid,
          rows: SIDE,
          columns: SIDE,
          photometricInterpretation: 'MONOCHROME2',
        });
      }
    }
    // The cohort store holds the same identities (read with DuckDB's own client).
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const duck = await (await DuckDBInstance.create(join(dir, 'cohorts.duckdb'))).connect();
    const rows = (
      await duck.runAndReadAll(
        'SELECT image_id, dicom_sop_instance_uid, dicom_study_instance_uid, dicom_rows FROM cohort_images',
      )
    ).getRowObjects();
    duck.closeSync();
    assert.equal(rows.length, FILES);
    for (const r of rows) {
      const f = files.get(String(r.image_id))!;
      assert.deepEqual(
        [r.dicom_sop_instance_uid, r.dicom_study_instance_uid, Number(r.dicom_rows)],
        [f.sopInstanceUid, f.studyInstanceUid, SIDE],
      );
    }
    const bad = await fs.db.collection('images').doc('00009998_000').get();
    assert.equal(fromImageDoc(bad.id, bad.data()).record.dicom, undefined);

    // What left the emulator, as the proxy saw it: ranged requests only, none past the first KiB.
    const reads = media.filter((m) => files.has(m.name.replace(/^dicom\//, '').replace(/\.dcm$/, '')));
    assert.equal(reads.length, FILES, 'one request per file, none repeated by the resumed run');
    for (const m of reads) {
      assert.equal(m.range, 'bytes=0-1023', `${m.name}: ${m.range}`);
      assert.equal(m.bytes, 1024, m.name);
    }
    const served = reads.reduce((n, m) => n + m.bytes, 0);
    assert.equal(
      served,
      Number(a.bytesRead) + Number(b.bytesRead) - 1024 * 2,
      'the CLI counts what was served',
    );
    const one = files.get(records[0]!.imageId)!;
    const fileBytes = one.bytes.length;
    const pixelBytes = fileBytes - one.pixelDataOffset;
    assert.ok(1024 - one.pixelDataOffset < pixelBytes / 30, 'at most the first rows of the pixel data');
    const seconds = Number(a.seconds) + Number(b.seconds);
    t.diagnostic(
      `load:dicom: ${FILES} files recorded in ${seconds.toFixed(1)} s (${Math.round(FILES / seconds)} rows/s on the emulator); ` +
        `bytes read per file ${served / FILES} of ${fileBytes} (header ${one.pixelDataOffset} B, ` +
        `pixel data ${pixelBytes} B of which ${1024 - one.pixelDataOffset} B = the overshoot of the 1 KiB first read; ` +
        `${pixelBytes - (1024 - one.pixelDataOffset)} B never downloaded)`,
    );
  });

  it('refuses to read the requester-pays bucket without BILLING_PROJECT', async () => {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'scripts', 'load-dicom.ts')], {
      cwd: dir,
      env: { ...process.env, ...fs.env, STORAGE_EMULATOR_HOST: '', BILLING_PROJECT: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const code = await new Promise<number>((r) => child.on('exit', (c) => r(c ?? -1)));
    assert.equal(code, 2);
    assert.match(
      stderr,
      /BILLING_PROJECT is not set: gcs-public-data--healthcare-nih-chest-xray is requester-pays/,
    );
  });
});
