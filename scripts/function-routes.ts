import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Route } from '../shared/http/router.ts';
import { REPO_ROOT } from './function-folders.ts';

function isRoute(v: unknown): v is Route {
  const r = v as Partial<Route> | null;
  return (
    typeof r === 'object' &&
    r !== null &&
    (r.method === 'GET' || r.method === 'POST') &&
    typeof r.path === 'string' &&
    typeof r.spec?.operationId === 'string'
  );
}

/**
 * The routes of one function, read from its `functions/<name>/routes.ts`, which exports one
 * `create…Routes(deps)` factory (the house convention). Only the specs are wanted: the handlers never run,
 * so the factory gets no dependencies. A function without routes.ts (an event function) has no routes.
 */
export async function functionRoutes(
  name: string,
  functionsDir = join(REPO_ROOT, 'functions'),
): Promise<Route[]> {
  const file = join(functionsDir, name, 'routes.ts');
  if (!existsSync(file)) return [];
  const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const factories = Object.entries(mod).filter(
    (e): e is [string, (deps: unknown) => unknown] =>
      /^create\w*Routes$/.test(e[0]) && typeof e[1] === 'function',
  );
  if (factories.length !== 1) {
    throw new Error(
      `${file} should export exactly one create…Routes factory; found ${factories.map((f) => f[0]).join(', ') || 'none'}`,
    );
  }
  const [factoryName, factory] = factories[0]!;
  const routes = factory({});
  if (!Array.isArray(routes) || !routes.every(isRoute)) {
    throw new Error(`${file}: ${factoryName}({}) did not return an array of routes`);
  }
  return routes;
}

/**
 * What the gateway routes to a function: its API routes, then the pages it serves, from
 * `functions/<name>/page-route.ts` (`createPageRoutes()`: labels serves the explorer page at `/`). Pages are
 * served with the same API key and quota, but are not API operations, so they are not in the OpenAPI document.
 */
export async function gatewayRoutes(
  name: string,
  functionsDir = join(REPO_ROOT, 'functions'),
): Promise<Route[]> {
  const routes = await functionRoutes(name, functionsDir);
  const file = join(functionsDir, name, 'page-route.ts');
  if (!existsSync(file)) return routes;
  const mod = (await import(pathToFileURL(file).href)) as { createPageRoutes?: () => unknown };
  const pages = mod.createPageRoutes?.();
  if (!Array.isArray(pages) || !pages.every(isRoute)) {
    throw new Error(`${file} should export createPageRoutes() returning an array of routes`);
  }
  return [...routes, ...pages];
}
