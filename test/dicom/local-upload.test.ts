/**
 * The "must show", end to end on `npm start` (its own emulators, a real Orthanc with the DICOMweb
 * plugin, the synthetic sample): a generated DICOM uploaded as images/<id>.dcm gets its UIDs on
 * GET /v1/images/{id}, is stored into Orthanc with STOW-RS, and reads back through the dicom routes; hostile
 * DICOM uploads are rejected with a reason, and leave the record without an identity. Expected values come
 * from the generated files (dcmjs), never from our own header reader.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Storage } from '@google-cloud/storage';
import dcmjs from 'dcmjs';
import type { ImageRecord } from '../../shared/model/index.ts';
import { type NpmStart, startNpmStart } from '../harness/npm-start.ts';
import { ensureOrthancInstalled } from '../harness/orthanc.ts';
import { dicomOf } from './fixtures.ts';

let server: NpmStart;
let bucket: ReturnType<Storage['bucket']>;

type Served = ImageRecord & { links?: { dicomweb: string | null; viewer: string } };

async function getJson<T>(path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`${server.url}${path}`);
  return { status: res.status, body: (await res.json()) as T };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    assert.ok(Date.now() < deadline, `${what} did not happen in time:\n${server.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function upload(
  name: string,
  bytes: Buffer,
): Promise<{ status: string; reason: string | null } & Record<string, unknown>> {
  await bucket.file(name).save(bytes, { contentType: 'application/dicom', resumable: false });
  const report = bucket.file(`reports/${name}.json`);
  await until(`the report of ${name}`, async () => ((await report.exists())[0] ? true : undefined));
  return JSON.parse((await report.download())[0].toString());
}

function dataset(b: Buffer) {
  const f = dcmjs.data.DicomMessage.readFile(
    b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer,
  );
  return dcmjs.data.DicomMetaDictionary.naturalizeDataset(f.dict);
}

/** Images of the sample without a DICOM identity (the first 20 get generated files at start-up). */
const plain: Served[] = [];

before(async () => {
  ensureOrthancInstalled();
  server = await startNpmStart({
    NIH_DATA_DIR: undefined,
    SYNTHETIC_IMAGES: '40',
    LABELS_CACHE_CHECK_SECONDS: '1',
    DICOMWEB_BASE: undefined,
    DICOM_STORE: undefined,
  });
  const h = (await getJson<{ emulators: { storage: string }; uploadsBucket: string }>('/v1/healthz')).body;
  bucket = new Storage({ projectId: 'demo-nih-cxr', apiEndpoint: h.emulators.storage }).bucket(
    h.uploadsBucket,
  );
  const page = await fetch(`${server.url}/v1/cohorts:query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ filter: {}, pageSize: 40 }),
  });
  const ids = ((await page.json()) as { images: { imageId: string }[] }).images.map((i) => i.imageId);
  // Wait for the start-up STOW of the synthetic files, so that "plain" below really stays plain.
  await until('the synthetic DICOM files', async () =>
    /synthetic DICOM files stored/.test(server.output()) ? true : undefined,
  );
  for (const id of ids.reverse()) {
    const r = (await getJson<Served>(`/v1/images/${id}`)).body;
    if (!r.dicom) plain.push(r);
    if (plain.length === 6) break;
  }
  assert.equal(plain.length, 6, 'six sample images without a DICOM identity');
});
after(async () => {
  await server?.stop();
});

describe('npm start with Orthanc', () => {
  it('the synthetic sample has generated DICOM files in Orthanc, with their identity and links', async () => {
    const page = await fetch(`${server.url}/v1/cohorts:query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ filter: {}, pageSize: 40 }),
    });
    const ids = ((await page.json()) as { images: { imageId: string }[] }).images.map((i) => i.imageId);
    let withDicom: Served | undefined;
    for (const id of ids) {
      const r = (await getJson<Served>(`/v1/images/${id}`)).body;
      if (r.dicom) {
        withDicom = r;
        break;
      }
    }
    assert.ok(withDicom?.dicom, 'some sample image has a DICOM identity');
    const meta = await getJson<Record<string, { Value?: unknown[] }>[]>(
      `/v1/images/${withDicom.imageId}/dicom/metadata`,
    );
    assert.equal(meta.status, 200);
    assert.equal(meta.body[0]?.['00080018']?.Value?.[0], withDicom.dicom.sopInstanceUid);
    assert.equal(meta.body[0]?.['00100020']?.Value?.[0], String(withDicom.patientId));
  });

  it('a generated DICOM uploaded as images/<id>.dcm: UIDs on the record, metadata and file read back from Orthanc', async () => {
    const target = plain[0]!;
    const file = dicomOf(target);
    const report = await upload(`images/${target.imageId}.dcm`, file.bytes);
    assert.equal(report.status, 'registered', JSON.stringify(report));
    assert.deepEqual(report.dicomRecord, { imageId: target.imageId, recorded: true, reason: null });

    const rec = await until('the UIDs on GET /v1/images/{id}', async () => {
      const r = (await getJson<Served>(`/v1/images/${target.imageId}`)).body;
      return r.dicom ? r : undefined;
    });
    assert.deepEqual(rec.dicom, {
      studyInstanceUid: file.studyInstanceUid,
      seriesInstanceUid: file.seriesInstanceUid,
      sopInstanceUid: file.sopInstanceUid,
      transferSyntaxUid: '1.2.840.10008.1.2.1',
      rows: target.height,
      columns: target.width,
      photometricInterpretation: 'MONOCHROME2',
    });
    assert.match(
      rec.links?.dicomweb ?? '',
      new RegExp(
        `/dicom-web/studies/${file.studyInstanceUid}/series/${file.seriesInstanceUid}/instances/${file.sopInstanceUid}$`,
      ),
    );
    assert.equal(
      rec.links?.viewer,
      `https://viewer.ohif.org/viewer?StudyInstanceUIDs=${file.studyInstanceUid}`,
    );

    const meta = await until('the metadata from Orthanc', async () => {
      const m = await getJson<Record<string, { Value?: unknown[] }>[]>(
        `/v1/images/${target.imageId}/dicom/metadata`,
      );
      return m.status === 200 ? m.body : undefined;
    });
    assert.equal(meta[0]?.['00080018']?.Value?.[0], file.sopInstanceUid);

    const res = await fetch(`${server.url}/v1/images/${target.imageId}/dicom/instance`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/dicom');
    assert.deepEqual(dataset(Buffer.from(await res.arrayBuffer())), dataset(file.bytes));
  });

  it('hostile DICOM uploads are rejected with a reason naming the fault, and record no identity', async () => {
    const [a, b, c, d] = plain.slice(1, 5) as [Served, Served, Served, Served];
    const full = dicomOf(b);
    const cases: [Served, Buffer, RegExp][] = [
      [
        a,
        Buffer.from('this is not a DICOM file at all, only text that is long enough to sniff'.repeat(4)),
        /not|unrecogni[sz]ed|unknown|DICOM/i,
      ],
      [b, full.bytes.subarray(0, 300), /invalid DICOM/],
      [
        c,
        dicomOf(c, { override: { ImageComments: 'x'.repeat(5 * 1024 * 1024) } }).bytes,
        /no parsable header within the first 4194304 bytes \(dicomParser[^)]*buffer overrun\)/,
      ],
      [
        d,
        dicomOf(d, { override: { StudyInstanceUID: '1.02.3.abc' } }).bytes,
        /StudyInstanceUID.*1\.02\.3\.abc.*DICOM UID/,
      ],
    ];
    for (const [rec, bytes, reason] of cases) {
      const report = await upload(`images/${rec.imageId}.dcm`, bytes);
      assert.equal(report.status, 'rejected', `${rec.imageId}: ${JSON.stringify(report).slice(0, 500)}`);
      assert.match(report.reason ?? '', reason);
      assert.equal((await getJson<Served>(`/v1/images/${rec.imageId}`)).body.dicom, undefined);
      const m = await fetch(`${server.url}/v1/images/${rec.imageId}/dicom/metadata`);
      assert.equal(m.status, 404);
    }
  });
});
