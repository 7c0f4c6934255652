import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as z from 'zod';
import type { Route } from '../../shared/http/router.ts';
import { buildOpenApiDocument, type OpenApiDocument } from '../../shared/openapi/build.ts';
import { functionFolders, REPO_ROOT } from '../function-folders.ts';
import { functionRoutes } from '../function-routes.ts';

/** Every route of every function (the meta routes belong to labels), in a stable order: the public API. */
export async function allRoutes(functionsDir = join(REPO_ROOT, 'functions')): Promise<Route[]> {
  const routes: Route[] = [];
  for (const name of functionFolders(functionsDir))
    routes.push(...(await functionRoutes(name, functionsDir)));
  return routes;
}

/** The OpenAPI document committed at shared/openapi/openapi.json (served by the labels function). */
export async function publicOpenApiDocument(): Promise<OpenApiDocument> {
  return buildOpenApiDocument(await allRoutes());
}

const REQUEST_SCHEMA = /(Body|Params|Query|Request)Schema$/;

/** Request schemas exported by functions' routes.ts / schemas.ts (name -> schema). */
export async function exportedRequestSchemas(
  functionsDir = join(REPO_ROOT, 'functions'),
): Promise<Record<string, z.ZodType>> {
  const out: Record<string, z.ZodType> = {};
  for (const name of functionFolders(functionsDir)) {
    for (const file of ['routes.ts', 'schemas.ts']) {
      const path = join(functionsDir, name, file);
      if (!existsSync(path)) continue;
      const mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
      for (const [k, v] of Object.entries(mod)) {
        if (REQUEST_SCHEMA.test(k) && v && typeof v === 'object' && 'safeParse' in v)
          out[`${name}/${k}`] = v as z.ZodType;
      }
    }
  }
  return out;
}
