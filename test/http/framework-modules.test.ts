/**
 * A function module imported before functions-framework has loaded express and body-parser (a bare import, as
 * in the cold-import bench, or a test that imports the function before `getTestServer`) must neither load them
 * itself (that would cost every bundle the framework's start-up) nor lose its adaptations of them: they are
 * applied when the framework requires them. This file must not import the framework's server statically.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { http } from '@google-cloud/functions-framework';
import request from 'supertest';
import { createRouter, type Route } from '../../shared/http/router.ts';
import { jsonBody } from '../../shared/http/validate.ts';

const fromFramework = createRequire(
  createRequire(import.meta.url).resolve('@google-cloud/functions-framework'),
);
const isLoaded = (id: string) => fromFramework.cache[fromFramework.resolve(id)] !== undefined;
const spec = { operationId: 'x', summary: 'x', responses: { 200: { description: 'ok' } } };
const routes: Route[] = [
  { method: 'GET', path: '/v1/things/{id}', spec, handler: (_req, p) => ({ body: { id: p.id } }) },
  { method: 'POST', path: '/v1/things:echo', spec, handler: (req) => ({ body: jsonBody(req) }) },
];

const loadedBefore = { express: isLoaded('express'), bodyParser: isLoaded('body-parser') };
http('deferred-router', createRouter(routes, { maxBodyBytes: 1000 }));
const loadedByRouter = { express: isLoaded('express'), bodyParser: isLoaded('body-parser') };
// Only now does the framework load express and body-parser, as its CLI does before it builds the server.
const { getTestServer } = await import('@google-cloud/functions-framework/testing');
const server = () => request(getTestServer('deferred-router'));

const assertProblem = (r: request.Response, status: number) => {
  assert.equal(r.status, status, r.text);
  assert.match(r.headers['content-type'] ?? '', /application\/problem\+json/);
  assert.equal(JSON.parse(r.text).status, status);
  assert.doesNotMatch(r.text, /<html|at JSON\.parse/);
};

describe('a router created before the framework loads express and body-parser', () => {
  it('does not load them itself', () => {
    assert.deepEqual(loadedBefore, { express: false, bodyParser: false });
    assert.deepEqual(loadedByRouter, { express: false, bodyParser: false });
    assert.equal(isLoaded('express'), true, 'getTestServer loaded the framework server');
  });
  it('still answers malformed JSON as a 400 problem from the router (with its Link header)', async () => {
    const r = await server().post('/v1/things:echo').set('content-type', 'application/json').send('{bad');
    assertProblem(r, 400);
    assert.match(r.headers.link ?? '', /ChestXray-NIHCC/);
  });
  it('still answers an undecodable path as a 400 problem naming the path', async () => {
    const r = await server().get('/v1/things/%C0%AE');
    assertProblem(r, 400);
    assert.match(JSON.parse(r.text).errors?.[0]?.path ?? JSON.parse(r.text).detail, /path/);
  });
  it('still clamps the framework body limit: a small gzip body that inflates past it is cut, not read', async () => {
    const inflated = JSON.stringify({ pad: 'x'.repeat(50_000) });
    const r = await server()
      .post('/v1/things:echo')
      .set('content-type', 'application/json')
      .set('content-encoding', 'gzip')
      .serialize((b: Buffer) => b as unknown as string) // as is: superagent would JSON-encode a Buffer
      .send(gzipSync(inflated));
    assertProblem(r, 413);
    // Read in full, the router would name the inflated size; cut by body-parser, it cannot.
    assert.match(JSON.parse(r.text).detail, /over the limit/);
  });
  it('still adds nosniff to the framework’s own answers', async () => {
    const r = await server().get('/favicon.ico').expect(404);
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
  });
  it('serves well-formed requests as before', async () => {
    const r = await server().post('/v1/things:echo').send({ a: 1 }).expect(200);
    assert.deepEqual(r.body, { a: 1 });
  });
});
