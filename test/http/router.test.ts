import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import * as z from 'zod';
import { BadRequestError } from '../../shared/http/errors.ts';
import { createRouter, type Route } from '../../shared/http/router.ts';
import { jsonBody, parseInput } from '../../shared/http/validate.ts';
import { createLogger } from '../../shared/log.ts';

const logged: string[] = [];
const Body = z.object({ n: z.number().int().min(1) }).strict();
const spec = { operationId: 'x', summary: 'x', responses: { 200: { description: 'ok' } } };
const routes: Route[] = [
  { method: 'GET', path: '/v1/things/{id}', spec, handler: (_req, p) => ({ body: { id: p.id } }) },
  {
    method: 'POST',
    path: '/v1/things:count',
    spec,
    handler: (req) => ({ body: parseInput(Body, jsonBody(req), 'body') }),
  },
  {
    method: 'GET',
    path: '/v1/boom',
    spec,
    handler: () => {
      throw new Error('secret internals');
    },
  },
  {
    method: 'GET',
    path: '/v1/bad',
    spec,
    handler: () => {
      throw new BadRequestError('nope', [{ path: 'query.x', message: 'bad' }]);
    },
  },
];
http(
  'router-test',
  createRouter(routes, {
    maxBodyBytes: 100,
    corsOrigins: ['https://app.example'],
    logger: createLogger({}, (l) => logged.push(l)),
  }),
);
const server = () => request(getTestServer('router-test'));

describe('router', () => {
  it('routes path params, percent-decoded', async () => {
    const r = await server().get('/v1/things/a%20b').expect(200);
    assert.deepEqual(r.body, { id: 'a b' });
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    assert.match(r.headers.link ?? '', /<https:\/\/nihcc\.app\.box\.com\/v\/ChestXray-NIHCC>; rel="license"/);
  });
  it('routes colon custom methods', async () => {
    const r = await server().post('/v1/things:count').send({ n: 2 }).expect(200);
    assert.deepEqual(r.body, { n: 2 });
  });
  it('answers unknown paths with 404 problem+json', async () => {
    const r = await server().get('/nope').expect(404);
    assert.match(r.headers['content-type'] ?? '', /application\/problem\+json/);
    assert.equal(JSON.parse(r.text).status, 404);
  });
  it('answers a wrong method with 405 and Allow', async () => {
    const r = await server().post('/v1/things/1').send({}).expect(405);
    assert.equal(r.headers.allow, 'GET');
  });
  it('names the bad field of an invalid body', async () => {
    const r = await server().post('/v1/things:count').send({ n: 0 }).expect(400);
    const p = JSON.parse(r.text);
    assert.equal(p.errors[0].path, 'body.n');
  });
  it('answers malformed JSON with 400 problem+json, not the framework HTML page', async () => {
    const r = await server().post('/v1/things:count').set('content-type', 'application/json').send('{bad');
    assert.equal(r.status, 400);
    assert.match(r.headers['content-type'] ?? '', /application\/problem\+json/);
    assert.doesNotMatch(r.text, /at JSON\.parse|<html/);
  });
  it('rejects a non-JSON body with 415', async () => {
    await server().post('/v1/things:count').set('content-type', 'text/plain').send('n=1').expect(415);
  });
  it('rejects a body over the limit with 413', async () => {
    const r = await server()
      .post('/v1/things:count')
      .send({ n: 1, pad: 'x'.repeat(200) })
      .expect(413);
    assert.match(JSON.parse(r.text).detail, /limit is 100 bytes/);
  });
  it('hides internals of unexpected errors and logs them', async () => {
    const r = await server().get('/v1/boom').expect(500);
    assert.doesNotMatch(r.text, /secret internals/);
    assert.ok(logged.some((l) => l.includes('secret internals') && JSON.parse(l).severity === 'ERROR'));
  });
  it('maps AppErrors with their field errors', async () => {
    const r = await server().get('/v1/bad').expect(400);
    assert.deepEqual(JSON.parse(r.text).errors, [{ path: 'query.x', message: 'bad' }]);
  });
  it('sets CORS headers only for allowed origins', async () => {
    const ok = await server().get('/v1/things/1').set('origin', 'https://app.example');
    assert.equal(ok.headers['access-control-allow-origin'], 'https://app.example');
    const no = await server().get('/v1/things/1').set('origin', 'https://evil.example');
    assert.equal(no.headers['access-control-allow-origin'], undefined);
  });
});
