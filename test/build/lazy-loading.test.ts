/**
 * Cold starts load no cloud SDK (issue 7: cold import < 150 ms): each bundle's start-up graph (index.mjs and the
 * chunks it imports statically) holds only the framework and zod; the SDKs come with import() on first use,
 * through the lazy factories tested here; and the build refuses an import() that would break in a split bundle.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { type BundleInfo, buildAll, buildBundle } from '../../scripts/build.ts';
import { commonJsExportNames, isCommonJs } from '../../scripts/build-cjs-import.ts';
import { REPO_ROOT } from '../../scripts/function-folders.ts';
import { lazyFirestore } from '../../shared/labels/firestore-client.ts';
import { loadSignerConfig } from '../../shared/signing/config.ts';
import { createUrlSigner, lazyGoogleAuth } from '../../shared/signing/create-signer.ts';
import { BILLING, ids, rsaKey } from '../signing/fixtures.ts';
import { verifyRsaUrl } from '../signing/v4-verify.ts';

const requireHere = createRequire(import.meta.url);
const ALLOWED_AT_START = new Set(['@google-cloud/functions-framework', 'zod']);

let tmp: string;
let bundles: BundleInfo[];

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'nih-cxr-lazy-'));
  bundles = await buildAll({ outDir: join(tmp, 'dist') });
});
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('function bundles at cold start', () => {
  it('load only functions-framework and zod: every SDK waits in a chunk for import()', () => {
    assert.ok(bundles.length > 0);
    for (const b of bundles) {
      const extra = b.startup.packages.filter((p) => !ALLOWED_AT_START.has(p));
      assert.deepEqual(extra, [], `${b.name} loads ${extra.join(', ')} at cold start`);
      assert.equal(b.startup.files[0], 'index.mjs');
      assert.ok(b.startup.bytes < b.bundleBytes, `${b.name}: nothing is left for later`);
    }
  });

  it('still ship the SDKs each function uses, in the chunks loaded on first use', () => {
    const uses: Record<string, string[]> = {
      labels: ['@google-cloud/firestore'],
      // BigQuery (shared/cohorts/bigquery-http.ts) and the upload's objects (shared/google/storage-rest.ts)
      // are reached over REST; google-auth-library stays for Application Default Credentials off Google Cloud.
      uploads: ['@google-cloud/firestore', 'google-auth-library'],
      cohorts: ['google-auth-library'],
      signer: ['google-auth-library'],
    };
    for (const b of bundles) {
      for (const sdk of uses[b.name] ?? []) {
        assert.ok(
          b.startup.deferredPackages.includes(sdk),
          `${b.name}: ${sdk} is not in a lazily loaded chunk`,
        );
      }
    }
  });
});

describe('the build', () => {
  it('gives an import() of a CommonJS package its named exports in a split bundle, as Node does', async () => {
    // Inside the repository, so that the fixture resolves packages from its node_modules.
    mkdirSync(join(REPO_ROOT, '.tmp'), { recursive: true });
    const functionsDir = mkdtempSync(join(REPO_ROOT, '.tmp', 'lazy-cjs-'));
    try {
      mkdirSync(join(functionsDir, 'cjs'));
      writeFileSync(
        join(functionsDir, 'cjs', 'index.ts'),
        [
          'export const names = async () => {',
          "  const m = await import('google-auth-library');",
          '  return { GoogleAuth: typeof m.GoogleAuth, default: typeof m.default?.GoogleAuth };',
          '};',
          '',
        ].join('\n'),
      );
      const b = await buildBundle('cjs', { functionsDir, outDir: join(tmp, 'cjs') });
      const { names } = (await import(join(b.dir, 'index.mjs'))) as { names: () => Promise<unknown> };
      assert.deepEqual(await names(), { GoogleAuth: 'function', default: 'function' });
    } finally {
      rmSync(functionsDir, { recursive: true, force: true });
    }
  });

  it('names the exports of every CommonJS package our bundles import() exactly as Node does', async () => {
    // The packages behind the dependencies' own import()s (gaxios, @google-cloud/storage) and one of ours.
    const cases: [from: string, spec: string][] = [
      ['gaxios', 'https-proxy-agent'],
      ['@google-cloud/storage', 'mime'],
      ['@google-cloud/storage', 'p-limit'],
      ['.', 'google-auth-library'],
    ];
    for (const [from, spec] of cases) {
      const base = from === '.' ? join(REPO_ROOT, 'package.json') : requireHere.resolve(from);
      const file = createRequire(base).resolve(spec);
      assert.ok(isCommonJs(file), `${spec} is CommonJS`);
      const nodeNames = Object.keys(await import(pathToFileURL(file).href)).filter((n) => n !== 'default');
      assert.deepEqual(commonJsExportNames(file), nodeNames.sort(), spec);
    }
  });
});

describe('lazy clients', () => {
  it('lazyFirestore creates one client for concurrent first callers and keeps it', async () => {
    const get = lazyFirestore({ projectId: 'demo-nih-cxr', emulatorHost: '127.0.0.1:9' });
    const [a, b] = await Promise.all([get(), get()]);
    assert.equal(a, b);
    assert.equal(await get(), a);
    assert.equal(a.databaseId, '(default)');
    await a.terminate();
  });

  it('lazyGoogleAuth loads google-auth-library on the first use and signs with the default credentials', async () => {
    const key = rsaKey();
    const keyFile = join(tmp, 'sa-key.json');
    const email = 'lazy-signer@nih-cxr-test.iam.gserviceaccount.com';
    writeFileSync(
      keyFile,
      JSON.stringify({ type: 'service_account', client_email: email, private_key: key.pem }),
    );
    // google-auth-library reads the key file from the environment, as it reads the runtime's identity.
    const saved = process.env.GOOGLE_APPLICATION_CREDENTIALS;
    process.env.GOOGLE_APPLICATION_CREDENTIALS = keyFile;
    try {
      assert.equal((await lazyGoogleAuth().getCredentials()).client_email, email);
      const setup = createUrlSigner(
        loadSignerConfig({
          SIGNER: 'iam',
          BILLING_PROJECT: BILLING,
          GOOGLE_APPLICATION_CREDENTIALS: keyFile,
        }),
      );
      assert.equal(setup.kind, 'iam');
      const [signed] = await setup.signer!.signMany(ids(1), 'png', 600);
      const check = verifyRsaUrl(signed!.url, key.publicKey);
      assert.equal(check.valid, true);
      assert.equal(check.accessId, email);
    } finally {
      if (saved === undefined) delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
      else process.env.GOOGLE_APPLICATION_CREDENTIALS = saved;
    }
  });
});
