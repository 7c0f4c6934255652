/**
 * What the functions log when things fail, in process: the signer entry started from a service-account key
 * file (RSA PEM), the labels function over a Firestore that is not there (503) and the cohorts function over
 * a DuckDB store that was closed (503), both built by their app.ts, each called with an API key in the query string as API Gateway allows.
 * The log lines name the failure and the request but carry no key material and no API key.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import { createCohortsApp, loadCohortsAppConfig } from '../../functions/cohorts/app.ts';
import { createLabelsApp, loadLabelsAppConfig } from '../../functions/labels/app.ts';
import { freePort } from '../../scripts/emulators/firestore.ts';
import { createDuckDbCohortStore } from '../../shared/cohorts/duckdb-store.ts';
import { createPageTokens } from '../../shared/cohorts/page-token.ts';
import { loggableUrl } from '../../shared/http/log-fields.ts';
import { createLogger } from '../../shared/log.ts';
import { loadSignerConfig } from '../../shared/signing/config.ts';
import { createUrlSigner } from '../../shared/signing/create-signer.ts';
import { verifyRsaUrl } from '../signing/v4-verify.ts';

const API_KEY = 'AIzaSyFAKE-redaction-test-key-987654321';
process.env.METADATA_SERVER_DETECTION = 'none';
const PAGE_SECRET = 'redaction-test-page-token-secret-5a6b7c';
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const PEM_LINES = PEM.split('\n').filter((l) => l && !l.startsWith('-----'));
const dir = mkdtempSync(join(tmpdir(), 'nih-cxr-redaction-'));
const keyFile = join(dir, 'sa.json');
writeFileSync(
  keyFile,
  JSON.stringify({
    type: 'service_account',
    private_key: PEM,
    client_email: 'signer@x-project.iam.gserviceaccount.com',
  }),
);
after(() => rmSync(dir, { recursive: true, force: true }));

// Everything this process writes while the entry starts and serves (the entry logs through shared/log.ts).
const written: string[] = [];
for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream);
  stream.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    written.push(String(chunk));
    return write(chunk, ...rest);
  }) as typeof stream.write;
}

function assertClean(text: string): void {
  assert.ok(!text.includes(API_KEY), 'an API key was logged');
  assert.ok(!text.includes(PAGE_SECRET), 'the page-token secret was logged');
  assert.ok(!text.includes('PRIVATE KEY'), 'a PEM header was logged');
  for (const line of PEM_LINES.slice(0, 5)) assert.ok(!text.includes(line), 'PEM key material was logged');
}

describe('the signer entry with a service-account key file', () => {
  it('signs with the key and logs neither the key nor the file content', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, {
      BILLING_PROJECT: 'nih-cxr-redaction',
      GOOGLE_APPLICATION_CREDENTIALS: keyFile,
      SIGNER: 'key',
    });
    for (const k of ['HMAC_ACCESS_ID', 'HMAC_SECRET', 'K_SERVICE', 'FUNCTION_NAME']) delete process.env[k];
    try {
      await import('../../functions/signer/index.ts');
    } finally {
      process.env = saved;
    }
    const server = getTestServer('signer');
    const res = await request(server)
      .post(`/v1/images:signUrls?key=${API_KEY}`)
      .send({ imageIds: ['00000001_000'] });
    assert.equal(res.status, 200, res.text);
    assert.ok(verifyRsaUrl(res.body.urls[0].url, publicKey).valid);
    await request(server)
      .post('/v1/images:signUrls')
      .send({ imageIds: ['x'] })
      .expect(400);
    const all = written.join('');
    assert.match(all, /"message":"URL signer ready".*"signer":"key"/);
    assertClean(all);
  });

  it('a key file that is not a key is reported by path and reason, not by content', () => {
    const broken = join(dir, 'broken.json');
    writeFileSync(
      broken,
      JSON.stringify({ type: 'service_account', private_key: PEM.slice(0, 400), client_email: 'a@b.c' }),
    );
    const setup = createUrlSigner(
      loadSignerConfig({
        BILLING_PROJECT: 'nih-cxr-redaction',
        GOOGLE_APPLICATION_CREDENTIALS: broken,
        SIGNER: 'key',
      }),
    );
    assert.equal(setup.signer, undefined);
    const lines: string[] = [];
    createLogger({}, (l) => lines.push(l)).warn('URL signing is not configured; routes answer 503', {
      detail: setup.problem,
    });
    assert.match(lines[0]!, /GOOGLE_APPLICATION_CREDENTIALS/);
    assertClean(lines.join('\n'));
  });
});

describe('5xx answers are logged with the request, the API key masked', () => {
  it('labels over an absent Firestore: 503 with Retry-After, one ERROR line per request', async () => {
    const lines: string[] = [];
    const config = loadLabelsAppConfig({
      FIRESTORE_EMULATOR_HOST: `127.0.0.1:${await freePort()}`,
      FIRESTORE_TIMEOUT_MS: '1500',
      LABELS_CACHE_BYTES: '0',
    });
    const app = createLabelsApp({ config, logger: createLogger({}, (l) => lines.push(l)) });
    http('redaction-labels', app.handler);
    const res = await request(getTestServer('redaction-labels')).get(
      `/v1/images/00000001_000?key=${API_KEY}&x=1`,
    );
    assert.equal(res.status, 503);
    assert.ok(res.headers['retry-after']);
    const errors = lines.map((l) => JSON.parse(l)).filter((e) => e.severity === 'ERROR');
    assert.equal(errors.length, 1);
    assert.equal(errors[0].httpRequest.requestUrl, '/v1/images/00000001_000?key=[REDACTED]&x=1');
    assertClean(lines.join('\n'));
  });

  it('cohorts over a closed DuckDB store: the failure is logged without the page-token secret or the key', async () => {
    const lines: string[] = [];
    const store = await createDuckDbCohortStore({ tokens: createPageTokens(PAGE_SECRET) });
    await store.close();
    const log = createLogger({}, (l) => lines.push(l));
    const config = loadCohortsAppConfig({ PAGE_TOKEN_SECRET: PAGE_SECRET });
    http(
      'redaction-cohorts',
      createCohortsApp({ config, openStore: async () => store, logger: log }).handler,
    );
    const res = await request(getTestServer('redaction-cohorts'))
      .post(`/v1/cohorts:summary?api_key=${API_KEY}`)
      .send({ filter: {} });
    assert.ok(res.status >= 500, `a dead store is a server-side failure (${res.status})`);
    assert.ok(lines.some((l) => l.includes('"severity":"ERROR"') && l.includes('api_key=[REDACTED]')));
    assertClean(lines.join('\n'));
  });

  it('loggableUrl masks credential-like parameters only', () => {
    assert.equal(
      loggableUrl('/v1/x?format=png&key=abc&KEY=d&access_token=e&X-Goog-Signature=f&pageSize=3'),
      '/v1/x?format=png&key=[REDACTED]&KEY=[REDACTED]&access_token=[REDACTED]&X-Goog-Signature=[REDACTED]&pageSize=3',
    );
    assert.equal(loggableUrl('/v1/x'), '/v1/x');
  });
});

describe('the logger itself', () => {
  it('redacts secret-named fields wherever they sit, and PEM strings', () => {
    const lines: string[] = [];
    const log = createLogger({}, (l) => lines.push(l));
    log.info('config', {
      env: loadSignerConfig({
        BILLING_PROJECT: 'p-roject',
        HMAC_ACCESS_ID: 'id',
        HMAC_SECRET: 'hmac-secret-value',
      }),
    });
    log.info('key', { key: { private_key: PEM, client_email: 'x' }, note: PEM });
    log.info('token', { pageTokenSecret: PAGE_SECRET, headers: { authorization: `Bearer ${API_KEY}` } });
    const text = lines.join('\n');
    assert.ok(!text.includes('hmac-secret-value'));
    assertClean(text);
    assert.equal(JSON.parse(lines[0]!).env.HMAC_SECRET, '[REDACTED]');
  });

  it('an Error whose message carries a PEM key is redacted', () => {
    const lines: string[] = [];
    createLogger({}, (l) => lines.push(l)).error('failed', { err: new Error(`cannot use key ${PEM}`) });
    assertClean(lines.join('\n'));
  });
});
