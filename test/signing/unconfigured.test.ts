/**
 * Issue 20, Exposure: the 503 a caller gets while URL signing is not configured says which variables to set
 * and nothing about the host: no file path, directory, file name or host name, whatever the operator got
 * wrong. The operator's log line still carries the reason with the path. Through the signer function as
 * assembled for the cloud (functions/signer/app.ts) under functions-framework's server.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import { createSignerApp, loadSignerAppConfig } from '../../functions/signer/app.ts';
import { createLogger } from '../../shared/log.ts';
import { BILLING, EMAIL, HMAC_ID } from './fixtures.ts';

// A directory named after this host, so that a leaked path would also leak the host name.
const root = mkdtempSync(join(tmpdir(), 'unconfigured-'));
const dir = join(root, `keys-on-${hostname()}`);
mkdirSync(dir);
after(() => rmSync(root, { recursive: true, force: true }));
const file = (name: string, body: unknown) => {
  const p = join(dir, name);
  writeFileSync(p, JSON.stringify(body));
  return p;
};
const userCreds = file('adc-user.json', { type: 'authorized_user', client_id: 'x', refresh_token: 't' });
const badPem = file('bad-pem.json', {
  type: 'service_account',
  client_email: EMAIL,
  private_key: '-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n',
});
const missing = join(dir, 'missing-key.json');

/** Every variable the signer reads: the only names a 503 may tell the caller to set. */
const VARIABLES = /\b(BILLING_PROJECT|GOOGLE_APPLICATION_CREDENTIALS|HMAC_ACCESS_ID|HMAC_SECRET|SIGNER)\b/;

const cases: [string, Record<string, string>][] = [
  ['nothing set', {}],
  ['a key file that does not exist', { BILLING_PROJECT: BILLING, GOOGLE_APPLICATION_CREDENTIALS: missing }],
  ['user credentials', { BILLING_PROJECT: BILLING, GOOGLE_APPLICATION_CREDENTIALS: userCreds }],
  ['a key that cannot sign', { BILLING_PROJECT: BILLING, GOOGLE_APPLICATION_CREDENTIALS: badPem }],
  ['a key file but no billing project', { GOOGLE_APPLICATION_CREDENTIALS: missing }],
  ['half an HMAC key', { BILLING_PROJECT: BILLING, HMAC_ACCESS_ID: HMAC_ID }],
  ['SIGNER=key without a key file', { BILLING_PROJECT: BILLING, SIGNER: 'key' }],
];

describe('the 503 while URL signing is not configured', () => {
  cases.forEach(([name, env], i) => {
    it(`${name}: names the variables to set, and no path or host`, async () => {
      const lines: string[] = [];
      const app = createSignerApp({
        config: loadSignerAppConfig(env),
        logger: createLogger({}, (l) => lines.push(l)),
      });
      http(`unconfigured-${i}`, app.handler);
      const res = await request(getTestServer(`unconfigured-${i}`))
        .post('/v1/images:signUrls')
        .send({ imageIds: ['00000001_000'] });
      assert.equal(res.status, 503, res.text);
      assert.match(res.headers['content-type'] ?? '', /^application\/problem\+json/);
      assert.ok(res.headers['retry-after']);
      const { detail } = JSON.parse(res.text) as { detail: string };
      assert.match(detail, VARIABLES);
      // No absolute or home path (`/a/b`, `~/a`), no Windows path, no file name.
      assert.doesNotMatch(detail, /(^|[\s=(])~?\/[^\s/]+\/|\\|\.json\b/, `a path in: ${detail}`);
      for (const leak of [root, dir, hostname(), tmpdir(), 'missing-key', 'adc-user', 'bad-pem', 'keys-on']) {
        assert.ok(!detail.includes(leak), `${leak} in: ${detail}`);
      }
      // The operator still learns which file was wrong, from the log.
      const file = env.GOOGLE_APPLICATION_CREDENTIALS;
      if (file && env.BILLING_PROJECT)
        assert.ok(
          lines.some((l) => l.includes(file)),
          lines.join('\n'),
        );
    });
  });
});
