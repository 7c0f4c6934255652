import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import { BILLING, HMAC_ID, HMAC_SECRET } from './fixtures.ts';
import { verifyHmacUrl } from './v4-verify.ts';

// The entry reads process.env once when it loads; this file runs in its own process (node --test).
Object.assign(process.env, {
  BILLING_PROJECT: BILLING,
  HMAC_ACCESS_ID: HMAC_ID,
  HMAC_SECRET,
  SIGNER: 'auto',
});
for (const k of ['GOOGLE_APPLICATION_CREDENTIALS', 'K_SERVICE', 'FUNCTION_NAME']) delete process.env[k];

// Everything the function logs while it starts and serves, to show that the secret never reaches a log.
const logged: string[] = [];
const capture = (stream: NodeJS.WriteStream) => {
  const write = stream.write.bind(stream);
  stream.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    logged.push(String(chunk));
    return write(chunk, ...rest);
  }) as typeof stream.write;
};
capture(process.stdout);
capture(process.stderr);
await import('../../functions/signer/index.ts');

describe("the 'signer' entry point", () => {
  it('registers with the functions framework and signs with the configured HMAC key', async () => {
    const res = await request(getTestServer('signer'))
      .post('/v1/images:signUrls')
      .send({ imageIds: ['00000001_000', '00030805_000'], format: 'dicom', expiresInSeconds: 120 });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.billingProject, BILLING);
    for (const u of res.body.urls as { url: string }[]) {
      const v = verifyHmacUrl(u.url, HMAC_SECRET);
      assert.ok(v.valid);
      assert.equal(v.expires, 120);
    }
    const redirect = await request(getTestServer('signer'))
      .get('/v1/images/00000001_000/content')
      .redirects(0);
    assert.equal(redirect.status, 302);
    assert.ok(verifyHmacUrl(redirect.headers.location ?? '', HMAC_SECRET).valid);
  });

  it('logs which signer it uses and never the secret', () => {
    const all = logged.join('');
    assert.match(all, /"message":"URL signer ready".*"signer":"hmac"/);
    assert.ok(!all.includes(HMAC_SECRET));
  });
});
