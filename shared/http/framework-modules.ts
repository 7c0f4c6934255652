import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createRequire } from 'node:module';
import { dirname, sep } from 'node:path';

/** The framework's dependencies our router adapts (see body-errors.ts and framework-errors.ts). */
export type FrameworkModule = 'express' | 'body-parser';
type Patch = (exports: unknown) => void;

interface RequireEnd {
  id?: unknown;
  parentFilename?: unknown;
  result?: unknown;
}

const pending = new Map<FrameworkModule, Patch[]>();
let frameworkDir: string | undefined;
let frameworkRequire: NodeJS.Require | undefined;

function fromFramework(): NodeJS.Require {
  if (!frameworkRequire) {
    const main = createRequire(import.meta.url).resolve('@google-cloud/functions-framework');
    frameworkRequire = createRequire(main);
    // build/src/index.js -> the package folder: server.js, and any other file of it, requires from there.
    frameworkDir = dirname(dirname(dirname(main))) + sep;
  }
  return frameworkRequire;
}

// Published by Node's CommonJS loader when a require() returns (`context.result` is the module's exports).
const REQUIRE_END = 'tracing:module.require:end';
let subscribed = false;

function onRequireEnd(message: unknown): void {
  const ctx = message as RequireEnd;
  const id = ctx.id as FrameworkModule;
  const patches = pending.get(id);
  if (!patches || typeof ctx.parentFilename !== 'string' || !frameworkDir) return;
  if (!ctx.parentFilename.startsWith(frameworkDir) || ctx.result === undefined) return;
  pending.delete(id);
  for (const patch of patches) patch(ctx.result);
  if (pending.size === 0 && subscribed) {
    unsubscribe(REQUIRE_END, onRequireEnd);
    subscribed = false;
  }
}

/**
 * Runs `patch` on functions-framework's own copy of `id` before the framework builds its server with it,
 * without loading it here: at once if the framework has loaded it (the runtime's main.js and `getTestServer`
 * load it before they import a function), else when the framework's own `require` returns it (Node's
 * `module.require` tracing channel). Loading express and body-parser ourselves would put ~180 ms of the
 * framework's start-up into every bundle's import. A patch must be idempotent: both paths may run it.
 */
export function whenFrameworkLoads(id: FrameworkModule, patch: Patch): void {
  const req = fromFramework();
  const loaded = req.cache[req.resolve(id)];
  if (loaded?.loaded) {
    patch(loaded.exports);
    return;
  }
  pending.set(id, [...(pending.get(id) ?? []), patch]);
  if (!subscribed) {
    subscribe(REQUIRE_END, onRequireEnd);
    subscribed = true;
  }
}
