import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { Logger } from '../log.ts';
import { AppError } from './errors.ts';
import { loggableUrl } from './log-fields.ts';
import { PROBLEM_CONTENT_TYPE, toProblem } from './problem.ts';

// Not `import { STATUS_CODES } from 'node:http'`: an ES import of node:http builds its module facade, which
// reads every export, and one of them loads undici (tens of ms of cold start for one table).
const { STATUS_CODES } = createRequire(import.meta.url)('node:http') as typeof import('node:http');

/** The reason phrase of an HTTP status, e.g. 'Content Too Large' for 413. */
export const statusTitle = (status: number): string => STATUS_CODES[status] ?? 'Error';

/**
 * Express's final handler, as problem+json: answers an error that escaped every middleware of the
 * framework's app (status kept for 4xx, else a plain 500, logged), or a request nothing answered (404).
 */
export function finalProblem(req: IncomingMessage, res: ServerResponse, err: unknown, log: Logger): void {
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
  const title = statusTitle(status);
  const detail = e?.expose === true && typeof e.message === 'string' ? e.message : title;
  const answer = err instanceof AppError || status >= 500 ? err : new AppError(status, title, detail);
  const { problem, headers } = toProblem(answer);
  req.resume();
  res.statusCode = problem.status;
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.setHeader('Content-Type', PROBLEM_CONTENT_TYPE);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.end(JSON.stringify(problem));
}
