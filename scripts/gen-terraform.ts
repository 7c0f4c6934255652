/**
 * `npm run gen:terraform`: writes terraform/generated/ from the single sources in shared/ and functions/:
 * - bigquery-tables.json + bigquery-<table>.json: the cohort tables and their schemas (shared/cohorts);
 * - firestore-indexes.json: composite indexes and field overrides (shared/labels/indexes.ts), in the
 *   firestore.indexes.json format;
 * - api-gateway.json: the API Gateway (OpenAPI 2.0) config of every HTTP function's routes, a templatefile()
 *   template whose ${backend_<function>} references Terraform fills in.
 * The tests regenerate these in memory and fail when the committed files differ.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bigQueryTableSchema, COHORT_TABLES } from '../shared/cohorts/schema.ts';
import { FIRESTORE_FIELD_OVERRIDES, FIRESTORE_INDEXES } from '../shared/labels/indexes.ts';
import { buildOpenApiDocument } from '../shared/openapi/build.ts';
import { functionFolders, REPO_ROOT } from './function-folders.ts';
import { gatewayRoutes } from './function-routes.ts';
import { buildGatewayConfig, toTerraformTemplate } from './gateway-config.ts';

export const GENERATED_DIR = join(REPO_ROOT, 'terraform', 'generated');

const json = (v: unknown): string => `${JSON.stringify(v, null, 2)}\n`;

/** File name of a cohort table's schema inside terraform/generated. */
export const bigQuerySchemaFile = (table: string): string => `bigquery-${table}.json`;

function bigQueryFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  const tables: Record<string, { description: string; schema: string }> = {};
  for (const t of COHORT_TABLES) {
    // google_bigquery_table.schema takes the fields array itself.
    files[bigQuerySchemaFile(t.id)] = json(bigQueryTableSchema(t.id).fields);
    tables[t.id] = { description: t.description, schema: bigQuerySchemaFile(t.id) };
  }
  files['bigquery-tables.json'] = json(tables);
  return files;
}

function firestoreFile(): string {
  return json({
    indexes: FIRESTORE_INDEXES.map((i) => ({
      collectionGroup: i.collection,
      queryScope: i.queryScope,
      fields: i.fields.map((f) => ({ fieldPath: f.fieldPath, order: f.order })),
    })),
    fieldOverrides: FIRESTORE_FIELD_OVERRIDES.map((o) => ({
      collectionGroup: o.collection,
      fieldPath: o.field,
      indexes: o.indexes,
    })),
  });
}

async function gatewayFile(functionsDir: string): Promise<string> {
  const functions = [];
  for (const name of functionFolders(functionsDir)) {
    const routes = await gatewayRoutes(name, functionsDir);
    if (routes.length > 0) functions.push({ name, doc: buildOpenApiDocument(routes) });
  }
  return toTerraformTemplate(buildGatewayConfig(functions));
}

/** Every generated file: name (inside terraform/generated) -> content. */
export async function generateTerraformFiles(
  functionsDir = join(REPO_ROOT, 'functions'),
): Promise<Record<string, string>> {
  return {
    ...bigQueryFiles(),
    'firestore-indexes.json': firestoreFile(),
    'api-gateway.json': await gatewayFile(functionsDir),
  };
}

/** Writes the files and removes generated JSON that no longer has a source (e.g. a dropped table). */
export function writeGenerated(files: Record<string, string>, dir = GENERATED_DIR): void {
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(dir)) {
    if (f.endsWith('.json') && !(f in files)) rmSync(join(dir, f));
  }
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
}

if (import.meta.main) {
  const files = await generateTerraformFiles();
  writeGenerated(files);
  for (const name of Object.keys(files).sort()) console.log(`terraform/generated/${name}`);
}
