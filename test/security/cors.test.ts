/**
 * CORS and response headers as configured through the environment (CORS_ORIGINS, MAX_BODY_BYTES read by
 * loadHttpConfig, as every HTTP function does): an allow-list echoes only its own origins, `*` allows any
 * (never with credentials), an empty list sends no CORS headers; every answer, error or not, carries nosniff.
 * The whole signer function as its entry builds it (functions/signer/app.ts; HMAC signing, no backend).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import { createSignerApp, loadSignerAppConfig } from '../../functions/signer/app.ts';
import { createLogger } from '../../shared/log.ts';

const ALLOWED = ['https://app.example', 'https://admin.example'];
const SIGNING = {
  BILLING_PROJECT: 'nih-cxr-cors-test',
  HMAC_ACCESS_ID: 'GOOG1ECORSTESTNOTREAL',
  HMAC_SECRET: 'cors-test-secret-not-real',
};

function serve(name: string, env: Record<string, string>) {
  const config = loadSignerAppConfig({ ...SIGNING, ...env });
  http(name, createSignerApp({ config, logger: createLogger({}, () => {}) }).handler);
  return getTestServer(name);
}
const listed = serve('cors-listed', { CORS_ORIGINS: ALLOWED.join(', '), MAX_BODY_BYTES: '2048' });
const any = serve('cors-any', { CORS_ORIGINS: '*' });
const none = serve('cors-none', {});

/** One request of each kind of answer: 200, 302, 400, 404, 405, 413, 204 preflight. */
const KINDS: [string, (s: typeof listed, origin: string) => request.Test][] = [
  [
    '200',
    (s, o) =>
      request(s)
        .post('/v1/images:signUrls')
        .set('Origin', o)
        .send({ imageIds: ['00000001_000'] }),
  ],
  ['302', (s, o) => request(s).get('/v1/images/00000001_000/content').set('Origin', o)],
  [
    '400',
    (s, o) =>
      request(s)
        .post('/v1/images:signUrls')
        .set('Origin', o)
        .send({ imageIds: ['../x'] }),
  ],
  ['404', (s, o) => request(s).get('/v1/nothing').set('Origin', o)],
  ['405', (s, o) => request(s).delete('/v1/images:signUrls').set('Origin', o)],
  [
    '413',
    (s, o) =>
      request(s)
        .post('/v1/images:signUrls')
        .set('Origin', o)
        .set('Content-Type', 'application/json')
        .send(`{"imageIds":["00000001_000"]}${' '.repeat(3000)}`),
  ],
  [
    '204',
    (s, o) =>
      request(s)
        .options('/v1/images:signUrls')
        .set('Origin', o)
        .set('Access-Control-Request-Method', 'POST')
        .set('Access-Control-Request-Headers', 'content-type'),
  ],
];

describe('CORS with an allow-list (CORS_ORIGINS=a, b)', () => {
  for (const [status, send] of KINDS) {
    it(`${status}: each listed origin is echoed with Vary: Origin; look-alikes get nothing`, async () => {
      for (const origin of ALLOWED) {
        const res = await send(listed, origin);
        assert.equal(String(res.status), status, res.text);
        assert.equal(res.headers['access-control-allow-origin'], origin);
        assert.equal(res.headers.vary, 'Origin');
        assert.equal(res.headers['x-content-type-options'], 'nosniff');
        assert.equal(res.headers['access-control-allow-credentials'], undefined);
        if (status === '204') {
          assert.equal(res.headers['access-control-allow-methods'], 'GET, POST, OPTIONS');
          assert.match(res.headers['access-control-allow-headers'] ?? '', /Content-Type/);
          // API Gateway takes the key in x-api-key: a browser's preflight must be allowed to send it.
          assert.match(res.headers['access-control-allow-headers'] ?? '', /\bX-API-Key\b/i);
        } else assert.equal(res.headers['access-control-expose-headers'], 'ETag, Location');
      }
      for (const origin of [
        'https://evil.example',
        'null',
        'https://app.example.evil',
        'http://app.example',
        'https://app.example:8443',
        'https://app.example/',
      ]) {
        const res = await send(listed, origin);
        assert.equal(String(res.status), status);
        assert.equal(res.headers['access-control-allow-origin'], undefined, origin);
        assert.equal(res.headers.vary, 'Origin', 'the answer varies with Origin even when refused');
        assert.equal(res.headers['x-content-type-options'], 'nosniff');
      }
    });
  }

  it('MAX_BODY_BYTES from the environment is the limit', async () => {
    const at = `{"imageIds":["00000001_000"]}`;
    const ok = await request(listed)
      .post('/v1/images:signUrls')
      .set('Content-Type', 'application/json')
      .send(at + ' '.repeat(2048 - at.length));
    assert.equal(ok.status, 200);
  });
});

describe('CORS_ORIGINS=* and unset', () => {
  it('* allows any origin with a literal *, never credentials', async () => {
    for (const [status, send] of KINDS) {
      const res = await send(any, 'https://anyone.example');
      assert.equal(res.headers['access-control-allow-origin'], '*', status);
      assert.equal(res.headers['access-control-allow-credentials'], undefined);
    }
  });

  it('unset sends no CORS header at all, preflight included', async () => {
    for (const [status, send] of KINDS.filter(([s]) => s !== '413')) {
      const res = await send(none, 'https://app.example');
      assert.equal(String(res.status), status);
      assert.equal(res.headers['access-control-allow-origin'], undefined);
      assert.equal(res.headers['access-control-expose-headers'], undefined);
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
    }
  });
});
