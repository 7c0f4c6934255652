/**
 * Serves a BigQueryTransport (the ZetaSQL stand-in, test/harness/zetasql-bigquery.ts) as BigQuery's REST v2
 * HTTP API on loopback, so that the production transport (shared/cohorts/bigquery-http.ts) is tested end to
 * end over real HTTP: URL paths and query strings, JSON bodies, the Bearer token, error answers in
 * BigQuery's `{error: {code, message, errors}}` form, and multipart/related media uploads parsed from the
 * bytes sent. A STAND-IN: no BigQuery emulator exists; what it checks is the HTTP shape of BigQuery's
 * documented API, what it answers is the stand-in's.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import type { BigQueryTransport, RestRequest } from '../../shared/cohorts/bigquery-transport.ts';

export interface FrontRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
}

export interface BigQueryFront {
  /** http://127.0.0.1:port: the transport's `endpoint`. */
  url: string;
  requests: FrontRequest[];
  /** Uploads received: the parts' content types as sent. */
  uploads: { partTypes: string[]; chunked: boolean }[];
  stop(): Promise<void>;
}

const readAll = async (req: IncomingMessage): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
};

/** Splits a multipart/related body into its parts (headers and body), as RFC 2046 frames them. */
function multipartParts(body: string, boundary: string): { type: string; body: string }[] {
  const sections = body.split(`--${boundary}`);
  if (sections.at(-1)?.trim() !== '--')
    throw new Error('multipart body does not end with the closing boundary');
  return sections.slice(1, -1).map((s) => {
    const m = /^\r\n([\s\S]*?)\r\n\r\n([\s\S]*)\r\n$/.exec(s);
    if (!m) throw new Error(`malformed multipart part: ${s.slice(0, 80)}`);
    const type = /^content-type:\s*(.+)$/im.exec(m[1]!)?.[1]?.trim() ?? '';
    return { type, body: m[2]! };
  });
}

export async function serveBigQuery(
  transport: BigQueryTransport,
  o: { project: string; token: string },
): Promise<BigQueryFront> {
  const requests: FrontRequest[] = [];
  const uploads: BigQueryFront['uploads'] = [];
  const api = `/bigquery/v2/projects/${o.project}`;
  const uploadPath = `/upload/bigquery/v2/projects/${o.project}/jobs`;

  const answer = async (req: IncomingMessage): Promise<unknown> => {
    const url = new URL(req.url ?? '/', 'http://front');
    const body = await readAll(req);
    if (url.pathname === uploadPath && req.method === 'POST') {
      if (url.searchParams.get('uploadType') !== 'multipart')
        throw new Error('upload without uploadType=multipart');
      const boundary = /boundary=([^;]+)/.exec(req.headers['content-type'] ?? '')?.[1];
      if (!/^multipart\/related;/.test(req.headers['content-type'] ?? '') || !boundary)
        throw new Error(`upload content-type ${req.headers['content-type']}`);
      const parts = multipartParts(body.toString('utf8'), boundary);
      uploads.push({
        partTypes: parts.map((p) => p.type),
        chunked: req.headers['transfer-encoding'] === 'chunked',
      });
      return transport.upload(JSON.parse(parts[0]!.body), Readable.from([parts[1]!.body]));
    }
    if (!url.pathname.startsWith(`${api}/`)) throw new Error(`no route for ${req.method} ${url.pathname}`);
    const r: RestRequest = {
      method: req.method as RestRequest['method'],
      path: url.pathname.slice(api.length),
      ...(url.search ? { query: Object.fromEntries(url.searchParams) } : {}),
      ...(body.length > 0 ? { body: JSON.parse(body.toString('utf8')) } : {}),
    };
    return transport.request(r);
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers });
    const send = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' }).end(JSON.stringify(body));
    if (req.headers.authorization !== `Bearer ${o.token}`) {
      req.resume();
      send(401, { error: { code: 401, message: 'Request is missing a valid credential', errors: [] } });
      return;
    }
    answer(req).then(
      (out) => (out === undefined ? res.writeHead(204).end() : send(200, out)),
      (err: { code?: number; message?: string; errors?: unknown[] }) => {
        const code = typeof err.code === 'number' ? err.code : 500;
        send(code, { error: { code, message: err.message, errors: err.errors ?? [] } });
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    uploads,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
