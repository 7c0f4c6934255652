/**
 * Secrets never reach the logs: `npm start` runs as a child with an HMAC key, a page-token secret, a
 * service-account key file (RSA PEM) and a CORS allow-list in its environment; every route is exercised,
 * successes and failures (bad input, 404s, forged and misused page tokens, oversized bodies, API keys in the
 * query string), and two uploads go through processUpload (a label file and a corrupt PNG). Then the child's
 * whole stdout and stderr is searched for every secret and what is derived from it.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Storage } from '@google-cloud/storage';
import { hmacSigningKey } from '../../shared/signing/hmac-signer.ts';
import { type NpmStart, startNpmStart } from '../harness/npm-start.ts';

const HMAC_SECRET = 'secrets-test-hmac-secret-4f7e1b2a-not-real';
const PAGE_TOKEN_SECRET = 'secrets-test-page-token-secret-8c3d5e6f';
const API_KEY = 'AIzaSyFAKE-secrets-test-api-key-0123456789';
const ORIGIN = 'https://app.example';
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const dir = mkdtempSync(join(tmpdir(), 'nih-cxr-secrets-'));
const keyFile = join(dir, 'sa.json');
let server: NpmStart;
const statuses: Record<string, number> = {};

/** Strings that must not appear in any log line: the secrets, the PEM body, the derived signing keys. */
function forbidden(): string[] {
  const day = (d: Date) => d.toISOString().slice(0, 10).replaceAll('-', '');
  const now = new Date();
  const days = [new Date(now.getTime() - 86_400_000), now, new Date(now.getTime() + 86_400_000)].map(day);
  const pemLines = PEM.split('\n').filter((l) => l && !l.startsWith('-----'));
  return [
    HMAC_SECRET,
    PAGE_TOKEN_SECRET,
    API_KEY,
    'PRIVATE KEY-----',
    ...pemLines.slice(0, 3),
    ...days.map((d) => hmacSigningKey(HMAC_SECRET, d).toString('hex')),
    Buffer.from(HMAC_SECRET).toString('base64'),
  ];
}

async function call(name: string, path: string, init: RequestInit = {}): Promise<Response> {
  const res = await fetch(`${server.url}${path}`, {
    redirect: 'manual',
    ...init,
    headers: { origin: ORIGIN, ...(init.headers as Record<string, string>) },
  });
  statuses[name] = res.status;
  await res.arrayBuffer().catch(() => undefined);
  return res;
}
const post = (name: string, path: string, body: unknown, type = 'application/json') =>
  call(name, path, {
    method: 'POST',
    headers: { 'content-type': type },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

describe('secrets in the logs of npm start', { timeout: 600_000 }, () => {
  before(async () => {
    writeFileSync(
      keyFile,
      JSON.stringify({
        type: 'service_account',
        project_id: 'nih-cxr-secrets-test',
        private_key_id: '0123456789abcdef',
        private_key: PEM,
        client_email: 'signer@nih-cxr-secrets-test.iam.gserviceaccount.com',
        client_id: '1',
      }),
    );
    server = await startNpmStart({
      NIH_DATA_DIR: undefined,
      SYNTHETIC_IMAGES: '200',
      BILLING_PROJECT: 'nih-cxr-secrets-test',
      HMAC_ACCESS_ID: 'GOOG1ESECRETSTESTNOTREAL',
      HMAC_SECRET,
      PAGE_TOKEN_SECRET,
      GOOGLE_APPLICATION_CREDENTIALS: keyFile,
      CORS_ORIGINS: ORIGIN,
    });
  });
  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('every route, good and bad input, answers without a 5xx', async () => {
    const k = `key=${API_KEY}`;
    await call('image', `/v1/images/00000001_000?${k}`);
    await call('image 404', '/v1/images/99999999_999');
    await call('image traversal', '/v1/images/..%2F..%2Fetc%2Fpasswd');
    await call('image bad escape', '/v1/images/%C0%AE');
    await post('batchGet', `/v1/images:batchGet?${k}`, { imageIds: ['00000001_000', '00000002_000'] });
    await post('batchGet malformed', '/v1/images:batchGet', '{"imageIds":[');
    await post('batchGet 1001', '/v1/images:batchGet', { imageIds: Array(1001).fill('00000001_000') });
    await post('batchGet text', '/v1/images:batchGet', 'x', 'text/plain');
    await call('patient', '/v1/patients/1/images');
    await call('patient bad', '/v1/patients/abc/images');
    const first = await fetch(`${server.url}/v1/cohorts:query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ filter: {}, pageSize: 5 }),
    });
    const token = ((await first.json()) as { nextPageToken: string }).nextPageToken;
    assert.ok(token);
    await post('query page 2', '/v1/cohorts:query', { filter: {}, pageSize: 5, pageToken: token });
    await post('query forged token', '/v1/cohorts:query', {
      filter: {},
      pageToken: `${token.slice(0, -3)}AAA`,
    });
    await post('query other filter', '/v1/cohorts:query', { filter: { sex: ['F'] }, pageToken: token });
    await post('query bad filter', `/v1/cohorts:query?${k}`, { filter: { age: { min: 9, max: 1 } } });
    await post('summary', '/v1/cohorts:summary', { filter: { sex: ['M'] } });
    await post('export signed', '/v1/cohorts:export', { format: 'ndjson', urls: 'signed' });
    await post('export csv', '/v1/cohorts:export', { format: 'csv' });
    await post('export oversized', '/v1/cohorts:export', `{"format":"csv"}${' '.repeat(2 * 1024 * 1024)}`);
    await post('sign', `/v1/images:signUrls?${k}`, { imageIds: ['00000001_000'], format: 'dicom' });
    await post('sign bad', '/v1/images:signUrls', { imageIds: ['gs://other-bucket/x'] });
    await call('content', '/v1/images/00000001_000/content?format=png');
    await call('content bad format', '/v1/images/00000001_000/content?format=tiff');
    await call('attribution', '/v1/attribution');
    await call('openapi', '/v1/openapi.json');
    await call('healthz', '/v1/healthz');
    await call('unknown', '/v1/nothing');
    const bad = Object.entries(statuses).filter(([, s]) => s >= 500);
    assert.deepEqual(bad, [], JSON.stringify(statuses));
    for (const name of ['image', 'batchGet', 'query page 2', 'summary', 'export signed', 'sign']) {
      assert.equal(statuses[name], 200, name);
    }
    for (const name of ['image traversal', 'image bad escape', 'query forged token', 'query other filter']) {
      assert.equal(statuses[name], 400, name);
    }
    assert.equal(statuses['export oversized'], 413);
    assert.equal(statuses.content, 302);
  });

  it('uploads are processed and reported (a label file and a corrupt PNG)', async () => {
    const h = (await (await fetch(`${server.url}/v1/healthz`)).json()) as {
      emulators: { storage: string };
      uploadsBucket: string;
    };
    const bucket = new Storage({ projectId: 'demo-nih-cxr', apiEndpoint: h.emulators.storage }).bucket(
      h.uploadsBucket,
    );
    const uploads: [string, Buffer][] = [
      [
        'incoming/boxes.csv',
        Buffer.from('Image Index,Finding Label,Bbox [x,y,w,h],,,\n00000001_000.png,Mass,1,2,3,4\n'),
      ],
      ['incoming/broken.png', Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(64, 7)])],
    ];
    for (const [name, data] of uploads) await bucket.file(name).save(data, { resumable: false });
    for (const [name] of uploads) {
      const report = bucket.file(`reports/${name}.json`);
      const deadline = Date.now() + 60_000;
      while (!(await report.exists())[0]) {
        assert.ok(Date.now() < deadline, `no report for ${name}:\n${server.output().slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  });

  it('no secret, derived key or API key appears anywhere in stdout or stderr', async () => {
    await server.stop();
    const out = server.output();
    assert.ok(out.length > 0, 'the server logged something');
    for (const s of forbidden()) assert.ok(!out.includes(s), `found ${s.slice(0, 12)}… in the output`);
  });
});
