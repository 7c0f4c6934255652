/**
 * The one place that reaches into functions-framework's internals. The framework builds its Express app with
 * its own copies of express and body-parser and has no hook for what we need of them:
 * - a body limit: its parsers read up to 1024 MB after Content-Encoding inflation, for every content type
 *   (its `application/cloudevents+json` parser included) in every function, HTTP and CloudEvent alike;
 * - problem+json for a body it cannot parse, a path that does not decode, or any error before a route: all
 *   of these end in Express's HTML error page with a stack trace.
 * So we patch its body-parser factories and express's `application.handle` as the framework loads them, and
 * check before it serves that every patch took: a silent miss would bring back HTML error pages and unbounded
 * bodies, so a miss throws (see assertFrameworkAdapted).
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { logger as defaultLogger, type Logger } from '../log.ts';
import { AppError, PayloadTooLargeError } from './errors.ts';
import { finalProblem, statusTitle } from './final-problem.ts';
import { primeUtf8Codec } from './framework-iconv.ts';

/** The functions-framework release these patches were written against (its server.js and dependencies). */
export const FRAMEWORK_VERSION = '5.0.5';

/**
 * Largest body a CloudEvent function reads, after inflation: a Cloud Storage object event is 1-3 KB of
 * metadata, so 1 MiB holds any real one many times over and bounds a forged one.
 */
export const CLOUD_EVENT_MAX_BYTES = 1024 * 1024;

/** A patch that did not take; thrown at start-up rather than serving without limits or problem+json. */
export class FrameworkAdapterError extends Error {
  override readonly name = 'FrameworkAdapterError';
}

/** Set on the request when a framework body parser refused the body; see bodyParseFailure. */
export interface BodyParseFailure {
  status: number;
  message: string;
}

export interface FrameworkAdapterOptions {
  /** Largest body, after inflation, that any of the framework's parsers reads; the largest asked for wins. */
  maxBodyBytes: number;
  /** Where errors answered before any route are logged. */
  logger?: Logger;
  /**
   * A router answers refused bodies itself (it reads bodyParseFailure and adds its own headers). Without
   * one (a CloudEvent function) the adapter answers them as problem+json before the function runs.
   */
  routerAnswersBodyFailures?: boolean;
}

type Target = 'express' | 'body-parser';
interface Patch {
  target: Target;
  what: string;
  apply: (exports: unknown) => void;
  took: (exports: unknown) => boolean;
}
type Marked = { nihCxrAdapted?: true };
type Next = (err?: unknown) => void;
type Middleware = (req: Record<string, unknown>, res: unknown, next: Next) => void;
type ParserFactory = ((opts?: unknown) => Middleware) & Marked;
type Handle = ((this: unknown, req: IncomingMessage, res: ServerResponse, done?: Next) => void) & Marked;

// Published by Node's CommonJS loader when a require() returns (`result` is the module's exports).
const REQUIRE_END = 'tracing:module.require:end';
const PARSERS = ['json', 'text', 'urlencoded', 'raw'] as const;

let limitBytes = 0;
let routerAnswers = false;
let log: Logger = defaultLogger;
let installed = false;
let verified = false;
const pending = new Set<Target>();
const failures: string[] = [];

interface Framework {
  require: NodeJS.Require;
  /** The package folder: server.js, and any other file of it, requires from there. */
  dir: string;
  /** build/src/server.js, which builds the Express app with the patched modules. */
  server: string;
}
let fw: Framework | undefined;
function framework(): Framework {
  if (!fw) {
    const main = createRequire(import.meta.url).resolve('@google-cloud/functions-framework');
    fw = {
      require: createRequire(main),
      dir: dirname(dirname(dirname(main))) + sep,
      server: join(dirname(main), 'server.js'),
    };
  }
  return fw;
}

const parsersPatch: Patch = {
  target: 'body-parser',
  what: 'body-parser json/text/urlencoded/raw (body limit, refused bodies as problem+json)',
  apply(exports) {
    const bodyParser = exports as Record<string, unknown>;
    for (const kind of PARSERS) {
      const original = bodyParser[kind] as ParserFactory | undefined;
      if (typeof original !== 'function') throw new Error(`body-parser has no ${kind}() factory`);
      if (!original.nihCxrAdapted) bodyParser[kind] = wrapParser(kind, original);
    }
    primeUtf8Codec(framework().require.resolve('body-parser'));
  },
  took: (exports) =>
    PARSERS.every((k) => (exports as Record<string, Marked | undefined>)[k]?.nihCxrAdapted === true),
};

const handlePatch: Patch = {
  target: 'express',
  what: 'express application.handle (undecodable paths, nosniff, problem+json before any route)',
  apply(exports) {
    const app = (exports as { application?: { handle?: Handle } }).application;
    if (typeof app?.handle !== 'function') throw new Error('express has no application.handle()');
    if (!app.handle.nihCxrAdapted) app.handle = wrapHandle(app.handle);
  },
  took: (exports) =>
    (exports as { application?: { handle?: Marked } }).application?.handle?.nihCxrAdapted === true,
};

const PATCHES: readonly Patch[] = [parsersPatch, handlePatch];

/**
 * Adapts the framework this process serves with: every body parser it installs stops reading at
 * `maxBodyBytes` (after inflation, so no gzip bomb is inflated past it), and what it would answer with an
 * HTML page becomes problem+json. Patches the framework's own copies of body-parser and express at once if
 * it has loaded them (its CLI and `getTestServer` do, before they import a function), else when its own
 * `require` returns them (Node's `module.require` tracing channel): loading them here would put ~180 ms of
 * the framework's start-up into every bundle's import. Throws a FrameworkAdapterError if a patch cannot take.
 */
export function adaptFramework(opts: FrameworkAdapterOptions): void {
  limitBytes = Math.max(limitBytes, opts.maxBodyBytes);
  routerAnswers ||= opts.routerAnswersBodyFailures === true;
  log = opts.logger ?? log;
  if (installed) return;
  installed = true;
  const f = framework();
  try {
    f.require.resolve(f.server);
  } catch {
    failures.push(`functions-framework has no ${f.server}`);
  }
  for (const target of new Set(PATCHES.map((p) => p.target))) {
    const cached = cachedModule(f, target);
    if (cached === null) failures.push(`functions-framework does not depend on ${target}`);
    else if (cached?.loaded) applyPatches(target, cached.exports);
    else pending.add(target);
  }
  if (f.require.cache[f.server]?.loaded || failures.length > 0) {
    assertFrameworkAdapted();
    return;
  }
  subscribe(REQUIRE_END, onRequireEnd);
}

/** The framework's copy of `target` if loaded; undefined if not yet; null if the framework cannot load it. */
function cachedModule(f: Framework, target: Target): NodeJS.Module | undefined | null {
  try {
    return f.require.cache[f.require.resolve(target)];
  } catch {
    return null;
  }
}

function applyPatches(target: Target, exports: unknown): void {
  for (const patch of PATCHES.filter((p) => p.target === target)) {
    try {
      patch.apply(exports);
    } catch (err) {
      failures.push(`${patch.what}: ${(err as Error).message}`);
    }
  }
}

function onRequireEnd(message: unknown): void {
  const ctx = message as { id?: unknown; parentFilename?: unknown; result?: unknown };
  const f = framework();
  if (typeof ctx.parentFilename !== 'string' || !ctx.parentFilename.startsWith(f.dir)) return;
  const id = ctx.id as Target;
  if (ctx.result !== undefined && pending.delete(id)) applyPatches(id, ctx.result);
  if (!f.require.cache[f.server]?.loaded) return;
  // The framework's server module has loaded, with every dependency it builds the app from: check now. A
  // throw here reaches the process as an uncaught exception (diagnostics_channel rethrows it): loud.
  unsubscribe(REQUIRE_END, onRequireEnd);
  assertFrameworkAdapted();
}

/**
 * The start-up self-check: every patch applied and is still in place on the framework's modules. Runs when
 * adaptFramework finds the framework's server loaded, else when the framework loads it, and again (once
 * passed, a flag test) on each request a router serves. Throws a FrameworkAdapterError naming what missed.
 */
export function assertFrameworkAdapted(): void {
  if (verified) return;
  const missed = [...failures];
  if (!installed) missed.push('adaptFramework() was never called');
  for (const target of pending) missed.push(`functions-framework never required ${target} from its package`);
  const f = framework();
  for (const patch of PATCHES) {
    const m = cachedModule(f, patch.target);
    const failed = failures.some((f) => f.startsWith(patch.what));
    if (m?.loaded && !failed && !pending.has(patch.target) && !patch.took(m.exports)) {
      missed.push(`${patch.what}: not in place`);
    }
  }
  if (missed.length === 0) {
    verified = true;
    return;
  }
  const err = new FrameworkAdapterError(
    `functions-framework adapter (written against ${FRAMEWORK_VERSION}) could not patch the framework, ` +
      `which would serve unbounded bodies and HTML error pages: ${[...new Set(missed)].join('; ')}`,
  );
  log.error('functions-framework adapter failed its start-up check', { err });
  throw err;
}

/** Why the framework's body parser refused this request's body, if it did (the router answers it). */
export function bodyParseFailure(req: unknown): BodyParseFailure | undefined {
  return (req as { nihCxrBodyFailure?: BodyParseFailure }).nihCxrBodyFailure;
}

/** A path whose percent-encoding does not decode (e.g. `/v1/images/%C0%AE`); routed as `/`. */
export function hasUndecodablePath(req: unknown): boolean {
  return (req as { nihCxrUndecodablePath?: boolean }).nihCxrUndecodablePath === true;
}

function wrapParser(kind: (typeof PARSERS)[number], original: ParserFactory): ParserFactory {
  const wrapped: ParserFactory = (opts?: unknown) => {
    // Every parser, the framework's cloudevents+json one included: raw-body counts the inflated bytes and
    // stops at the limit, so neither a large body nor a small gzip bomb is buffered in full.
    const mw = original({ ...(opts as object | undefined), limit: limitBytes });
    return (req, res, next) =>
      mw(req, res, (err?: unknown) => {
        const e = err as { status?: unknown; type?: unknown; message?: unknown } | undefined;
        if (!e || typeof e.status !== 'number' || e.status < 400 || e.status >= 500) {
          next(err);
          return;
        }
        const message =
          e.type === 'entity.parse.failed'
            ? `Malformed ${kind.toUpperCase()} body`
            : typeof e.message === 'string'
              ? e.message
              : 'Bad body';
        if (!routerAnswers) {
          next(
            e.status === 413
              ? new PayloadTooLargeError(`Request body is over the limit; the limit is ${limitBytes} bytes.`)
              : new AppError(e.status, statusTitle(e.status), `body: ${message}`),
          );
          return;
        }
        req.body = undefined;
        req.nihCxrBodyFailure = { status: e.status, message } satisfies BodyParseFailure;
        next();
      });
  };
  wrapped.nihCxrAdapted = true;
  return wrapped;
}

function wrapHandle(original: Handle): Handle {
  const wrapped: Handle = function (this: unknown, req, res, done) {
    // Every response, the framework's own included (404 for /favicon.ico, errors before routing).
    res.setHeader('X-Content-Type-Options', 'nosniff');
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    try {
      decodeURIComponent(q === -1 ? url : url.slice(0, q));
    } catch {
      // Express would fail decoding it while routing; the router answers it as a 400 naming the path.
      (req as { nihCxrUndecodablePath?: boolean }).nihCxrUndecodablePath = true;
      req.url = q === -1 ? '/' : `/${url.slice(q)}`;
    }
    original.call(this, req, res, done ?? ((err?: unknown) => finalProblem(req, res, err, log)));
  };
  wrapped.nihCxrAdapted = true;
  return wrapped;
}
