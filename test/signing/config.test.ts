import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError } from '../../shared/config.ts';
import { loadSignerConfig } from '../../shared/signing/config.ts';
import { createUrlSigner, type SignerSetup } from '../../shared/signing/create-signer.ts';
import { BILLING, EMAIL, HMAC_ID, HMAC_SECRET, ids, localBlobSigner, rsaKey } from './fixtures.ts';
import { verifyHmacUrl, verifyRsaUrl } from './v4-verify.ts';

const key = rsaKey();
const dir = mkdtempSync(join(tmpdir(), 'signer-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, body: unknown) => {
  const p = join(dir, name);
  writeFileSync(p, typeof body === 'string' ? body : JSON.stringify(body));
  return p;
};
const saKey = file('sa.json', {
  type: 'service_account',
  project_id: 'p',
  client_email: EMAIL,
  private_key: key.pem,
});
const userCreds = file('adc.json', {
  type: 'authorized_user',
  client_id: 'x',
  client_secret: 'user-secret-xyz',
  refresh_token: 't',
});
const badPem = file('bad.json', {
  type: 'service_account',
  client_email: EMAIL,
  private_key: '-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n',
});
const notJson = file('x.txt', 'not json');

const fakeIam = () => localBlobSigner(key).auth;
const setup = (env: Record<string, string>): SignerSetup =>
  createUrlSigner(loadSignerConfig(env), {
    googleAuth: fakeIam,
    now: () => new Date('2025-01-01T00:00:00Z'),
  });
const hmac = { HMAC_ACCESS_ID: HMAC_ID, HMAC_SECRET };

describe('choosing the signer', () => {
  const chosen: [string, Record<string, string>, string][] = [
    [
      'HMAC when both HMAC variables are set (even with a key file)',
      { BILLING_PROJECT: BILLING, ...hmac, GOOGLE_APPLICATION_CREDENTIALS: saKey },
      'hmac',
    ],
    [
      'the key file when it is a service-account key',
      { BILLING_PROJECT: BILLING, GOOGLE_APPLICATION_CREDENTIALS: saKey },
      'key',
    ],
    ['IAM on Google Cloud (K_SERVICE)', { BILLING_PROJECT: BILLING, K_SERVICE: 'signer' }, 'iam'],
    [
      'IAM on Google Cloud (1st gen FUNCTION_NAME)',
      { BILLING_PROJECT: BILLING, FUNCTION_NAME: 'signer' },
      'iam',
    ],
    [
      'IAM on Google Cloud when the key file holds user credentials',
      { BILLING_PROJECT: BILLING, K_SERVICE: 's', GOOGLE_APPLICATION_CREDENTIALS: userCreds },
      'iam',
    ],
    ['IAM when SIGNER=iam', { BILLING_PROJECT: BILLING, SIGNER: 'iam' }, 'iam'],
    [
      'the key when SIGNER=key',
      { BILLING_PROJECT: BILLING, SIGNER: 'key', ...hmac, GOOGLE_APPLICATION_CREDENTIALS: saKey },
      'key',
    ],
    ['HMAC for a domain-scoped project', { BILLING_PROJECT: 'example.com:nih-cxr', ...hmac }, 'hmac'],
  ];
  for (const [name, env, kind] of chosen) {
    it(`picks ${name}`, async () => {
      const s = setup(env);
      assert.equal(s.problem, undefined);
      assert.equal(s.kind, kind);
      const [u] = await s.signer!.signMany(ids(1), 'png', 60);
      const v = kind === 'hmac' ? verifyHmacUrl(u!.url, HMAC_SECRET) : verifyRsaUrl(u!.url, key.publicKey);
      assert.ok(v.valid);
      assert.equal(v.userProject, env.BILLING_PROJECT);
    });
  }

  const problems: [string, Record<string, string>, string[]][] = [
    [
      'nothing set',
      {},
      ['BILLING_PROJECT', 'HMAC_ACCESS_ID and HMAC_SECRET', 'GOOGLE_APPLICATION_CREDENTIALS', 'SIGNER=iam'],
    ],
    [
      'empty values',
      { BILLING_PROJECT: '', HMAC_ACCESS_ID: '', SIGNER: '' },
      ['BILLING_PROJECT', 'GOOGLE_APPLICATION_CREDENTIALS'],
    ],
    ['no billing project', { ...hmac }, ['set BILLING_PROJECT']],
    ['a signer but no billing project on Google Cloud', { K_SERVICE: 's' }, ['set BILLING_PROJECT']],
    ['only HMAC_ACCESS_ID', { BILLING_PROJECT: BILLING, HMAC_ACCESS_ID: HMAC_ID }, ['set HMAC_SECRET']],
    ['only HMAC_SECRET', { BILLING_PROJECT: BILLING, HMAC_SECRET }, ['set HMAC_ACCESS_ID']],
    [
      'SIGNER=hmac without the key',
      { BILLING_PROJECT: BILLING, SIGNER: 'hmac' },
      ['HMAC_ACCESS_ID and HMAC_SECRET'],
    ],
    [
      'SIGNER=key without a key file',
      { BILLING_PROJECT: BILLING, SIGNER: 'key', ...hmac },
      ['GOOGLE_APPLICATION_CREDENTIALS'],
    ],
    [
      'a missing key file',
      { BILLING_PROJECT: BILLING, GOOGLE_APPLICATION_CREDENTIALS: join(dir, 'none.json') },
      ['none.json is not a readable JSON file'],
    ],
    [
      'a key file that is not JSON',
      { BILLING_PROJECT: BILLING, GOOGLE_APPLICATION_CREDENTIALS: notJson },
      ['not a readable JSON file'],
    ],
    [
      'user credentials off Google Cloud',
      { BILLING_PROJECT: BILLING, GOOGLE_APPLICATION_CREDENTIALS: userCreds },
      ['type is authorized_user', 'HMAC_ACCESS_ID'],
    ],
    [
      'an unreadable private key',
      { BILLING_PROJECT: BILLING, GOOGLE_APPLICATION_CREDENTIALS: badPem },
      ['private_key'],
    ],
  ];
  for (const [name, env, phrases] of problems) {
    it(`explains what to set with ${name}, without any secret`, () => {
      const s = setup(env);
      assert.equal(s.signer, undefined);
      // The caller's problem names variables; the operator's reason (logged only) may add the file's path.
      const said = `${s.problem} ${s.signer ? '' : (s.reason ?? '')}`;
      for (const p of phrases) assert.ok(said.includes(p), `${p} in ${said}`);
      assert.ok(!s.problem?.includes(dir), `no path in ${s.problem}`);
      for (const secret of [HMAC_SECRET, 'user-secret-xyz', 'PRIVATE KEY', key.pem.slice(40, 80)]) {
        assert.ok(!said.includes(secret));
      }
    });
  }

  for (const [name, env] of [
    ['a malformed BILLING_PROJECT', { BILLING_PROJECT: 'My Project!' }],
    ['an unknown SIGNER', { SIGNER: 'magic' }],
  ] as const) {
    it(`refuses ${name} at start-up with a ConfigError`, () => {
      assert.throws(() => loadSignerConfig(env), ConfigError);
    });
  }
});
