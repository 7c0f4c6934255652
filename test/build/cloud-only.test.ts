/**
 * Cloud bundles are exactly what runs in the cloud (issue 13, item 5): no DuckDB (package or native
 * binaries) and no local-only code in any bundle or in what the Cloud Functions build installs; an import of
 * either, however deep, fails the build naming the importer; and the cloud entries refuse, at start-up, a
 * configuration that would select DuckDB.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type BundleInfo,
  buildAll,
  buildBundle,
  LOCAL_ONLY_PACKAGES,
  LOCAL_ONLY_SOURCES,
} from '../../scripts/build.ts';
import { REPO_ROOT } from '../../scripts/function-folders.ts';
import { requireBigQueryStore } from '../../shared/cohorts/open-bigquery.ts';
import { ConfigError } from '../../shared/config.ts';

let tmp: string;
let bundles: BundleInfo[];

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'nih-cxr-cloud-only-'));
  bundles = await buildAll({ outDir: join(tmp, 'dist') });
});
after(() => rmSync(tmp, { recursive: true, force: true }));

const isLocalOnly = (input: string) =>
  LOCAL_ONLY_SOURCES.some((p) => (p.endsWith('/') ? input.startsWith(p) : input === p)) ||
  LOCAL_ONLY_PACKAGES.some((p) => input.startsWith(`node_modules/${p}`));

describe('the cloud bundles', () => {
  it('contain no DuckDB and no local-only source, and install only functions-framework', () => {
    assert.deepEqual(
      bundles.map((b) => b.name),
      ['cohorts', 'dicom', 'labels', 'signer', 'uploads'],
    );
    for (const b of bundles) {
      assert.ok(
        b.inputs.some((f) => f.startsWith('shared/')),
        `${b.name}: inputs are repository paths`,
      );
      assert.deepEqual(b.inputs.filter(isLocalOnly), [], `${b.name} bundles local-only code`);
      assert.deepEqual(Object.keys(b.dependencies), ['@google-cloud/functions-framework'], b.name);
      const all = [...b.startup.packages, ...b.startup.deferredPackages];
      assert.deepEqual(
        all.filter((p) => p.startsWith('@duckdb/')),
        [],
        b.name,
      );
    }
  });

  it('still hold the BigQuery store where the cloud opens it (cohorts, uploads)', () => {
    for (const name of ['cohorts', 'uploads']) {
      const b = bundles.find((x) => x.name === name)!;
      assert.ok(b.inputs.includes('shared/cohorts/open-bigquery.ts'), name);
      assert.ok(b.inputs.includes('shared/cohorts/bigquery-store.ts'), name);
      // BigQuery REST over node:https: the client library is no longer shipped at all.
      assert.ok(b.inputs.includes('shared/cohorts/bigquery-http.ts'), name);
      assert.ok(!b.startup.packages.includes('@google-cloud/bigquery'), name);
      assert.ok(!b.startup.deferredPackages.includes('@google-cloud/bigquery'), name);
    }
  });
});

describe('the build refuses local-only code in a bundle', () => {
  it('lists local-only sources that exist (a renamed file must not silently leave the guard)', () => {
    for (const p of LOCAL_ONLY_SOURCES) assert.ok(existsSync(join(REPO_ROOT, p)), p);
  });

  // Fixture functions inside the repository, so that they resolve its packages and sources.
  let functionsDir: string;
  before(() => {
    mkdirSync(join(REPO_ROOT, '.tmp'), { recursive: true });
    functionsDir = mkdtempSync(join(REPO_ROOT, '.tmp', 'cloud-only-'));
  });
  after(() => rmSync(functionsDir, { recursive: true, force: true }));

  const cases: [name: string, files: Record<string, string>, message: RegExp][] = [
    [
      'duckdb',
      { 'index.ts': "export const open = async () => (await import('@duckdb/node-api')).DuckDBInstance;\n" },
      /duckdb\/index\.ts imports @duckdb\/node-api, which is local-only/,
    ],
    [
      'createstore',
      { 'index.ts': "export { createCohortStore } from '../../../shared/cohorts/create-store.ts';\n" },
      /imports shared\/cohorts\/create-store\.ts, which is local-only/,
    ],
    [
      'localserver',
      {
        'index.ts':
          "export const x = async () => (await import('../../../scripts/local/apps.ts')).toString();\n",
      },
      /imports scripts\/local\/apps\.ts, which is local-only.*openBigQueryCohortStore/s,
    ],
    [
      'deep',
      // Through a module of its own: the importer named is the one that pulls DuckDB in.
      {
        'index.ts': "export { open } from './store.ts';\n",
        'store.ts': "export const open = async () => (await import('@duckdb/node-api')).DuckDBInstance;\n",
      },
      /deep\/store\.ts imports @duckdb\/node-api, which is local-only/,
    ],
  ];
  for (const [name, files, message] of cases) {
    it(`fails on ${name}, naming the importer and what to use instead`, async () => {
      mkdirSync(join(functionsDir, name));
      for (const [f, text] of Object.entries(files)) writeFileSync(join(functionsDir, name, f), text);
      await assert.rejects(buildBundle(name, { functionsDir, outDir: join(tmp, 'fixtures') }), message);
    });
  }
});

describe('the cloud entries refuse DuckDB at start-up', () => {
  it('requireBigQueryStore accepts bigquery and refuses duckdb with a ConfigError naming COHORT_STORE', () => {
    requireBigQueryStore({ store: 'bigquery' });
    assert.throws(
      () => requireBigQueryStore({ store: 'duckdb' }),
      (e: unknown) => e instanceof ConfigError && /COHORT_STORE: must be bigquery/.test(e.message),
    );
  });

  for (const entry of ['cohorts', 'uploads']) {
    it(`functions/${entry}/index.ts does not load with COHORT_STORE unset (the local default, duckdb)`, async () => {
      delete process.env.COHORT_STORE;
      process.env.PAGE_TOKEN_SECRET = 'cloud-only-test-secret-0123456789abcdef';
      await assert.rejects(
        import(`../../functions/${entry}/index.ts`),
        (e: unknown) => e instanceof ConfigError && /COHORT_STORE: must be bigquery/.test(e.message),
      );
    });
  }
});
