/**
 * Property-based fuzzing of the three DICOM routes against a misbehaving store (fast-check, 300 runs): the
 * caller's path and Accept header vary, and so does the store's answer (status, content type, body bytes,
 * multipart framing, a silence past the deadline, a connection cut mid-body). Invariants: never a 500; every
 * error a problem+json with its status, 503 with Retry-After; a 200 carries what was asked for (DICOM JSON, a
 * PNG/JPEG signature, DICM at byte 128). The store is a loopback STAND-IN (a real store cannot be made to
 * misbehave on demand); identities come from a plain map, the Firestore path is covered by routes.test.ts.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import fc from 'fast-check';
import request from 'supertest';
import { createDicomRoutes } from '../../functions/dicom/routes.ts';
import { createDicomwebStore } from '../../shared/dicom/dicomweb.ts';
import { createRouter } from '../../shared/http/router.ts';
import { createLogger } from '../../shared/log.ts';
import type { DicomIdentity } from '../../shared/model/index.ts';
import { standInStore } from './fixtures.ts';

const RUNS = Number(process.env.FUZZ_DICOM_RUNS ?? 300);
const TIMEOUT_MS = 150;
const ID = '00000042_000';
const identity: DicomIdentity = {
  studyInstanceUid: '1.2.3',
  seriesInstanceUid: '1.2.4',
  sopInstanceUid: '1.2.5',
  transferSyntaxUid: '1.2.840.10008.1.2.1',
  rows: 2,
  columns: 2,
  photometricInterpretation: 'MONOCHROME2',
};

const part10 = Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), Buffer.alloc(200, 1)]);
const png = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  Buffer.alloc(200, 2),
]);
const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(200, 3)]);
const multipart = (b: Buffer) =>
  Buffer.concat([
    Buffer.from('--b\r\nContent-Type: application/dicom\r\n\r\n'),
    b,
    Buffer.from('\r\n--b--\r\n'),
  ]);

interface Answer {
  status: number;
  contentType: string;
  body: Buffer;
  silent: boolean;
  cutAfter: number | null;
  /** Answer what a good store would (then maybe cut it): the path to the 200s. */
  coherent: boolean;
}
const answer = fc.record({
  status: fc.constantFrom(200, 200, 200, 200, 204, 301, 400, 401, 403, 404, 429, 500, 502, 503),
  contentType: fc.constantFrom(
    'application/dicom+json',
    'image/png',
    'image/jpeg',
    'application/dicom',
    'multipart/related; type="application/dicom"; boundary=b',
    'multipart/related; boundary="b"',
    'text/html',
    '',
  ),
  body: fc.oneof(
    fc.constantFrom(
      Buffer.from('[{"00080018":{"vr":"UI","Value":["1.2.5"]}}]'),
      Buffer.from('{"not":"an array"}'),
      Buffer.from('[1,2]'),
      png,
      jpeg,
      part10,
      multipart(part10),
      multipart(png),
      Buffer.from('--b\r\nContent-Type: application/dicom\r\n\r\nDICM'),
      Buffer.alloc(0),
    ),
    fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)),
  ),
  silent: fc.boolean().map((b) => b && Math.random() < 0.1),
  cutAfter: fc.option(fc.nat({ max: 400 }), { freq: 4 }),
  coherent: fc.boolean(),
});

let current: Answer;
let store: Awaited<ReturnType<typeof standInStore>>;
let server: ReturnType<typeof getTestServer>;

/** What a good store answers to `url` (`accept`: what the proxy asked for). */
function good(url: string, accept: string): Pick<Answer, 'status' | 'contentType' | 'body'> {
  if (url.endsWith('/metadata')) {
    const body = Buffer.from('[{"00080018":{"vr":"UI","Value":["1.2.5"]}}]');
    return { status: 200, contentType: 'application/dicom+json', body };
  }
  if (url.endsWith('/rendered')) {
    return accept === 'image/jpeg'
      ? { status: 200, contentType: 'image/jpeg', body: jpeg }
      : { status: 200, contentType: 'image/png', body: png };
  }
  const contentType = 'multipart/related; type="application/dicom"; boundary=b';
  return { status: 200, contentType, body: multipart(part10) };
}

function reply(req: IncomingMessage, res: ServerResponse): void {
  const a = current.coherent
    ? { ...current, ...good(req.url ?? '', String(req.headers.accept ?? '')) }
    : current;
  if (a.silent) return; // accepts the request, never answers
  res.writeHead(a.status, a.contentType ? { 'Content-Type': a.contentType } : {});
  if (a.cutAfter !== null && a.cutAfter < a.body.length) {
    res.write(a.body.subarray(0, a.cutAfter));
    setTimeout(() => res.destroy(), 5);
    return;
  }
  res.end(a.body);
}

before(async () => {
  store = await standInStore(reply);
  const routes = createDicomRoutes({
    identity: async (id) => (id === ID ? identity : id === '00000042_001' ? null : undefined),
    store: createDicomwebStore({
      base: store.base,
      token: async () => undefined,
      timeoutMs: TIMEOUT_MS,
      maxBytes: 64 * 1024,
      maxMetadataBytes: 64 * 1024,
    }),
    problem: 'not configured',
  });
  http('dicom-fuzz', createRouter(routes, { logger: createLogger({}, () => {}) }));
  server = getTestServer('dicom-fuzz');
});
after(async () => {
  await store?.close();
});

const segment = fc.oneof(
  { weight: 6, arbitrary: fc.constant(ID) },
  fc.constantFrom(
    '00000042_001',
    '00000099_000',
    `${ID}.png`,
    'x',
    '..',
    '%2e%2e',
    '%C0%AE',
    '0'.repeat(300),
  ),
  fc.string({ maxLength: 30 }).map(encodeURIComponent),
);
const accept = fc.option(
  fc.constantFrom(
    'image/png',
    'image/jpeg',
    '*/*',
    'image/*',
    'text/html',
    'image/png;q=0',
    'image/jpeg;q=0.5, image/png',
  ),
);

describe(`fuzzing the DICOM routes (${RUNS} runs)`, () => {
  it('never a 500; errors are problems (503 with Retry-After); a 200 is what was asked for', async () => {
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('metadata', 'rendered', 'instance'),
        segment,
        accept,
        answer,
        async (what, seg, acc, a) => {
          current = a;
          let r = request(server)
            .get(`/v1/images/${seg}/dicom/${what}`)
            .buffer(true)
            .parse((res, cb) => {
              const parts: Buffer[] = [];
              res.on('data', (c: Buffer) => parts.push(c));
              res.on('end', () => cb(null, Buffer.concat(parts)));
              res.on('error', () => cb(null, Buffer.concat(parts)));
            });
          if (acc) r = r.set('Accept', acc);
          const res = await r.then(
            (x) => x,
            (err: { code?: string }) => {
              // Only a cut after a 200 went out may end the response early.
              assert.ok(a.cutAfter !== null || a.silent, `request failed: ${err.code}`);
              return undefined;
            },
          );
          if (!res) return;
          seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
          assert.ok([200, 400, 403, 404, 406, 503].includes(res.status), `status ${res.status}`);
          const body = res.body as Buffer;
          if (res.status === 200) {
            if (what === 'metadata') assert.ok(Array.isArray(JSON.parse(body.toString())));
            else if (what === 'instance') {
              if (body.length >= 132) assert.equal(body.toString('latin1', 128, 132), 'DICM');
            } else {
              const type = res.headers['content-type'];
              const magic = type === 'image/png' ? png.subarray(0, 8) : jpeg.subarray(0, 3);
              assert.ok(body.subarray(0, magic.length).equals(magic), `${type} body`);
            }
            return;
          }
          assert.match(res.headers['content-type'] ?? '', /^application\/problem\+json/);
          assert.equal(JSON.parse(body.toString()).status, res.status);
          if (res.status === 503) assert.match(res.headers['retry-after'] ?? '', /^\d+$/);
        },
      ),
      { numRuns: RUNS },
    );
    for (const s of [200, 400, 404, 503]) assert.ok((seen.get(s) ?? 0) > 0, `no ${s} among ${[...seen]}`);
  });
});
