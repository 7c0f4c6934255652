/**
 * The dicom function against a real Orthanc + DICOMweb plugin (files stored with STOW-RS) and the Firestore
 * emulator; misbehaving stores are loopback stand-ins. Expected values come from the generated files (dcmjs)
 * and the PNG/JPEG headers read by hand, never from the proxy's own code.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import dcmjs from 'dcmjs';
import request from 'supertest';
import { createDicomApp, loadDicomAppConfig } from '../../functions/dicom/app.ts';
import type { Orthanc } from '../../scripts/emulators/orthanc.ts';
import { createLogger } from '../../shared/log.ts';
import { startTestFirestore, type TestFirestore } from '../harness/firestore.ts';
import { startTestOrthanc, stowRs } from '../harness/orthanc.ts';
import {
  dicomOf,
  identityOf,
  imageId,
  jpegSize,
  pngSize,
  putRecords,
  record,
  standInStore,
} from './fixtures.ts';

const quiet = createLogger({}, () => {});
let fs: TestFirestore;
let orthanc: Orthanc;

const STORED = imageId('00000011_000');
const NOT_STORED = imageId('00000011_001');
const NO_IDENTITY = imageId('00000011_002');
const stored = record(STORED);
const storedFile = dicomOf(stored);
const missingFile = dicomOf(record(NOT_STORED));

function binary(res: request.Response, cb: (err: Error | null, body: Buffer) => void) {
  const parts: Buffer[] = [];
  res.on('data', (c: Buffer) => parts.push(c));
  res.on('end', () => cb(null, Buffer.concat(parts)));
}

let seq = 0;
/** The dicom app on `env`, served through functions-framework. */
function serve(env: Record<string, string>, timeoutMs = 20_000) {
  const name = `dicom-test-${++seq}`;
  const config = loadDicomAppConfig({
    ...fs.env,
    DICOMWEB_TIMEOUT_MS: String(timeoutMs),
    DICOM_MAX_BYTES: String(1024 * 1024),
    ...env,
  });
  http(name, createDicomApp({ config, logger: quiet }).handler);
  return getTestServer(name);
}

function get(server: ReturnType<typeof getTestServer>, path: string, accept?: string) {
  const r = request(server).get(path).buffer(true).parse(binary);
  return accept ? r.set('Accept', accept) : r;
}

function assertProblem(res: request.Response, status: number, ...mentions: RegExp[]) {
  assert.equal(res.status, status, res.body.toString());
  assert.match(res.headers['content-type'] ?? '', /^application\/problem\+json/);
  const p = JSON.parse(res.body.toString()) as { status: number; detail: string };
  assert.equal(p.status, status);
  for (const m of mentions) assert.match(p.detail, m);
  if (status === 503) assert.match(res.headers['retry-after'] ?? '', /^\d+$/);
}

before(async () => {
  [fs, orthanc] = await Promise.all([startTestFirestore(), startTestOrthanc()]);
  await putRecords(fs.db, [
    { ...stored, dicom: identityOf(storedFile, stored) },
    { ...record(NOT_STORED), dicom: identityOf(missingFile, record(NOT_STORED)) },
    record(NO_IDENTITY),
  ]);
  const stow = await stowRs(orthanc.dicomweb, [storedFile.bytes]);
  assert.equal(stow.status, 200, JSON.stringify(stow.body));
});
after(async () => {
  await Promise.all([fs?.stop(), orthanc?.stop()]);
});

describe('dicom routes on Orthanc', () => {
  let server: ReturnType<typeof getTestServer>;
  before(() => {
    server = serve({ DICOMWEB_BASE: orthanc.dicomweb });
  });

  it('metadata is the DICOM JSON Orthanc holds, with the uploaded SOP Instance UID and NIH fields', async () => {
    const res = await get(server, `/v1/images/${STORED}/dicom/metadata`);
    assert.equal(res.status, 200, res.body.toString());
    assert.match(res.headers['content-type'] ?? '', /^application\/dicom\+json/);
    const [ds] = JSON.parse(res.body.toString()) as Record<string, { Value?: unknown[] }>[];
    assert.equal(ds?.['00080018']?.Value?.[0], storedFile.sopInstanceUid);
    assert.equal(ds?.['0020000D']?.Value?.[0], storedFile.studyInstanceUid);
    assert.equal(ds?.['00100020']?.Value?.[0], String(stored.patientId));
    assert.equal(ds?.['00280010']?.Value?.[0], stored.height);
    assert.equal(ds?.['00280011']?.Value?.[0], stored.width);
    assert.equal(ds?.['00185101']?.Value?.[0], stored.viewPosition);
  });

  it('instance returns a Part 10 file whose dataset equals the stored one (read back by dcmjs)', async () => {
    const res = await get(server, `/v1/images/${STORED}/dicom/instance`);
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'] ?? '', /^application\/dicom/);
    const read = (b: Buffer) => {
      const f = dcmjs.data.DicomMessage.readFile(
        b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer,
      );
      return dcmjs.data.DicomMetaDictionary.naturalizeDataset(f.dict);
    };
    const body = res.body as Buffer;
    assert.deepEqual(read(body), read(storedFile.bytes));
  });

  it('rendered is a PNG of the image size by default and a JPEG when Accept prefers it', async () => {
    const png = await get(server, `/v1/images/${STORED}/dicom/rendered`);
    assert.equal(png.status, 200, png.body.toString());
    assert.equal(png.headers['content-type'], 'image/png');
    assert.deepEqual(pngSize(png.body), { width: stored.width, height: stored.height });
    const jpeg = await get(server, `/v1/images/${STORED}/dicom/rendered`, 'image/png;q=0.5, image/jpeg');
    assert.equal(jpeg.status, 200, jpeg.body.toString());
    assert.equal(jpeg.headers['content-type'], 'image/jpeg');
    assert.deepEqual(jpegSize(jpeg.body), { width: stored.width, height: stored.height });
  });

  it('rendered answers 406 naming the Accept header when neither PNG nor JPEG is acceptable', async () => {
    const res = await get(server, `/v1/images/${STORED}/dicom/rendered`, 'text/html');
    assertProblem(res, 406, /image\/png or image\/jpeg/);
    assert.equal(JSON.parse(res.body.toString()).errors[0].path, 'header.accept');
  });

  it('a malformed image id is a 400 naming path.imageId', async () => {
    const res = await get(server, '/v1/images/not-an-id/dicom/metadata');
    assertProblem(res, 400);
    assert.equal(JSON.parse(res.body.toString()).errors[0].path, 'path.imageId');
  });

  it('404 for an unknown image, an image without identity (saying how to get one), and one not in the store', async () => {
    assertProblem(await get(server, '/v1/images/00000099_000/dicom/metadata'), 404, /does not exist/);
    assertProblem(await get(server, `/v1/images/${NO_IDENTITY}/dicom/metadata`), 404, /load:dicom/);
    assertProblem(await get(server, `/v1/images/${NOT_STORED}/dicom/instance`), 404, /no such instance/);
  });
});

describe('dicom routes without a store, or with a store that misbehaves', () => {
  it('unconfigured: 503 naming DICOM_STORE, DICOMWEB_BASE, the access form and the packages to install', async () => {
    const server = serve({});
    for (const what of ['metadata', 'rendered', 'instance']) {
      assertProblem(
        await get(server, `/v1/images/${STORED}/dicom/${what}`),
        503,
        /DICOM_STORE/,
        /DICOMWEB_BASE/,
        /cloud\.google\.com/,
        /apt-get install orthanc orthanc-dicomweb/,
      );
    }
  });

  it('a store that refuses the credentials: 403 naming the access form and the variable', async () => {
    const store = await standInStore((_req, res) => res.writeHead(403).end('{"error":"denied"}'));
    try {
      const res = await get(serve({ DICOMWEB_BASE: store.base }), `/v1/images/${STORED}/dicom/metadata`);
      assertProblem(res, 403, /service account/, /DICOM_STORE/, /cloud\.google\.com/);
    } finally {
      await store.close();
    }
  });

  it('a store that is down, failing or never answers: 503 with Retry-After, within the deadline', async () => {
    const slow = await standInStore(() => {}); // accepts, never answers
    const failing = await standInStore((_req, res) => res.writeHead(500).end('oops'));
    const stalls = await standInStore((_req, res) => {
      // Starts a multipart answer, then stalls mid-body.
      res.writeHead(200, { 'Content-Type': 'multipart/related; type="application/dicom"; boundary=b' });
      res.write('--b\r\nContent-Type: application/dicom\r\n\r\n');
    });
    const down = await standInStore(() => {});
    const downBase = down.base;
    await down.close();
    try {
      for (const base of [slow.base, failing.base, downBase, stalls.base]) {
        const t = Date.now();
        const res = await get(serve({ DICOMWEB_BASE: base }, 300), `/v1/images/${STORED}/dicom/instance`);
        assertProblem(res, 503, /DICOM store/);
        assert.ok(Date.now() - t < 5000, `answered after ${Date.now() - t} ms`);
      }
    } finally {
      await Promise.all([slow.close(), failing.close(), stalls.close()]);
    }
  });

  it('a store answering garbage: 503 for metadata that is not JSON, a "PNG" that is not one, a file that is not DICOM', async () => {
    const store = await standInStore((req, res) => {
      if (req.url?.endsWith('/metadata'))
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('<html>');
      else if (req.url?.endsWith('/rendered'))
        res.writeHead(200, { 'Content-Type': 'image/png' }).end('GIF89a....');
      else {
        res.writeHead(200, { 'Content-Type': 'multipart/related; type="application/dicom"; boundary=b' });
        res.end(`--b\r\nContent-Type: application/dicom\r\n\r\n${'x'.repeat(400)}\r\n--b--\r\n`);
      }
    });
    try {
      const server = serve({ DICOMWEB_BASE: store.base });
      assertProblem(await get(server, `/v1/images/${STORED}/dicom/metadata`), 503, /not JSON/);
      assertProblem(await get(server, `/v1/images/${STORED}/dicom/rendered`), 503, /not a PNG/);
      assertProblem(await get(server, `/v1/images/${STORED}/dicom/instance`), 503, /not a DICOM file/);
    } finally {
      await store.close();
    }
  });

  it('a store sending more than DICOM_MAX_BYTES: refused up front by Content-Length, cut off when streamed', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024);
    big.write('DICM', 128, 'latin1');
    const store = await standInStore((req, res) => {
      if (req.url?.endsWith('/metadata')) {
        res.writeHead(200, { 'Content-Type': 'application/dicom+json' });
        res.end(`[{"x":"${'a'.repeat(2 * 1024 * 1024)}"}]`);
      } else {
        // No Content-Length: the limit applies while streaming.
        res.writeHead(200, { 'Content-Type': 'application/dicom', 'Transfer-Encoding': 'chunked' });
        res.end(big);
      }
    });
    try {
      const server = serve({ DICOMWEB_BASE: store.base });
      assertProblem(await get(server, `/v1/images/${STORED}/dicom/metadata`), 503, /over \d+ bytes/);
      const res = await get(server, `/v1/images/${STORED}/dicom/instance`).catch((e: Error) => e);
      // Headers went out with the first chunk: the response is cut short, never completed with 3 MiB.
      if (!(res instanceof Error)) assert.ok(res.body.length <= 1024 * 1024, `${res.body.length} bytes`);
    } finally {
      await store.close();
    }
  });
});
