/**
 * `GET /`: the cohort explorer page (web/, built by scripts/build-web.ts), one self-contained HTML file that
 * talks to the API like any client. It is not an API operation, so it is not in the OpenAPI document; the
 * gateway routes `/` here with the same API key and quota as the rest (scripts/gen-terraform.ts).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import type { Request } from '@google-cloud/functions-framework';
import { NotFoundError } from '../../shared/http/errors.ts';
import type { Route } from '../../shared/http/router.ts';

/** The page's file name beside the bundle's index.mjs. */
export const PAGE_FILE = 'explorer.html';
export const PAGE_PATHS = ['/'] as const;

/** The page the build put beside this bundle, or undefined when running from source. */
export function bundledPage(): string | undefined {
  const file = new URL(`./${PAGE_FILE}`, import.meta.url);
  return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
}

interface Prepared {
  raw: Buffer;
  gzip: Buffer;
  etag: string;
}

/** Whether Accept-Encoding allows gzip (a q=0 refuses it). */
function acceptsGzip(req: Request): boolean {
  return String(req.headers['accept-encoding'] ?? '')
    .split(',')
    .some((part) => {
      const [name, ...params] = part.split(';').map((x) => x.trim().toLowerCase());
      const q = params.find((x) => x.startsWith('q='));
      return (name === 'gzip' || name === '*') && (q === undefined || Number(q.slice(2)) > 0);
    });
}

/** The page route; `load` gives the HTML (built at start locally, read from the bundle in the cloud). */
export function createPageRoutes(load: () => string | undefined = bundledPage): Route[] {
  let prepared: Prepared | undefined;
  const prepare = (): Prepared => {
    if (prepared) return prepared;
    const html = load();
    if (html === undefined) {
      throw new NotFoundError(
        'The explorer page is not part of this build: `npm run build` bundles it and `npm start` builds it at start-up.',
      );
    }
    const raw = Buffer.from(html, 'utf8');
    prepared = {
      raw,
      gzip: gzipSync(raw, { level: 9 }),
      etag: `"${createHash('sha256').update(raw).digest('base64url').slice(0, 27)}"`,
    };
    return prepared;
  };
  return PAGE_PATHS.map((path) => ({
    method: 'GET',
    path,
    spec: {
      operationId: 'getExplorerPage',
      summary: 'The cohort explorer page (HTML)',
      responses: { 200: { description: 'The page', contentType: 'text/html' } },
    },
    handler: (req) => {
      const page = prepare();
      return {
        write: (res) => {
          res.setHeader('Content-Type', 'text/html; charset=utf-8');
          res.setHeader('Cache-Control', 'no-cache');
          res.setHeader('ETag', page.etag);
          res.setHeader('Vary', 'Accept-Encoding');
          res.setHeader('X-Frame-Options', 'DENY');
          res.setHeader('Content-Security-Policy', "frame-ancestors 'none'");
          res.setHeader('Referrer-Policy', 'no-referrer');
          const tags = String(req.headers['if-none-match'] ?? '').split(/\s*,\s*/);
          if (tags.includes(page.etag) || tags.includes(`W/${page.etag}`)) {
            res.status(304).end();
            return;
          }
          const gzip = acceptsGzip(req);
          if (gzip) res.setHeader('Content-Encoding', 'gzip');
          const body = gzip ? page.gzip : page.raw;
          res.setHeader('Content-Length', String(body.length));
          res.status(200).end(req.method === 'HEAD' ? undefined : body);
        },
      };
    },
  }));
}
