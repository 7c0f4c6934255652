/**
 * Limits a caller cannot get past, on the real routes (test/fuzz/rig.ts: Firestore emulator, DuckDB, HMAC
 * signer): the body limit on every POST route (checked while reading, so neither a large body nor a gzip bomb
 * is buffered), list and page sizes at their boundaries, request heads Node refuses, and a request target
 * or Host header naming another server.
 */
import assert from 'node:assert/strict';
import { request as httpRequest, type Server } from 'node:http';
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createGzip } from 'node:zlib';
import request from 'supertest';
import { FINDINGS } from '../../shared/model/index.ts';
import { MAX_BODY_BYTES } from '../fuzz/check.ts';
import { type FuzzRig, startFuzzRig } from '../fuzz/rig.ts';

let rig: FuzzRig;
before(async () => {
  rig = await startFuzzRig({ images: 120 });
});
after(() => rig?.stop());

const POSTS: [string, unknown][] = [
  ['/v1/images:batchGet', { imageIds: ['00000001_000'] }],
  ['/v1/images:signUrls', { imageIds: ['00000001_000'] }],
  ['/v1/cohorts:query', { filter: {} }],
  ['/v1/cohorts:summary', { filter: {} }],
  ['/v1/cohorts:export', { filter: {}, format: 'csv' }],
];

/** `body` as JSON text padded with spaces to exactly `bytes` bytes (still valid JSON). */
const padded = (body: unknown, bytes: number) => {
  const text = JSON.stringify(body);
  return text + ' '.repeat(bytes - Buffer.byteLength(text));
};

function assertProblem(res: request.Response, status: number): { detail: string } {
  assert.equal(res.status, status, res.text.slice(0, 300));
  assert.match(res.headers['content-type'] ?? '', /^application\/problem\+json/);
  assert.equal(res.headers['x-content-type-options'], 'nosniff');
  return JSON.parse(res.text);
}

/** Sends raw bytes on one connection and resolves with what comes back before `ms` or the close. */
function raw(server: Server, bytes: string, ms = 5000): Promise<string> {
  const { port } = server.address() as { port: number };
  return new Promise((resolve, reject) => {
    let got = '';
    const s = connect(port, '127.0.0.1', () => s.write(bytes));
    const timer = setTimeout(() => {
      s.destroy();
      resolve(got);
    }, ms);
    s.on('data', (d) => {
      got += d.toString('latin1');
      if (/\r\n\r\n/.test(got) && /content-length: (\d+)/i.test(got)) {
        const len = Number(/content-length: (\d+)/i.exec(got)![1]);
        if (got.length >= got.indexOf('\r\n\r\n') + 4 + len) {
          clearTimeout(timer);
          s.destroy();
          resolve(got);
        }
      }
    });
    s.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
    s.on('error', reject);
  });
}

/** `{"filter":{},"pad":"` then `mib` MiB of spaces then `"}`: valid JSON, streamed a MiB at a time. */
function* repeat(mib: number): Generator<Buffer> {
  const chunk = Buffer.alloc(1024 * 1024, 0x20);
  yield Buffer.from('{"filter":{},"pad":"');
  for (let i = 0; i < mib; i++) yield chunk;
  yield Buffer.from('"}');
}

/** POSTs a body streamed from `chunks` with exactly these headers (no client-side serialisation). */
function postStream(
  server: Server,
  path: string,
  headers: Record<string, string>,
  chunks: Iterable<Buffer>,
): Promise<{ status: number; text: string }> {
  const { port } = server.address() as { port: number };
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: 'POST', headers }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => {
        text += d.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    Readable.from(chunks).pipe(req);
  });
}

/** Runs `work` while sampling this process's RSS (the server is in-process); asserts it stayed flat. */
async function measured<T>(work: () => Promise<T>): Promise<T> {
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 5);
  try {
    return await work();
  } finally {
    clearInterval(sampler);
    const grownMiB = (peak - before) / 2 ** 20;
    assert.ok(grownMiB < 48, `RSS grew ${grownMiB.toFixed(0)} MiB while refusing an oversized body`);
  }
}

describe('request body limit on every POST route', () => {
  for (const [path, body] of POSTS) {
    it(`${path}: ${MAX_BODY_BYTES} bytes are read, one more is 413 problem+json`, async () => {
      const at = await request(rig.server)
        .post(path)
        .set('Content-Type', 'application/json')
        .send(padded(body, MAX_BODY_BYTES));
      assert.equal(at.status, 200, at.text.slice(0, 300));
      for (const text of [padded(body, MAX_BODY_BYTES + 1), '['.repeat(MAX_BODY_BYTES + 1)]) {
        const over = await request(rig.server).post(path).set('Content-Type', 'application/json').send(text);
        assert.match(assertProblem(over, 413).detail, new RegExp(`limit is ${MAX_BODY_BYTES} bytes`));
      }
      const notJson = await request(rig.server)
        .post(path)
        .set('Content-Type', 'text/plain')
        .send('x'.repeat(MAX_BODY_BYTES + 1));
      assertProblem(notJson, 413);
    });
  }

  it('a 64 MiB body is dropped after the limit, never kept: 413 "over the limit", the server serves on', async () => {
    const res = await postStream(
      rig.server,
      '/v1/cohorts:summary',
      { 'content-type': 'application/json' },
      repeat(64),
    );
    assert.equal(res.status, 413);
    // Had the body been buffered, the router would know (and say) its full size.
    assert.match(JSON.parse(res.text).detail, /is over the limit; the limit is 1048576 bytes/);
    await request(rig.server).get('/v1/healthz').expect(200);
  });

  it('a 256 MiB gzip bomb (about 250 KB on the wire) is cut at the limit: 413, memory flat', async () => {
    const parts: Buffer[] = [];
    for await (const p of Readable.from(repeat(256)).pipe(createGzip({ level: 9 }))) parts.push(p as Buffer);
    const bomb = Buffer.concat(parts);
    assert.ok(bomb.length < 2 * 1024 * 1024, `compressed to ${bomb.length} bytes`);
    // application/cloudevents+json: the framework's own CloudEvents parser, in front of every route too.
    for (const type of ['application/json', 'application/cloudevents+json']) {
      for (const [path] of POSTS) {
        const headers = { 'content-type': type, 'content-encoding': 'gzip' };
        const res = await measured(() => postStream(rig.server, path, headers, [bomb]));
        assert.equal(res.status, 413, `${type} to ${path}: ${res.text}`);
        assert.match(res.text, /"status":413/);
        assert.match(JSON.parse(res.text).detail, /is over the limit/);
      }
    }
  });
});

describe('list and page sizes at their boundaries', () => {
  const ids = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
  const cases: [string, string, unknown, number][] = [
    ['pageSize 1000', '/v1/cohorts:query', { pageSize: 1000 }, 200],
    ['1000 patientIds', '/v1/cohorts:query', { filter: { patientIds: ids(1000) } }, 200],
    ['1001 patientIds', '/v1/cohorts:summary', { filter: { patientIds: ids(1001) } }, 400],
    ['32 sexes (repeats allowed)', '/v1/cohorts:summary', { filter: { sex: Array(32).fill('F') } }, 200],
    ['33 sexes', '/v1/cohorts:summary', { filter: { sex: Array(33).fill('F') } }, 400],
    [
      '32 findings',
      '/v1/cohorts:summary',
      { filter: { findings: { any: Array(32).fill(FINDINGS[0]) } } },
      200,
    ],
    [
      '33 findings',
      '/v1/cohorts:summary',
      { filter: { findings: { any: Array(33).fill(FINDINGS[0]) } } },
      400,
    ],
    [
      'export ttl 7 days',
      '/v1/cohorts:export',
      { format: 'csv', urls: 'signed', expiresInSeconds: 604_800 },
      200,
    ],
    [
      'sign ttl 7 days + 1 s',
      '/v1/images:signUrls',
      { imageIds: ['00000001_000'], expiresInSeconds: 604_801 },
      400,
    ],
  ];
  for (const [name, path, body, status] of cases) {
    it(`${name}: ${status}`, async () => {
      const res = await request(rig.server)
        .post(path)
        .set('Content-Type', 'application/json')
        .send(JSON.stringify(body));
      if (status === 200) {
        assert.equal(res.status, 200, res.text.slice(0, 300));
        if (path === '/v1/cohorts:query') assert.ok(res.body.images.length <= 1000);
      } else assertProblem(res, status);
    });
  }
});

describe('what Node refuses before any route runs, and other servers named in a request', () => {
  it('a request head over 16 KiB is 431 and the server keeps serving', async () => {
    const reply = await raw(
      rig.server,
      `GET /v1/healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ${'p'.repeat(20_000)}\r\n\r\n`,
    );
    assert.match(reply, /^HTTP\/1\.1 431 /);
    await request(rig.server).get('/v1/healthz').expect(200);
  });

  it('an absolute-form target naming another host is served as our own path, not proxied', async () => {
    const reply = await raw(
      rig.server,
      'GET http://evil.example/v1/images/00000001_000/content?format=dicom HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n',
    );
    assert.match(reply, /^HTTP\/1\.1 302 /);
    assert.match(
      reply,
      /\r\nLocation: https:\/\/storage\.googleapis\.com\/gcs-public-data--healthcare-nih-chest-xray\/dicom\/00000001_000\.dcm\?/i,
    );
  });

  it('a forged Host header does not leak into the OpenAPI document or any link', async () => {
    const res = await request(rig.server).get('/v1/openapi.json').set('Host', 'evil.example').expect(200);
    assert.doesNotMatch(res.text, /evil\.example/);
    assert.doesNotMatch(res.headers.link ?? '', /evil\.example/);
  });

  it("the framework's own answers (favicon, robots) carry nosniff too", async () => {
    for (const path of ['/favicon.ico', '/robots.txt']) {
      const res = await request(rig.server).get(path);
      assert.equal(res.status, 404);
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
    }
  });
});
