import type { Request, Response } from '@google-cloud/functions-framework';
import type * as z from 'zod';
import { logger as defaultLogger, type Logger } from '../log.ts';
import { NIH_DOWNLOAD_URL } from '../model/attribution.ts';
import { BadRequestError, MethodNotAllowedError, NotFoundError, PayloadTooLargeError } from './errors.ts';
import {
  adaptFramework,
  assertFrameworkAdapted,
  bodyParseFailure,
  hasUndecodablePath,
} from './framework-adapter.ts';
import { loggableUrl } from './log-fields.ts';
import { PROBLEM_CONTENT_TYPE, toProblem } from './problem.ts';

/** What a route handler returns: JSON, or a function that writes the response itself (streams, redirects). */
export type Reply =
  | { status?: number; body: unknown; headers?: Record<string, string> }
  | { write: (res: Response) => Promise<void> | void };

export type Params = Record<string, string>;
export type RouteHandler = (req: Request, params: Params) => Promise<Reply> | Reply;

/** What the OpenAPI document says of a route; the same zod schemas validate the requests. */
export interface RouteSpec {
  operationId: string;
  summary: string;
  /** Schemas of the inputs, exactly the ones the handler validates with parseInput. */
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  /** Response bodies by status; `schema` omitted for non-JSON bodies (redirects, streamed exports). */
  responses: Record<number, { description: string; schema?: z.ZodType; contentType?: string }>;
}

export interface Route {
  method: 'GET' | 'POST';
  /** e.g. `/v1/images/{imageId}`; `{name}` matches one path segment (percent-decoded). */
  path: string;
  handler: RouteHandler;
  spec: RouteSpec;
}

interface CompiledRoute extends Route {
  regex: RegExp;
  names: string[];
}

export interface RouterOptions {
  logger?: Logger;
  /** Largest accepted request body in bytes; larger bodies get 413. */
  maxBodyBytes?: number;
  /** Origins allowed for CORS; empty means no CORS headers. `*` allows any. */
  corsOrigins?: readonly string[];
}

const ATTRIBUTION_LINK = `<${NIH_DOWNLOAD_URL}>; rel="license", </v1/attribution>; rel="describedby"`;

function compile(route: Route): CompiledRoute {
  const names: string[] = [];
  const pattern = route.path
    .split(/(\{[a-zA-Z]+\})/)
    .map((part) => {
      const m = /^\{([a-zA-Z]+)\}$/.exec(part);
      if (m) {
        names.push(m[1]!);
        return '([^/]+)';
      }
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  return { ...route, regex: new RegExp(`^${pattern}/?$`), names };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Sends an error as application/problem+json. */
export function sendError(res: Response, err: unknown, log: Logger, req?: Request): void {
  const { problem, headers } = toProblem(err);
  if (problem.status >= 500) {
    log.error('request failed', {
      err,
      ...(req
        ? { httpRequest: { requestMethod: req.method, requestUrl: loggableUrl(req.originalUrl) } }
        : {}),
    });
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.status(problem.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem));
}

/** Builds the HTTP handler of one function from its routes: matching, 404/405, errors as problem+json. */
export function createRouter(routes: readonly Route[], opts: RouterOptions = {}) {
  const log = opts.logger ?? defaultLogger;
  const maxBody = opts.maxBodyBytes ?? 1024 * 1024;
  adaptFramework({ maxBodyBytes: maxBody, logger: log, routerAnswersBodyFailures: true });
  const compiled = routes.map(compile);
  const cors = opts.corsOrigins ?? [];

  return async (req: Request, res: Response): Promise<void> => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    // Attribution travels with every response: the data's source and the citations route.
    res.setHeader('Link', ATTRIBUTION_LINK);
    const origin = req.headers.origin;
    // With an allow-list the answer depends on Origin whether or not it is allowed: a shared cache must not
    // hand a response made for one origin (or none) to another.
    if (cors.length > 0 && !cors.includes('*')) res.setHeader('Vary', 'Origin');
    if (origin && (cors.includes('*') || cors.includes(origin))) {
      res.setHeader('Access-Control-Allow-Origin', cors.includes('*') ? '*' : origin);
      res.setHeader('Access-Control-Expose-Headers', 'ETag, Location');
    }
    try {
      // A flag test once the framework passed the adapter's start-up check; a 500, logged, if it never did.
      assertFrameworkAdapted();
      if (hasUndecodablePath(req)) {
        const message = 'is not valid percent-encoded UTF-8';
        throw new BadRequestError(`The request path ${message}.`, [{ path: 'path', message }]);
      }
      const path = (req.path || '/').replace(/\/{2,}/g, '/');
      if (req.method === 'OPTIONS') {
        res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
        // X-API-Key: a browser calling through API Gateway sends the key in that header (preflighted).
        res.setHeader('Access-Control-Allow-Headers', 'Content-Type, If-None-Match, X-API-Key');
        res.setHeader('Access-Control-Max-Age', '3600');
        res.status(204).end();
        return;
      }
      const matches = compiled
        .map((r) => ({ r, m: r.regex.exec(path) }))
        .filter((x): x is { r: CompiledRoute; m: RegExpExecArray } => x.m !== null);
      if (matches.length === 0) throw new NotFoundError(`No route for ${req.method} ${path}`);
      const hit = matches.find(
        (x) => x.r.method === req.method || (req.method === 'HEAD' && x.r.method === 'GET'),
      );
      if (!hit) {
        const allow = [...new Set(matches.map((x) => x.r.method))];
        throw new MethodNotAllowedError(`${req.method} is not allowed on ${path}`, allow);
      }
      const failure = bodyParseFailure(req);
      // Size first: a body over the limit is 413 whether or not it would parse.
      const size = req.rawBody?.length ?? Number(req.headers['content-length'] ?? 0);
      if (size > maxBody || failure?.status === 413) {
        const what = size > maxBody ? `${size} bytes` : 'over the limit';
        throw new PayloadTooLargeError(`Request body is ${what}; the limit is ${maxBody} bytes.`);
      }
      if (failure) {
        throw new BadRequestError(`body: ${failure.message}`, [{ path: 'body', message: failure.message }]);
      }
      const params: Params = {};
      hit.r.names.forEach((n, i) => {
        params[n] = safeDecode(hit.m[i + 1] ?? '');
      });
      const reply = await hit.r.handler(req, params);
      if ('write' in reply) {
        await reply.write(res);
        return;
      }
      for (const [k, v] of Object.entries(reply.headers ?? {})) res.setHeader(k, v);
      res.status(reply.status ?? 200).json(reply.body);
    } catch (err) {
      sendError(res, err, log, req);
    }
  };
}
