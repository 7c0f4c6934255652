import type * as z from 'zod';
import type { Route } from '../http/router.ts';
import { pathParamNames } from './build.ts';

function objectKeys(schema: z.ZodType | undefined): string[] {
  const shape = (schema as { shape?: Record<string, unknown> } | undefined)?.shape;
  return shape ? Object.keys(shape) : [];
}

/**
 * Every route must carry the schemas it validates with, and every request schema a function exports must
 * belong to a route: returns one line per mismatch (empty when routes and schemas agree).
 */
export function checkRouteSpecs(
  routes: readonly Route[],
  exportedRequestSchemas: Readonly<Record<string, z.ZodType>> = {},
): string[] {
  const problems: string[] = [];
  const used = new Set<z.ZodType>();
  const ids = new Set<string>();
  for (const r of routes) {
    const where = `${r.method} ${r.path}`;
    const names = pathParamNames(r.path).sort();
    const keys = objectKeys(r.spec.params).sort();
    if (names.join() !== keys.join()) {
      problems.push(
        `${where}: path parameters {${names.join(', ')}} but params schema has [${keys.join(', ')}]`,
      );
    }
    if (r.method === 'POST' && !r.spec.body) problems.push(`${where}: POST route without a body schema`);
    if (r.method === 'GET' && r.spec.body) problems.push(`${where}: GET route with a body schema`);
    if (!Object.keys(r.spec.responses).some((s) => Number(s) < 400)) {
      problems.push(`${where}: no success response declared`);
    }
    if (ids.has(r.spec.operationId)) problems.push(`${where}: duplicate operationId ${r.spec.operationId}`);
    ids.add(r.spec.operationId);
    for (const s of [r.spec.params, r.spec.query, r.spec.body]) if (s) used.add(s);
  }
  for (const [name, schema] of Object.entries(exportedRequestSchemas)) {
    if (!used.has(schema)) problems.push(`${name} is exported as a request schema but no route uses it`);
  }
  return problems;
}
