/** Checks that the Terraform resources built from terraform/generated/ match their sources in shared/. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { renderTerraformTemplate } from '../../scripts/gateway-config.ts';
import type { Route } from '../../shared/http/router.ts';
import { block, expr, type TfConfig } from './hcl.ts';

const readJson = (path: string): unknown => JSON.parse(readFileSync(path, 'utf8'));

// Terraform expressions as hcl2json prints them (Terraform interpolations, not JavaScript templates).
const TABLE_SCHEMA = ['file("$', '{path.module}/generated/$', '{each.value.schema}")'].join('');
const TABLE_LIST = ['jsondecode(file("$', '{path.module}/generated/bigquery-tables.json"))'].join('');
const GATEWAY_TEMPLATE = ['templatefile("$', '{path.module}/generated/api-gateway.json"'].join('');

/** Every generated file of a configuration: name -> content. */
export function readGenerated(root: string): Record<string, string> {
  const dir = join(root, 'generated');
  if (!existsSync(dir)) return {};
  return Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
}

export interface CohortTableSource {
  id: string;
  fields: unknown;
}

/**
 * The BigQuery tables Terraform creates (google_bigquery_table for_each over generated/bigquery-tables.json,
 * schema = file(generated/<schema>)) are exactly the shared/ cohort tables, each with the generated schema.
 */
export function checkBigQuerySchema(c: TfConfig, tables: readonly CohortTableSource[]): string[] {
  const problems: string[] = [];
  const root = c.modules['.']!;
  const resources = Object.entries(root.resources.google_bigquery_table ?? {});
  if (resources.length !== 1)
    return [`want one google_bigquery_table resource (for_each), found ${resources.length}`];
  const [name, table] = resources[0]!;
  if (expr(table.schema) !== TABLE_SCHEMA) {
    problems.push(`google_bigquery_table.${name}: schema is ${String(table.schema)}, not the generated file`);
  }
  const forEach = expr(table.for_each);
  const local = forEach ? /^local\.(\w+)$/.exec(forEach)?.[1] : undefined;
  if (!local || expr(root.locals[local]) !== TABLE_LIST) {
    problems.push(`google_bigquery_table.${name}: for_each is not the generated table list`);
    return problems;
  }
  const listed = readJson(join(c.root, 'generated', 'bigquery-tables.json')) as Record<
    string,
    { schema: string }
  >;
  const want = tables.map((t) => t.id).sort();
  if (!isDeepStrictEqual(Object.keys(listed).sort(), want)) {
    problems.push(
      `Terraform creates tables ${Object.keys(listed).join(', ')}; shared/ declares ${want.join(', ')}`,
    );
  }
  for (const t of tables) {
    const file = listed[t.id]?.schema;
    if (!file) continue;
    const path = join(c.root, 'generated', file);
    const actual = existsSync(path) ? readJson(path) : undefined;
    if (!isDeepStrictEqual(actual, t.fields)) {
      problems.push(`table ${t.id}: generated/${file} differs from bigQueryTableSchema('${t.id}')`);
    }
  }
  return problems;
}

type Json = Record<string, unknown>;

/**
 * The gateway config, rendered as Terraform renders it, routes every operation of every HTTP function to
 * that function, requires an API key everywhere and counts every call against a quota.
 */
export function checkGateway(c: TfConfig, routesByFolder: Record<string, readonly Route[]>): string[] {
  const problems: string[] = [];
  const root = c.modules['.']!;
  const spec = expr(root.locals.gateway_spec) ?? '';
  const passed = Object.fromEntries(
    [...spec.matchAll(/(backend_\w+)\s*=\s*module\.(\w+)\.uri/g)].map((m) => [m[1]!, m[2]!]),
  );
  if (!spec.includes(GATEWAY_TEMPLATE)) {
    problems.push('local.gateway_spec is not rendered from generated/api-gateway.json');
  }
  const calls = root.modules;
  const folderOfCall = (call: string) =>
    /source\["([^"]+)"\]/.exec(String((calls[call]?.source_archive as Json | undefined)?.object))?.[1];
  const doc = JSON.parse(
    renderTerraformTemplate(
      readFileSync(join(c.root, 'generated', 'api-gateway.json'), 'utf8'),
      Object.fromEntries(Object.entries(passed).map(([v, call]) => [v, `https://${call}.example.run.app`])),
    ),
  ) as Json;
  if (doc.swagger !== '2.0') problems.push('gateway config is not OpenAPI 2.0');
  const defs = (doc.securityDefinitions ?? {}) as Record<string, Json>;
  const security = (doc.security ?? []) as Json[];
  if (
    security.length === 0 ||
    !security.every((s) => Object.keys(s).every((k) => defs[k]?.type === 'apiKey'))
  ) {
    problems.push('gateway config does not require an API key');
  }
  const metrics = new Set(
    (((doc['x-google-management'] as Json | undefined)?.metrics ?? []) as Json[]).map((m) => m.name),
  );
  const limits = (
    (((doc['x-google-management'] as Json | undefined)?.quota as Json | undefined)?.limits ?? []) as Json[]
  ).filter((l) => metrics.has(l.metric));
  if (limits.length === 0) problems.push('gateway config has no quota limit');

  const served = new Map<string, string>();
  for (const [folder, routes] of Object.entries(routesByFolder)) {
    for (const r of routes) served.set(`${r.method.toLowerCase()} ${r.path}`, folder);
  }
  const seen = new Set<string>();
  for (const [path, ops] of Object.entries((doc.paths ?? {}) as Record<string, Record<string, Json>>)) {
    // CORS preflight: browsers send it without the key, so it needs none; it goes where the path's
    // operations go (that function answers it from CORS_ORIGINS).
    const preflight = ops.options;
    const backends = new Set(
      Object.entries(ops)
        .filter(([m]) => m !== 'options')
        .map(([, op]) => String((op['x-google-backend'] as Json | undefined)?.address)),
    );
    if (!preflight) problems.push(`${path}: no OPTIONS operation; browsers cannot send the preflight`);
    else {
      const address = String((preflight['x-google-backend'] as Json | undefined)?.address);
      if (backends.size !== 1 || !backends.has(address)) {
        problems.push(`options ${path}: preflight goes to ${address}, not to the function serving the path`);
      }
      if (!isDeepStrictEqual(preflight.security, []))
        problems.push(
          `options ${path}: the preflight requires an API key, which browsers never send with it`,
        );
    }
    for (const [method, op] of Object.entries(ops)) {
      if (method === 'options') continue;
      const key = `${method} ${path}`;
      seen.add(key);
      const address = String((op['x-google-backend'] as Json | undefined)?.address ?? '');
      const call = /^https:\/\/(\w+)\.example\.run\.app$/.exec(address)?.[1];
      const target = call ? folderOfCall(call) : undefined;
      if (target !== served.get(key)) {
        problems.push(
          `${key}: gateway backend is ${target ?? address}, but functions/${served.get(key)} serves it`,
        );
      }
      if (op.security !== undefined) problems.push(`${key}: overrides the API-key requirement`);
      const costs = ((op['x-google-quota'] as Json | undefined)?.metricCosts ?? {}) as Json;
      if (!Object.keys(costs).some((m) => metrics.has(m)))
        problems.push(`${key}: not counted against the quota`);
    }
  }
  for (const key of served.keys())
    if (!seen.has(key)) problems.push(`${key}: missing from the gateway config`);

  const gw = root.resources.google_api_gateway_api_config?.this;
  const sa = expr(block(block(gw, 'gateway_config'), 'backend_config')?.google_service_account);
  if (sa !== 'google_service_account.gateway.email') problems.push(`gateway calls the functions as ${sa}`);
  const allowsKeyHeader = Object.values(defs).some(
    (d) => d.type === 'apiKey' && d.in === 'header' && String(d.name).toLowerCase() === 'x-api-key',
  );
  if (!allowsKeyHeader) problems.push('gateway config does not accept the x-api-key header');
  return problems;
}
