import { whenFrameworkLoads } from './framework-modules.ts';

/** Set on the request when the framework's body parser refused the body (see captureBodyParserErrors). */
export interface BodyParseFailure {
  status: number;
  message: string;
}

type Middleware = (req: Record<string, unknown>, res: unknown, next: (err?: unknown) => void) => void;
type ParserFactory = ((opts?: unknown) => Middleware) & { nihCxrWrapped?: true };
const KINDS = ['json', 'text', 'urlencoded', 'raw'] as const;
type Parsers = Record<(typeof KINDS)[number], ParserFactory>;
/** The framework reads bodies of up to 1 GB (after Content-Encoding inflation) before a route can refuse them. */
let limitBytes: number | undefined;

/**
 * functions-framework parses bodies before our handler runs, and a body it can't parse (malformed JSON, an
 * unknown charset) ends in Express's HTML error page with a stack trace. There is no hook for that, so we wrap
 * the framework's own body-parser factories (before the framework builds its server; see whenFrameworkLoads)
 * to record the failure on the request instead; the router then answers it as problem+json.
 */
export function captureBodyParserErrors(maxBodyBytes?: number): void {
  // The largest limit any router asked for (each router still checks its own): body-parser then stops reading
  // there, so neither a large body nor a small gzip bomb is buffered in full. CloudEvents keep the framework's.
  if (maxBodyBytes !== undefined) limitBytes = Math.max(limitBytes ?? 0, maxBodyBytes);
  whenFrameworkLoads('body-parser', (exports) => wrapParsers(exports as Parsers));
}

function wrapParsers(bodyParser: Parsers): void {
  for (const kind of KINDS) {
    const original = bodyParser[kind];
    if (original.nihCxrWrapped) continue;
    const wrapped: ParserFactory = (opts?: unknown) => {
      const o = opts as { type?: unknown } | undefined;
      const clamp = limitBytes !== undefined && o?.type !== 'application/cloudevents+json';
      const mw = original(clamp ? { ...o, limit: limitBytes } : opts);
      return (req, res, next) =>
        mw(req, res, (err?: unknown) => {
          const e = err as { status?: number; type?: string; message?: string } | undefined;
          if (e && typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
            req.body = undefined;
            req.bodyParseFailure = {
              status: e.status,
              message:
                e.type === 'entity.parse.failed'
                  ? `Malformed ${kind.toUpperCase()} body`
                  : (e.message ?? 'Bad body'),
            } satisfies BodyParseFailure;
            next();
            return;
          }
          next(err);
        });
    };
    wrapped.nihCxrWrapped = true;
    bodyParser[kind] = wrapped;
  }
}
