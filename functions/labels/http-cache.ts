/** Strong ETags from content hashes, Cache-Control, and If-None-Match (RFC 9110 weak comparison). */
import { createHash } from 'node:crypto';
import type { Request, Response } from '@google-cloud/functions-framework';
import type { Reply } from '../../shared/http/router.ts';

/** An ETag for a single stored version, or for a list of parts (ids and versions) in order. */
export function etagOf(parts: readonly string[]): string {
  if (parts.length === 1) return `"${parts[0]}"`;
  return `"${createHash('sha256').update(parts.join('\n')).digest('base64url').slice(0, 27)}"`;
}

/** True when If-None-Match lists this ETag (or `*`). */
export function notModified(req: Request, etag: string): boolean {
  const header = req.headers['if-none-match'];
  if (!header) return false;
  const opaque = etag.replace(/^W\//, '');
  return header
    .split(',')
    .map((t) => t.trim())
    .some((t) => t === '*' || t.replace(/^W\//, '') === opaque);
}

/**
 * 200 with the body as JSON, or 304 when the caller already has it; both carry the ETag and Cache-Control.
 * The body is serialised only for a 200.
 */
export function cachedReply(req: Request, etag: string, maxAgeSeconds: number, body: unknown): Reply {
  return cachedWrite(req, etag, maxAgeSeconds, () => JSON.stringify(body));
}

/** As cachedReply, for a body that is JSON text already (sent as it is, not serialised again). */
export function cachedJsonText(req: Request, etag: string, maxAgeSeconds: number, json: string): Reply {
  return cachedWrite(req, etag, maxAgeSeconds, () => json);
}

/**
 * The reply of both, written with Node's own calls: Express's send would look the type up, parse it back for
 * a charset, and check freshness again, which the label routes' throughput measurably paid for (issue 15).
 * A HEAD gets the headers only.
 */
function cachedWrite(req: Request, etag: string, maxAgeSeconds: number, json: () => string): Reply {
  return {
    write: (res: Response) => {
      res.setHeader('ETag', etag);
      res.setHeader('Cache-Control', `public, max-age=${maxAgeSeconds}`);
      if (notModified(req, etag)) {
        res.statusCode = 304;
        res.end();
        return;
      }
      const body = Buffer.from(json(), 'utf8');
      res.statusCode = 200;
      res.setHeader('Content-Type', 'application/json; charset=utf-8');
      res.setHeader('Content-Length', body.length);
      res.end(req.method === 'HEAD' ? undefined : body);
    },
  };
}
