import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import { createSignerRoutes } from '../../functions/signer/routes.ts';
import { SignUrlsResponseSchema } from '../../functions/signer/schemas.ts';
import { createRouter } from '../../shared/http/router.ts';
import { createLogger } from '../../shared/log.ts';
import { loadSignerConfig } from '../../shared/signing/config.ts';
import { createUrlSigner } from '../../shared/signing/create-signer.ts';
import { createHmacSigner } from '../../shared/signing/hmac-signer.ts';
import { BILLING, countingSigner, fixedClock, HMAC_ID, HMAC_SECRET, ids } from './fixtures.ts';
import { verifyHmacUrl } from './v4-verify.ts';

const clock = fixedClock('2025-05-06T07:08:09.000Z');
const signer = countingSigner(
  createHmacSigner({ accessId: HMAC_ID, secret: HMAC_SECRET, billingProject: BILLING, now: clock.now }),
);
const quiet = createLogger({}, () => {});
http('signer-http-test', createRouter(createSignerRoutes({ signer }), { logger: quiet }));
const server = getTestServer('signer-http-test');

const unconfigured = createUrlSigner(loadSignerConfig({}));
http('signer-http-off', createRouter(createSignerRoutes(unconfigured), { logger: quiet }));
const off = getTestServer('signer-http-off');

function assertProblem(res: request.Response, status: number, field?: string): void {
  assert.equal(res.status, status, res.text);
  assert.match(res.headers['content-type'] ?? '', /^application\/problem\+json/);
  const p = JSON.parse(res.text) as { status: number; detail: string; errors?: { path: string }[] };
  assert.equal(p.status, status);
  if (field)
    assert.ok(
      p.errors?.some((e) => e.path === field),
      `${field} in ${res.text}`,
    );
}

describe('POST /v1/images:signUrls', () => {
  beforeEach(() => {
    signer.calls = 0;
  });

  it('signs png URLs for 3600 s by default, in request order, with the billing project', async () => {
    const batch = ids(25, 100);
    const res = await request(server)
      .post('/v1/images:signUrls')
      .send({ imageIds: [...batch, `${batch[0]}.png`] });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.billingProject, BILLING);
    assert.equal(res.body.urls.length, 26);
    SignUrlsResponseSchema.parse(res.body); // the documented response shape
    for (const [i, u] of (res.body.urls as { imageId: string; url: string; expiresAt: string }[]).entries()) {
      const v = verifyHmacUrl(u.url, HMAC_SECRET);
      assert.ok(v.valid);
      assert.equal(u.imageId, batch[i % 25]);
      assert.equal(v.path, `/gcs-public-data--healthcare-nih-chest-xray/png/${batch[i % 25]}.png`);
      assert.equal(v.expires, 3600);
      assert.equal(u.expiresAt, '2025-05-06T08:08:09.000Z');
    }
    assert.equal(signer.calls, 1);
  });

  it('signs dicom URLs with the requested lifetime', async () => {
    const res = await request(server)
      .post('/v1/images:signUrls')
      .send({ imageIds: ['00000003_001'], format: 'dicom', expiresInSeconds: 1800 });
    assert.equal(res.status, 200, res.text);
    const v = verifyHmacUrl(res.body.urls[0].url, HMAC_SECRET);
    assert.ok(v.valid);
    assert.equal(v.path, '/gcs-public-data--healthcare-nih-chest-xray/dicom/00000003_001.dcm');
    assert.equal(v.expires, 1800);
  });

  it('accepts exactly 1000 ids', async () => {
    const res = await request(server)
      .post('/v1/images:signUrls')
      .send({ imageIds: ids(1000) });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.urls.length, 1000);
  });

  const bad: [string, unknown, number, string][] = [
    ['a relative path', { imageIds: ['../x'] }, 400, 'body.imageIds[0]'],
    [
      'a path escaping the prefix',
      { imageIds: ['00000001_000', '00000001_000/../../other'] },
      400,
      'body.imageIds[1]',
    ],
    ['percent-encoded dots', { imageIds: ['%2e%2e'] }, 400, 'body.imageIds[0]'],
    ['a percent-encoded slash', { imageIds: ['00000001_000%2F..%2Fx'] }, 400, 'body.imageIds[0]'],
    [
      'an absolute URL',
      {
        imageIds: [
          'https://storage.googleapis.com/gcs-public-data--healthcare-nih-chest-xray/png/00000001_000.png',
        ],
      },
      400,
      'body.imageIds[0]',
    ],
    [
      'another bucket (gs URI)',
      { imageIds: ['gs://other-bucket/png/00000001_000.png'] },
      400,
      'body.imageIds[0]',
    ],
    [
      'another bucket (bucket/object)',
      { imageIds: ['other-bucket/png/00000001_000.png'] },
      400,
      'body.imageIds[0]',
    ],
    ['another bucket (a field)', { imageIds: ['00000001_000'], bucket: 'other-bucket' }, 400, 'body'],
    ['a dicom file name', { imageIds: ['00000001_000.dcm'] }, 400, 'body.imageIds[0]'],
    ['a number as id', { imageIds: [1] }, 400, 'body.imageIds[0]'],
    ['no ids', { imageIds: [] }, 400, 'body.imageIds'],
    ['no imageIds field', { format: 'png' }, 400, 'body.imageIds'],
    ['imageIds not an array', { imageIds: '00000001_000' }, 400, 'body.imageIds'],
    ['1001 ids', { imageIds: ids(1001) }, 413, 'body.imageIds'],
    ['expiry 0', { imageIds: ['00000001_000'], expiresInSeconds: 0 }, 400, 'body.expiresInSeconds'],
    [
      'expiry 604801',
      { imageIds: ['00000001_000'], expiresInSeconds: 604_801 },
      400,
      'body.expiresInSeconds',
    ],
    [
      'a fractional expiry',
      { imageIds: ['00000001_000'], expiresInSeconds: 1.5 },
      400,
      'body.expiresInSeconds',
    ],
    [
      'expiry as a string',
      { imageIds: ['00000001_000'], expiresInSeconds: '3600' },
      400,
      'body.expiresInSeconds',
    ],
    ['a wrong format', { imageIds: ['00000001_000'], format: 'jpg' }, 400, 'body.format'],
    ['a JSON array body', ['00000001_000'], 400, 'body'],
  ];
  for (const [name, body, status, field] of bad) {
    it(`rejects ${name} with ${status} naming ${field}, signing nothing`, async () => {
      const res = await request(server)
        .post('/v1/images:signUrls')
        .send(body as object);
      assertProblem(res, status, field);
      assert.equal(signer.calls, 0);
    });
  }

  it('rejects a body that is not JSON with 415, signing nothing', async () => {
    const res = await request(server)
      .post('/v1/images:signUrls')
      .set('Content-Type', 'text/plain')
      .send('imageIds=00000001_000');
    assertProblem(res, 415);
    assert.equal(signer.calls, 0);
  });

  it('answers 405 to GET on the colon path (the literal colon routes as such)', async () => {
    const res = await request(server).get('/v1/images:signUrls');
    assertProblem(res, 405);
    assert.equal(res.headers.allow, 'POST');
  });
});

describe('GET /v1/images/{imageId}/content', () => {
  beforeEach(() => {
    signer.calls = 0;
  });

  it('redirects to a fresh signed png URL, not cacheable', async () => {
    const res = await request(server).get('/v1/images/00000005_002/content').redirects(0);
    assert.equal(res.status, 302);
    assert.equal(res.headers['cache-control'], 'no-store');
    const v = verifyHmacUrl(res.headers.location ?? '', HMAC_SECRET);
    assert.ok(v.valid);
    assert.equal(v.path, '/gcs-public-data--healthcare-nih-chest-xray/png/00000005_002.png');
    assert.equal(v.userProject, BILLING);
  });

  it('redirects to the dicom file with format=dicom and accepts the .png file name', async () => {
    const res = await request(server).get('/v1/images/00000005_002.png/content?format=dicom').redirects(0);
    assert.equal(res.status, 302);
    const v = verifyHmacUrl(res.headers.location ?? '', HMAC_SECRET);
    assert.ok(v.valid);
    assert.equal(v.path, '/gcs-public-data--healthcare-nih-chest-xray/dicom/00000005_002.dcm');
  });

  const bad: [string, string, number, string | undefined][] = [
    ['an encoded relative path', '/v1/images/..%2Fx/content', 400, 'path.imageId'],
    ['encoded dots', '/v1/images/%2e%2e/content', 400, 'path.imageId'],
    ['an encoded escape', '/v1/images/00000001_000%2F..%2F..%2Fother/content', 400, 'path.imageId'],
    ['an encoded absolute URL', '/v1/images/https%3A%2F%2Fevil.example%2Fx.png/content', 400, 'path.imageId'],
    ['an encoded gs URI', '/v1/images/gs%3A%2F%2Fother-bucket%2Fx/content', 400, 'path.imageId'],
    ['a wrong format', '/v1/images/00000001_000/content?format=jpg', 400, 'query.format'],
    ['a raw multi-segment path', '/v1/images/00000001_000/../../other/content', 404, undefined],
  ];
  for (const [name, path, status, field] of bad) {
    it(`rejects ${name} with ${status}, signing nothing`, async () => {
      const res = await request(server).get(path).redirects(0);
      assertProblem(res, status, field);
      assert.equal(res.headers.location, undefined);
      assert.equal(signer.calls, 0);
    });
  }
});

describe('without signing configuration', () => {
  it('answers 503 problem+json naming the variables to set, on both routes', async () => {
    for (const res of [
      await request(off)
        .post('/v1/images:signUrls')
        .send({ imageIds: ['00000001_000'] }),
      await request(off).get('/v1/images/00000001_000/content').redirects(0),
    ]) {
      assertProblem(res, 503);
      const detail = JSON.parse(res.text).detail as string;
      for (const v of [
        'BILLING_PROJECT',
        'HMAC_ACCESS_ID',
        'HMAC_SECRET',
        'GOOGLE_APPLICATION_CREDENTIALS',
        'SIGNER=iam',
      ]) {
        assert.ok(detail.includes(v), `${v} in ${detail}`);
      }
    }
  });

  it('still answers 400 to bad input', async () => {
    assertProblem(
      await request(off)
        .post('/v1/images:signUrls')
        .send({ imageIds: ['../x'] }),
      400,
      'body.imageIds[0]',
    );
  });
});
