import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { logger as defaultLogger, type Logger } from '../log.ts';
import { AppError } from './errors.ts';
import { whenFrameworkLoads } from './framework-modules.ts';
import { loggableUrl } from './log-fields.ts';
import { PROBLEM_CONTENT_TYPE, toProblem } from './problem.ts';

// Not `import { STATUS_CODES } from 'node:http'`: an ES import of node:http builds its module facade, which
// reads every export, and one of them loads undici (tens of ms of cold start for one table).
const { STATUS_CODES } = createRequire(import.meta.url)('node:http') as typeof import('node:http');

type Done = (err?: unknown) => void;
type Express = { application: { handle: Handle } };
type Handle = ((this: unknown, req: IncomingMessage, res: ServerResponse, done?: Done) => void) & {
  nihCxrWrapped?: true;
};

let log: Logger = defaultLogger;

/** A path whose percent-encoding does not decode (e.g. `/v1/images/%C0%AE`); see captureFrameworkErrors. */
export function hasUndecodablePath(req: unknown): boolean {
  return (req as { nihCxrUndecodablePath?: boolean }).nihCxrUndecodablePath === true;
}

/** Answers an error that escaped every middleware as problem+json (status kept for 4xx, else a plain 500). */
function finalProblem(req: IncomingMessage, res: ServerResponse, err: unknown): void {
  if (res.headersSent) {
    if (err) res.destroy();
    return;
  }
  const e = err as
    | { status?: unknown; statusCode?: unknown; expose?: unknown; message?: unknown }
    | undefined;
  const raw = err === undefined ? 404 : (e?.status ?? e?.statusCode);
  const status = typeof raw === 'number' && raw >= 400 && raw < 600 ? raw : 500;
  if (status >= 500) {
    log.error('request failed before reaching a route', {
      err,
      httpRequest: { requestMethod: req.method, requestUrl: loggableUrl(req.url) },
    });
  }
  const title = STATUS_CODES[status] ?? 'Error';
  const detail = e?.expose === true && typeof e.message === 'string' ? e.message : title;
  const { problem, headers } = toProblem(status < 500 ? new AppError(status, title, detail) : err);
  req.resume();
  res.statusCode = problem.status;
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.setHeader('Content-Type', PROBLEM_CONTENT_TYPE);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.end(JSON.stringify(problem));
}

/**
 * functions-framework's Express app decodes the request path while routing to our handler, so a path with
 * bad percent-encoding ends in Express's final handler: an HTML page with a stack trace, before any route
 * runs. We wrap the framework's `application.handle` (before the framework builds its app; see
 * whenFrameworkLoads) to mark such a request and route it as `/` instead, so the router answers it as a 400
 * problem with all its usual headers; anything else that escapes the middleware becomes problem+json, never
 * HTML; and every response, the framework's own included, carries `X-Content-Type-Options: nosniff`.
 */
export function captureFrameworkErrors(logger: Logger = defaultLogger): void {
  log = logger;
  whenFrameworkLoads('express', (exports) => wrapHandle(exports as Express));
}

function wrapHandle(express: Express): void {
  const app = express.application;
  if (app.handle.nihCxrWrapped) return;
  const original = app.handle;
  const wrapped: Handle = function (this: unknown, req, res, done) {
    // Every response, the framework's own included (404 for /favicon.ico, errors before routing).
    res.setHeader('X-Content-Type-Options', 'nosniff');
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    try {
      decodeURIComponent(q === -1 ? url : url.slice(0, q));
    } catch {
      (req as { nihCxrUndecodablePath?: boolean }).nihCxrUndecodablePath = true;
      req.url = q === -1 ? '/' : `/${url.slice(q)}`;
    }
    original.call(this, req, res, done ?? ((err?: unknown) => finalProblem(req, res, err)));
  };
  wrapped.nihCxrWrapped = true;
  app.handle = wrapped;
}
