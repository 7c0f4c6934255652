/**
 * Deploy from zero, offline: the first apply's ordering (dependency graph rebuilt from the parsed HCL), every
 * block against the providers' published schemas, and least exposure; each check also fails on deliberately
 * broken copies of terraform/. No bundles are built here (terraform.test.ts does that).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { functionFolders, REPO_ROOT } from '../../scripts/function-folders.ts';
import { gatewayRoutes } from '../../scripts/function-routes.ts';
import type { SchemaFile } from '../../scripts/gen-provider-schema.ts';
import type { Route } from '../../shared/http/router.ts';
import { checkExposure } from './checks-exposure.ts';
import { checkGateway } from './checks-generated.ts';
import { checkOrdering, REQUIRED_APIS } from './checks-order.ts';
import { checkProviderSchema, loadProviderSchema, SCHEMA_7_CHANGES } from './checks-schema.ts';
import { loadTerraform, type TfConfig } from './hcl.ts';
import { DEPLOY_MUTATIONS, type DeployCheckName, withMutated } from './mutations.ts';

const TERRAFORM = join(REPO_ROOT, 'terraform');
/** The google provider version terraform/versions.tf pins. */
const PINNED = /hashicorp\/google"\s*\n\s*version\s*=\s*"([^"]+)"/.exec(
  readFileSync(join(TERRAFORM, 'versions.tf'), 'utf8'),
)?.[1];
let config: TfConfig;
let schema: SchemaFile;
const routesByFolder: Record<string, Route[]> = {};

function run(c: TfConfig, check: DeployCheckName): string[] {
  switch (check) {
    case 'ordering':
      return checkOrdering(c).problems;
    case 'schema':
      return checkProviderSchema(c, schema).problems;
    case 'exposure':
      return [...checkExposure(c), ...checkGateway(c, routesByFolder)];
  }
}

before(async () => {
  config = await loadTerraform(TERRAFORM);
  schema = loadProviderSchema();
  for (const f of functionFolders()) routesByFolder[f] = await gatewayRoutes(f);
});

describe('first apply on an empty project (dependency graph of the parsed HCL)', () => {
  it('enables every API the issue lists, makes every block wait for them, and orders agents, grants, trigger and gateway', (t) => {
    const r = checkOrdering(config);
    t.diagnostic(`ordering: ${r.blocks} blocks, ${r.assertions} rule applications`);
    assert.deepEqual(r.problems, []);
    assert.equal(REQUIRED_APIS.length, 18);
    // 4 functions, their service accounts and grants, the gateway, the agents: a graph this size, not a stub.
    assert.ok(r.blocks >= 50, `only ${r.blocks} blocks in the graph`);
  });
});

describe('every block against the published provider schemas', () => {
  it('knows no unknown type, argument or block, misses no required one, and reads only attributes that exist', (t) => {
    const r = checkProviderSchema(config, schema);
    const p = schema.providers;
    t.diagnostic(
      `schema: ${r.blocks} blocks and ${r.references} references checked against google ${p.google?.providerVersion} and google-beta ${p['google-beta']?.providerVersion} with the ${SCHEMA_7_CHANGES.length / 2} 7.0 changes to our types, pinned ${PINNED}, random ${p.random?.providerVersion}, time ${p.time?.providerVersion}`,
    );
    assert.deepEqual(r.problems, []);
    assert.ok(r.blocks >= 50 && r.references >= 50, `${r.blocks} blocks, ${r.references} references`);
  });

  it('reads the schema the provider publishes: the function resource needs name and location, takes a build_config block', () => {
    // Independent facts from the provider's documentation, so that an extraction that lost them shows.
    const fn = schema.providers.google?.resources.google_cloudfunctions2_function;
    assert.equal(fn?.attributes.name, true);
    assert.equal(fn?.attributes.location, true);
    assert.equal(fn?.attributes.description, false);
    assert.equal(fn?.blocks.build_config?.list, false);
    assert.equal(fn?.blocks.event_trigger?.blocks.event_filters?.list, true);
    assert.equal(fn?.blocks.event_trigger?.blocks.event_filters?.attributes.attribute, true);
    assert.equal(schema.providers.google?.resourceTypes.includes('google_project_service_identity'), false);
    assert.equal(
      schema.providers['google-beta']?.resourceTypes.includes('google_project_service_identity'),
      true,
    );
  });
});

describe('least exposure', () => {
  it('keeps API keys out of state and outputs, mounts HMAC only where URLs are signed, a quota per client, CORS from a variable, narrowed upload roles', () => {
    assert.deepEqual(run(config, 'exposure'), []);
  });
});

describe('a deliberately broken copy of terraform/', () => {
  const rejected: Record<string, number> = {};
  for (const m of DEPLOY_MUTATIONS) {
    it(`fails the ${m.fails} check with ${m.name}`, async () => {
      const problems = await withMutated(TERRAFORM, m, (c) => run(c, m.fails));
      assert.ok(
        problems.some((p) => m.message.test(p)),
        `want a ${m.fails} problem matching ${m.message}; got ${JSON.stringify(problems)}`,
      );
      rejected[m.fails] = (rejected[m.fails] ?? 0) + 1;
    });
  }
  it('rejected every broken copy', (t) => {
    t.diagnostic(`broken copies rejected: ${JSON.stringify(rejected)}`);
    const want: Record<string, number> = {};
    for (const m of DEPLOY_MUTATIONS) want[m.fails] = (want[m.fails] ?? 0) + 1;
    assert.deepEqual(rejected, want);
  });
});
