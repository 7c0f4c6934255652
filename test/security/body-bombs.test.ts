/**
 * Issue 20, Build 1: one request-size rule for every parser functions-framework installs. The framework puts
 * a JSON parser for `application/cloudevents+json` (limit 1024 MB, gzip inflated) in front of every function,
 * HTTP ones included; here a 1 GiB gzip bomb (about 1 MB on the wire) sent with that type must be cut at the
 * router's limit while it is read: 413 problem+json, the process's memory flat. Then every other content type
 * and encoding, to a POST and a GET route. The server is the router under functions-framework's own server
 * (getTestServer), in this process, so its memory is this process's.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { createRouter, type Route } from '../../shared/http/router.ts';
import { jsonBody } from '../../shared/http/validate.ts';
import { type Answer, bomb, ENCODINGS, measured, postBytes } from '../harness/bombs.ts';

const LIMIT = 1024 * 1024;
const spec = { operationId: 'x', summary: 'x', responses: { 200: { description: 'ok' } } };
const routes: Route[] = [
  { method: 'GET', path: '/v1/things/{id}', spec, handler: (_req, p) => ({ body: { id: p.id } }) },
  { method: 'POST', path: '/v1/things:echo', spec, handler: (req) => ({ body: jsonBody(req) ?? null }) },
  { method: 'POST', path: '/v1/things:parsed', spec, handler: (req) => ({ body: req.body ?? null }) },
];
http('body-bombs', createRouter(routes, { maxBodyBytes: LIMIT }));

let server: Server;
before(async () => {
  server = getTestServer('body-bombs');
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
});
after(() => new Promise<void>((r) => server.close(() => r())));

function assert413(a: Answer): void {
  assert.equal(a.status, 413, a.text.slice(0, 300));
  assert.match(String(a.headers['content-type']), /^application\/problem\+json/);
  const p = JSON.parse(a.text) as { status: number; detail: string };
  assert.equal(p.status, 413);
  // Cut while reading: had the body been inflated in full, the router would name its size.
  assert.match(p.detail, new RegExp(`is over the limit; the limit is ${LIMIT} bytes`));
}

describe('a 1 GiB gzip bomb sent as application/cloudevents+json to an HTTP route', () => {
  it('is answered 413 problem+json without inflating past the limit (RSS and heap flat)', async (t) => {
    const body = await bomb('gzip', 1024);
    assert.ok(body.length < 1.1 * 1024 * 1024, `compressed to ${body.length} bytes`);
    const headers = { 'content-type': 'application/cloudevents+json', 'content-encoding': 'gzip' };
    const m = await measured(() => postBytes(server, { path: '/v1/things:echo', headers, body }));
    t.diagnostic(
      `1 GiB cloudevents gzip bomb (${body.length} bytes): ${m.result.status} in ${m.ms.toFixed(0)} ms, ` +
        `peak RSS +${m.rssMiB.toFixed(1)} MiB, peak heap+buffers +${m.heapMiB.toFixed(1)} MiB`,
    );
    assert413(m.result);
    // Reading up to the 1 MiB limit costs a few MiB; inflating the bomb would cost over 1,024.
    assert.ok(m.heapMiB < 32, `live heap + buffers grew ${m.heapMiB.toFixed(0)} MiB`);
    assert.ok(m.rssMiB < 64, `RSS grew ${m.rssMiB.toFixed(0)} MiB`);
  });

  it('a CloudEvent under the limit is still read (the parser is bounded, not removed)', async () => {
    const event = { specversion: '1.0', id: '1', source: 's', type: 't', data: { pad: 'x'.repeat(100_000) } };
    const a = await postBytes(server, {
      path: '/v1/things:parsed',
      headers: { 'content-type': 'application/cloudevents+json' },
      body: Buffer.from(JSON.stringify(event)),
    });
    assert.equal(a.status, 200, a.text.slice(0, 300));
    assert.deepEqual(JSON.parse(a.text), event);
  });
});

describe('every content type and encoding the framework parses, to any route', () => {
  const TYPES = [
    'application/cloudevents+json',
    'application/json',
    'text/plain',
    'application/x-www-form-urlencoded',
    'application/octet-stream',
    'image/png',
  ];
  const bombs = new Map<string, Buffer>();
  before(async () => {
    for (const e of ENCODINGS) bombs.set(e, await bomb(e, 64));
  });
  for (const encoding of ENCODINGS) {
    it(`64 MiB of ${encoding} zeros: 413 problem+json for each type, on a POST and a GET route`, async () => {
      const body = bombs.get(encoding)!;
      const m = await measured(async () => {
        for (const type of TYPES) {
          for (const [method, path] of [
            ['POST', '/v1/things:echo'],
            ['GET', '/v1/things/1'],
          ] as const) {
            const headers = { 'content-type': type, 'content-encoding': encoding };
            const a = await postBytes(server, { method, path, headers, body });
            assert.doesNotThrow(() => assert413(a), `${method} ${path} as ${type}: ${a.status} ${a.text}`);
          }
        }
      });
      assert.ok(m.heapMiB < 32, `live heap + buffers grew ${m.heapMiB.toFixed(0)} MiB`);
    });
  }

  it('an identity body over the limit is refused from its Content-Length, for every type', async () => {
    for (const type of TYPES) {
      const a = await postBytes(server, {
        path: '/v1/things:echo',
        headers: { 'content-type': type },
        body: Buffer.alloc(LIMIT + 1, 0x20),
      });
      assert.equal(a.status, 413, `${type}: ${a.text}`);
      assert.match(String(a.headers['content-type']), /^application\/problem\+json/);
    }
  });
});
