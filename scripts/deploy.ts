/**
 * `npm run deploy -- [terraform apply arguments]`: builds the bundles (npm run build), regenerates
 * terraform/generated (npm run gen:terraform), then runs `terraform init` and `terraform apply` in the
 * deployment folder: terraform/examples/basic, or DEPLOY_DIR. Arguments after `--` go to `terraform apply`,
 * e.g. `npm run deploy -- -var project_id=my-project`. See docs/deploy.md.
 *
 * `npm run deploy -- --dry-run`: builds and generates the same way, runs every offline Terraform check
 * (the ones of test/terraform that need no provider: format, provider schemas, first-apply ordering, IAM,
 * exposure, the gateway config, ...) and prints what a first apply would create; touches no cloud and no
 * state. Exits 1 when a check fails.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import type { Route } from '../shared/http/router.ts';
import {
  checkNoPrimitiveRoles,
  checkNoPublicAccess,
  checkUploadTrigger,
  checkVariables,
} from '../test/terraform/checks.ts';
import { checkExposure } from '../test/terraform/checks-exposure.ts';
import { checkBigQuerySchema, checkGateway } from '../test/terraform/checks-generated.ts';
import { checkOrdering } from '../test/terraform/checks-order.ts';
import { checkProviderSchema, loadProviderSchema } from '../test/terraform/checks-schema.ts';
import { loadTerraform } from '../test/terraform/hcl.ts';
import { type PlannedResource, plannedResources } from '../test/terraform/plan.ts';
import { type BundleInfo, buildAll } from './build.ts';
import { functionFolders, REPO_ROOT } from './function-folders.ts';
import { gatewayRoutes } from './function-routes.ts';
import { GENERATED_DIR, generateTerraformFiles, writeGenerated } from './gen-terraform.ts';

export const DRY_RUN_FLAG = '--dry-run';

export interface DryRunOptions {
  /** Root module to check (terraform/). */
  terraformDir?: string;
  /** Where the bundles go (dist/functions). */
  outDir?: string;
  /** Where the generated files go (terraform/generated). */
  generatedDir?: string;
  log?: (line: string) => void;
}

export interface CheckResult {
  name: string;
  problems: string[];
  /** What was checked, for the summary line. */
  detail: string;
}

export interface DryRun {
  ok: boolean;
  bundles: BundleInfo[];
  checks: CheckResult[];
  plan: PlannedResource[];
}

/** `terraform fmt -check`: a problem per unformatted file, or one saying the CLI is missing. */
function checkFormat(dir: string): string[] {
  const r = spawnSync('terraform', ['fmt', '-check', '-recursive', '-list=true', dir], { encoding: 'utf8' });
  if (r.error) return [`terraform CLI not found (${r.error.message}); install Terraform >= 1.11`];
  const files = r.stdout.split('\n').filter((l) => l.trim() !== '');
  return r.status === 0 ? [] : files.map((f) => `${f} is not formatted (terraform fmt)`);
}

export async function dryRun(opts: DryRunOptions = {}): Promise<DryRun> {
  const log = opts.log ?? console.log;
  const terraformDir = opts.terraformDir ?? join(REPO_ROOT, 'terraform');
  log('$ npm run build');
  const bundles = await buildAll(opts.outDir ? { outDir: opts.outDir } : {});
  for (const b of bundles) log(`  ${b.name}: ${b.zip} (${(b.zipBytes / 1024).toFixed(0)} KiB)`);
  log('$ npm run gen:terraform');
  writeGenerated(await generateTerraformFiles(), opts.generatedDir ?? GENERATED_DIR);

  log('\nOffline Terraform checks (terraform validate and plan need the providers: run them after init)');
  const c = await loadTerraform(terraformDir);
  const routes: Record<string, Route[]> = {};
  for (const f of functionFolders()) routes[f] = await gatewayRoutes(f);
  const { COHORT_TABLES, bigQueryTableSchema } = await import('../shared/cohorts/schema.ts');
  const tables = COHORT_TABLES.map((t) => ({ id: t.id, fields: bigQueryTableSchema(t.id).fields }));
  const schema = checkProviderSchema(c, loadProviderSchema());
  const ordering = checkOrdering(c);
  const checks: CheckResult[] = [
    { name: 'format', problems: checkFormat(terraformDir), detail: 'terraform fmt -check -recursive' },
    {
      name: 'provider schema',
      problems: schema.problems,
      detail: `${schema.blocks} blocks, ${schema.references} references`,
    },
    {
      name: 'first-apply ordering',
      problems: ordering.problems,
      detail: `${ordering.blocks} blocks, ${ordering.assertions} rule applications`,
    },
    {
      name: 'least exposure and IAM',
      problems: checkExposure(c),
      detail: 'keys, secrets, CORS, quotas, roles',
    },
    {
      name: 'gateway config',
      problems: checkGateway(c, routes),
      detail: 'routes, API keys, quota, preflights',
    },
    {
      name: 'no basic roles, nothing public',
      problems: [...checkNoPrimitiveRoles(c), ...checkNoPublicAccess(c)],
      detail: 'every configuring string',
    },
    { name: 'variables', problems: checkVariables(c), detail: 'typed and described' },
    { name: 'upload trigger', problems: checkUploadTrigger(c, 'uploads'), detail: 'event, bucket, retries' },
    { name: 'BigQuery schemas', problems: checkBigQuerySchema(c, tables), detail: 'generated = shared/' },
  ];
  for (const k of checks) {
    log(`  ${k.problems.length === 0 ? 'ok  ' : 'FAIL'} ${k.name} (${k.detail})`);
    for (const p of k.problems) log(`       - ${p}`);
  }

  const plan = plannedResources(c);
  const known = plan.reduce((n, r) => n + (r.count ?? 0), 0);
  log(
    `\nA first apply would create ${known} resources (${plan.length} resource blocks; with default inputs):`,
  );
  for (const r of plan) {
    const n = r.count === undefined ? '?' : String(r.count);
    log(`  ${n.padStart(3)} × ${r.address}${r.from === '1' ? '' : `  (for_each ${r.from})`}`);
  }
  const ok = checks.every((k) => k.problems.length === 0);
  log(ok ? '\nDry run passed: nothing was applied.' : '\nDry run FAILED: fix the problems above.');
  return { ok, bundles, checks, plan };
}

function terraform(dir: string, args: string[]): void {
  console.log(`\n$ terraform -chdir=${relative(REPO_ROOT, dir)} ${args.join(' ')}`);
  const r = spawnSync('terraform', [`-chdir=${dir}`, ...args], { stdio: 'inherit' });
  if (r.error) {
    console.error(`deploy: cannot run terraform (${r.error.message}); install Terraform >= 1.11.`);
    process.exit(1);
  }
  if (r.status !== 0) process.exit(r.status ?? 1);
}

async function deploy(args: string[]): Promise<void> {
  const dir = resolve(process.env.DEPLOY_DIR ?? join(REPO_ROOT, 'terraform', 'examples', 'basic'));
  if (!existsSync(join(dir, 'main.tf'))) {
    console.error(`deploy: ${dir} has no main.tf; set DEPLOY_DIR to a Terraform configuration.`);
    process.exit(1);
  }
  console.log('$ npm run build');
  for (const b of await buildAll())
    console.log(`  ${b.name}: ${b.zip} (${(b.zipBytes / 1024).toFixed(0)} KiB)`);
  console.log('$ npm run gen:terraform');
  writeGenerated(await generateTerraformFiles());
  terraform(dir, ['init', '-input=false']);
  terraform(dir, ['apply', ...args]);
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  if (args.includes(DRY_RUN_FLAG)) {
    const r = await dryRun();
    process.exit(r.ok ? 0 : 1);
  }
  await deploy(args);
}
