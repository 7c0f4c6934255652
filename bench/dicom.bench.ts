/**
 * DICOM access figures (issue 17). load:dicom's loop (shared/dicom/load.ts) against the Storage emulator with
 * 1,000 generated files and the Firestore emulator: rows/s, requests and bytes read per file against the
 * file size; and the dicom routes' latency through a real Orthanc (metadata, rendered PNG, instance).
 */
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { Storage } from '@google-cloud/storage';
import request from 'supertest';
import { createDicomApp, loadDicomAppConfig } from '../functions/dicom/app.ts';
import { startStorageEmulator } from '../scripts/emulators/storage.ts';
import { gcsDicomSource } from '../shared/dicom/gcs-source.ts';
import { loadDicomHeaders } from '../shared/dicom/load.ts';
import { recordDicomIdentities } from '../shared/dicom/record.ts';
import { createLogger } from '../shared/log.ts';
import { dicomOf, identityOf, imageId, putRecords, record } from '../test/dicom/fixtures.ts';
import { startTestFirestore } from '../test/harness/firestore.ts';
import { startTestOrthanc, stowRs } from '../test/harness/orthanc.ts';

const FILES = 1000;
const BUCKET = 'nih-cxr-dicom-bench';

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * p)]!;

async function loadFigures(fs: Awaited<ReturnType<typeof startTestFirestore>>): Promise<void> {
  const gcs = await startStorageEmulator();
  try {
    const storage = new Storage({ apiEndpoint: gcs.host, projectId: gcs.projectId });
    await storage.createBucket(BUCKET).catch(() => {});
    const recs = Array.from({ length: FILES }, (_, i) => ({
      ...record(imageId(`${String(20_000 + i).padStart(8, '0')}_000`)),
      width: 512,
      height: 512,
    }));
    for (let i = 0; i < recs.length; i += 500) await putRecords(fs.db, recs.slice(i, i + 500));
    const file = dicomOf(recs[0]!, { bits: 16 });
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < recs.length) {
          const r = recs[next++]!;
          await storage
            .bucket(BUCKET)
            .file(`dicom/${r.imageId}.dcm`)
            .save(dicomOf(r, { bits: 16 }).bytes, { resumable: false });
        }
      }),
    );
    const source = gcsDicomSource(storage, {
      bucket: BUCKET,
      prefix: 'dicom/',
      userProject: undefined,
      timeoutMs: 30_000,
    });
    const started = Date.now();
    const r = await loadDicomHeaders({
      source,
      record: (items) => recordDicomIdentities(items, { firestore: fs.db, throttle: false }),
      concurrency: 16,
    });
    const s = (Date.now() - started) / 1000;
    console.log(
      `load:dicom, ${FILES} files of ${file.bytes.length} B (header ${file.pixelDataOffset} B) on the emulators: ` +
        `${Math.round(r.recorded / s)} rows/s (${s.toFixed(1)} s), ${(r.requests / FILES).toFixed(2)} requests and ` +
        `${Math.round(r.bytesRead / FILES)} B read per file (${((100 * r.bytesRead) / r.objectBytes).toFixed(2)}% of the bytes)`,
    );
  } finally {
    await gcs.stop();
  }
}

async function routeFigures(fs: Awaited<ReturnType<typeof startTestFirestore>>): Promise<void> {
  const orthanc = await startTestOrthanc();
  try {
    const r = { ...record(imageId('00030000_000')), width: 1024, height: 1024 };
    const f = dicomOf(r);
    await stowRs(orthanc.dicomweb, [f.bytes]);
    await putRecords(fs.db, [{ ...r, dicom: identityOf(f, r) }]);
    const config = loadDicomAppConfig({ ...fs.env, DICOMWEB_BASE: orthanc.dicomweb });
    http('dicom-bench', createDicomApp({ config, logger: createLogger({}, () => {}) }).handler);
    const server = getTestServer('dicom-bench');
    for (const what of ['metadata', 'rendered', 'instance']) {
      const t: number[] = [];
      for (let i = 0; i < 60; i++) {
        const t0 = performance.now();
        const res = await request(server).get(`/v1/images/${r.imageId}/dicom/${what}`).buffer(true);
        if (res.status !== 200) throw new Error(`${what}: ${res.status}`);
        t.push(performance.now() - t0);
      }
      console.log(
        `GET .../dicom/${what} via Orthanc (1024 x 1024, 8 bit): p50 ${pct(t, 0.5).toFixed(1)} ms, p95 ${pct(t, 0.95).toFixed(1)} ms`,
      );
    }
  } finally {
    await orthanc.stop();
  }
}

export default async function bench(): Promise<void> {
  const fs = await startTestFirestore();
  try {
    await loadFigures(fs);
    await routeFigures(fs);
  } finally {
    await fs.stop();
  }
}
