/**
 * `npm run deploy -- --dry-run` (scripts/deploy.ts dryRun): builds every bundle, generates terraform/generated,
 * runs the offline checks and prints what a first apply would create, on a copy of terraform/ so that the
 * working tree is left alone. The expected counts come from the sources the configuration is built from
 * (function folders, shared/ tables and indexes, the API list), not from the planner.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type DryRun, dryRun } from '../../scripts/deploy.ts';
import { functionFolders, REPO_ROOT } from '../../scripts/function-folders.ts';
import { COHORT_TABLES } from '../../shared/cohorts/schema.ts';
import { FIRESTORE_FIELD_OVERRIDES, FIRESTORE_INDEXES } from '../../shared/labels/indexes.ts';
import { REQUIRED_APIS } from './checks-order.ts';

const FOLDERS = functionFolders();
let tmp: string;
let result: DryRun;
const lines: string[] = [];

function copyTerraform(name: string): string {
  const dir = join(tmp, name);
  cpSync(join(REPO_ROOT, 'terraform'), dir, { recursive: true, filter: (s) => !s.includes('/.terraform') });
  return dir;
}

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'nih-cxr-dry-run-'));
  const dir = copyTerraform('terraform');
  result = await dryRun({
    terraformDir: dir,
    outDir: join(tmp, 'dist'),
    generatedDir: join(dir, 'generated'),
    log: (l) => lines.push(l),
  });
});

after(() => rmSync(tmp, { recursive: true, force: true }));

const countOf = (address: string) => result.plan.find((r) => r.address === address)?.count;

describe('npm run deploy -- --dry-run', () => {
  it('builds one zip per function folder, with its manifest', () => {
    assert.deepEqual(result.bundles.map((b) => b.name).sort(), FOLDERS);
    for (const b of result.bundles) assert.ok(existsSync(join(tmp, 'dist', b.zip)), b.zip);
    const manifest = JSON.parse(readFileSync(join(tmp, 'dist', 'manifest.json'), 'utf8'));
    assert.deepEqual(Object.keys(manifest).sort(), FOLDERS);
  });

  it('passes every offline check on the configuration and says so', (t) => {
    for (const k of result.checks) t.diagnostic(`${k.name}: ${k.detail}`);
    assert.deepEqual(
      result.checks.filter((k) => k.problems.length > 0),
      [],
    );
    assert.ok(result.checks.length >= 8);
    assert.equal(result.ok, true);
    assert.match(lines.join('\n'), /Dry run passed: nothing was applied\./);
  });

  it('lists what a first apply creates, counted like the sources the configuration reads', (t) => {
    const total = result.plan.reduce((n, r) => n + (r.count ?? 0), 0);
    t.diagnostic(`would create ${total} resources in ${result.plan.length} blocks`);
    assert.equal(countOf('google_project_service.apis'), REQUIRED_APIS.length);
    assert.equal(countOf('google_service_account.functions'), FOLDERS.length);
    assert.equal(countOf('google_storage_bucket_object.source'), FOLDERS.length);
    assert.equal(countOf('google_bigquery_table.cohorts'), COHORT_TABLES.length);
    assert.equal(countOf('google_firestore_index.labels'), FIRESTORE_INDEXES.length);
    assert.equal(countOf('google_firestore_field.labels'), FIRESTORE_FIELD_OVERRIDES.length);
    assert.equal(countOf('google_project_service_identity.agents'), 2);
    // No consumers by default: API keys are never created by Terraform.
    assert.equal(countOf('google_endpoints_service_iam_member.consumers'), 0);
    assert.ok(!result.plan.some((r) => r.type === 'google_apikeys_key'));
    for (const f of FOLDERS) {
      assert.equal(countOf(`module.${f}.google_cloudfunctions2_function.this`), 1, f);
      assert.equal(countOf(`module.${f}.google_cloud_run_v2_service_iam_member.invoker`), 1, f);
    }
    assert.ok(
      result.plan.every((r) => r.count !== undefined),
      'every count is known with the defaults',
    );
    const printed = lines.join('\n');
    assert.match(printed, new RegExp(`A first apply would create ${total} resources`));
    assert.match(printed, / {2}18 × google_project_service\.apis/);
  });

  it('fails, naming the problem, on a copy of terraform/ with an unknown argument', async () => {
    const dir = copyTerraform('broken');
    const file = join(dir, 'modules', 'function', 'main.tf');
    const text = readFileSync(file, 'utf8');
    const broken = text.replace('timeout_seconds                  =', 'timeout                          =');
    assert.notEqual(broken, text);
    writeFileSync(file, broken);
    const out: string[] = [];
    const r = await dryRun({
      terraformDir: dir,
      outDir: join(tmp, 'dist-broken'),
      generatedDir: join(dir, 'generated'),
      log: (l) => out.push(l),
    });
    assert.equal(r.ok, false);
    assert.match(out.join('\n'), /FAIL provider schema/);
    assert.match(out.join('\n'), /service_config: unknown argument timeout\b/);
    assert.match(out.join('\n'), /Dry run FAILED/);
  });
});
