/**
 * Local stand-ins for the Google endpoints that have no emulator, so that a sealed bundle (or the bench) runs
 * its real client libraries unchanged, offline:
 *
 * - a **metadata server** (GCE_METADATA_HOST, plain HTTP, as on Cloud Run): the runtime identity's access token,
 *   e-mail, project and universe, so google-auth-library picks its Compute client exactly as in the cloud;
 * - a **TLS-intercepting proxy** (HTTPS_PROXY + NODE_EXTRA_CA_CERTS, with a throw-away CA made by `openssl`):
 *   the libraries call https://iamcredentials.googleapis.com and https://bigquery.googleapis.com as they do in
 *   production, and the proxy hands each request to a local handler and records it;
 * - an **IAM Credentials signBlob** handler that checks the request (path, bearer token, body) and signs the
 *   payload with a local RSA key, as the service would with the service account's Google-managed key.
 *
 * These are hand-written stand-ins (no emulator exists for either API): tests that use them say so.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RecordedRequest {
  host: string;
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Answers one intercepted request; `undefined` = 404. */
export type StandInHandler = (
  req: RecordedRequest,
) => { status: number; body: unknown; headers?: Record<string, string> } | undefined;

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });

const listen = async (server: ReturnType<typeof createServer>): Promise<number> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
};

export interface MetadataStandIn {
  /** host:port, the value of GCE_METADATA_HOST. */
  host: string;
  email: string;
  projectId: string;
  accessToken: string;
  /** Paths asked for, in order. */
  requests: string[];
  stop(): Promise<void>;
}

/** The Cloud Run metadata server, as far as google-auth-library's Compute client and gcp-metadata use it. */
export async function startMetadataStandIn(
  opts: { email?: string; projectId?: string } = {},
): Promise<MetadataStandIn> {
  const email = opts.email ?? 'nih-cxr-fn@nih-cxr-test.iam.gserviceaccount.com';
  const projectId = opts.projectId ?? 'nih-cxr-test';
  const accessToken = `ya29.stand-in-${Math.random().toString(36).slice(2)}`;
  const requests: string[] = [];
  const answers: Record<string, string> = {
    '/computeMetadata/v1/instance/service-accounts/default/token': JSON.stringify({
      access_token: accessToken,
      expires_in: 3599,
      token_type: 'Bearer',
    }),
    '/computeMetadata/v1/instance/service-accounts/default/email': email,
    '/computeMetadata/v1/project/project-id': projectId,
    '/computeMetadata/v1/universe/universe-domain': 'googleapis.com',
  };
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0]!;
    requests.push(path);
    res.setHeader('Metadata-Flavor', 'Google');
    if (req.headers['metadata-flavor'] !== 'Google') {
      res.writeHead(403).end('Missing Metadata-Flavor: Google');
      return;
    }
    const answer = answers[path];
    if (answer === undefined) res.writeHead(404).end('not found');
    else
      res
        .writeHead(200, {
          'Content-Type': answer.startsWith('{') ? 'application/json' : 'application/text',
        })
        .end(answer);
  });
  const port = await listen(server);
  return {
    host: `127.0.0.1:${port}`,
    email,
    projectId,
    accessToken,
    requests,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface InterceptingProxy {
  /** http://127.0.0.1:port, the value of HTTPS_PROXY. */
  url: string;
  /** PEM file of the throw-away CA, the value of NODE_EXTRA_CA_CERTS. */
  caFile: string;
  /** Every request that reached a handler, in order. */
  requests: RecordedRequest[];
  /** CONNECT targets, e.g. `bigquery.googleapis.com:443`. */
  tunnels: string[];
  /** Environment a child process needs to go through the proxy (NO_PROXY keeps loopback direct). */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** A CA and a leaf certificate for *.googleapis.com signed by it, made with the openssl CLI. */
function makeCertificates(dir: string): { ca: string; key: string; cert: string } {
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=nih-cxr test stand-in CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  run([
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'leaf.key',
    '-out',
    'leaf.csr',
    '-subj',
    '/CN=googleapis.com',
  ]);
  const ext = join(dir, 'leaf.ext');
  execFileSync('sh', [
    '-c',
    `printf 'subjectAltName=DNS:*.googleapis.com,DNS:googleapis.com\\nbasicConstraints=CA:FALSE\\nextendedKeyUsage=serverAuth\\n' > '${ext}'`,
  ]);
  run([
    'x509',
    '-req',
    '-in',
    'leaf.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'leaf.pem',
    '-days',
    '2',
    '-extfile',
    ext,
  ]);
  return {
    ca: join(dir, 'ca.pem'),
    key: readFileSync(join(dir, 'leaf.key'), 'utf8'),
    cert: readFileSync(join(dir, 'leaf.pem'), 'utf8'),
  };
}

/**
 * An HTTPS proxy that terminates TLS for *.googleapis.com with its own CA and answers with `handlers[host]`.
 * A host without a handler gets a 502; nothing leaves the machine.
 */
export async function startInterceptingProxy(
  handlers: Record<string, StandInHandler>,
): Promise<InterceptingProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'nih-cxr-stand-in-ca-'));
  const certs = makeCertificates(dir);
  const requests: RecordedRequest[] = [];
  const tunnels: string[] = [];
  const answer = async (host: string, req: IncomingMessage, res: ServerResponse) => {
    const recorded: RecordedRequest = {
      host,
      method: req.method ?? '',
      path: req.url ?? '',
      headers: req.headers,
      body: await readBody(req),
    };
    requests.push(recorded);
    // `GET /` is what Google's front end answers 404 for on every API host: the clients' preconnect
    // (shared/google/rest-http.ts) sends it, unauthenticated, to open a connection; no API sees it.
    if (recorded.method === 'GET' && recorded.path === '/') {
      res.writeHead(404, { 'Content-Type': 'text/html' }).end('<p>404. That’s an error.</p>');
      return;
    }
    const handler = handlers[host];
    const out = handler ? handler(recorded) : { status: 502, body: { error: `no stand-in for ${host}` } };
    if (!out) {
      res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"error":{"code":404}}');
      return;
    }
    res
      .writeHead(out.status, { 'Content-Type': 'application/json', ...out.headers })
      .end(JSON.stringify(out.body));
  };
  const tls = createHttpsServer({ key: certs.key, cert: certs.cert }, (req, res) => {
    const host = (req.headers.host ?? '').replace(/:443$/, '');
    void answer(host, req, res);
  });
  const proxy = createServer((_req, res) => res.writeHead(405).end());
  proxy.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const target = req.url ?? '';
    tunnels.push(target);
    if (!/\.googleapis\.com:443$/.test(target)) {
      socket.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
      return;
    }
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) socket.unshift(head);
    tls.emit('connection', socket);
  });
  const sockets = new Set<Socket>();
  proxy.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  });
  const port = await listen(proxy);
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    caFile: certs.ca,
    requests,
    tunnels,
    env: { HTTPS_PROXY: url, NO_PROXY: '127.0.0.1,localhost', NODE_EXTRA_CA_CERTS: certs.ca },
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      tls.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface SignBlobCheck {
  /** Requests refused, with why (a wrong path, token or body). */
  refused: string[];
  /** Payloads signed (decoded). */
  signed: string[];
}

/**
 * The IAM Credentials `projects/-/serviceAccounts/{email}:signBlob` method: checks the path names `email`,
 * the bearer token is `accessToken`, and the body is `{"payload": <base64>}`; signs the payload with
 * RSA-SHA256 and `privateKey`. Anything else is refused with the status the service would give.
 */
export function signBlobHandler(opts: {
  email: string;
  accessToken: string;
  privateKey: KeyObject;
  check?: SignBlobCheck;
}): StandInHandler {
  const check = opts.check;
  return (req) => {
    const refuse = (status: number, why: string) => {
      check?.refused.push(why);
      return { status, body: { error: { code: status, message: why } } };
    };
    const want = `/v1/projects/-/serviceAccounts/${encodeURIComponent(opts.email)}:signBlob`;
    const wantRaw = `/v1/projects/-/serviceAccounts/${opts.email}:signBlob`;
    if (req.method !== 'POST' || (req.path !== want && req.path !== wantRaw)) {
      return refuse(404, `unexpected ${req.method} ${req.path}`);
    }
    if (req.headers.authorization !== `Bearer ${opts.accessToken}`) {
      return refuse(401, `bad authorization: ${String(req.headers.authorization)}`);
    }
    let payload: string;
    try {
      const body = JSON.parse(req.body) as { payload?: unknown };
      if (typeof body.payload !== 'string' || !/^[A-Za-z0-9+/]+=*$/.test(body.payload)) throw new Error();
      payload = body.payload;
    } catch {
      return refuse(400, `body is not {"payload": base64}: ${req.body.slice(0, 200)}`);
    }
    const data = Buffer.from(payload, 'base64');
    check?.signed.push(data.toString('utf8'));
    return {
      status: 200,
      body: { keyId: 'stand-in-key-1', signedBlob: sign('sha256', data, opts.privateKey).toString('base64') },
    };
  };
}

export interface SignBlobServer {
  /** http://127.0.0.1:port/v1/projects/-/serviceAccounts/ : the `endpoint` argument of GoogleAuth.sign. */
  endpoint: string;
  /** Signatures made, and requests refused with why. */
  stats: { signed: number; refused: string[] };
  stop(): Promise<void>;
}

/**
 * The signBlob stand-in as a plain HTTP server, answering after `delayMs` (a stand-in for the service's round
 * trip, which cannot be measured offline). For the bench, which passes its URL to GoogleAuth.sign.
 */
export async function startSignBlobServer(opts: {
  email: string;
  accessToken: string;
  privateKey: KeyObject;
  delayMs?: number;
}): Promise<SignBlobServer> {
  const stats = { signed: 0, refused: [] as string[] };
  const handle = signBlobHandler(opts);
  const server = createServer((req, res) => {
    void readBody(req).then((body) => {
      const out = handle({
        host: req.headers.host ?? '',
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body,
      })!;
      if (out.status === 200) stats.signed++;
      else stats.refused.push(JSON.stringify(out.body));
      const send = () =>
        res.writeHead(out.status, { 'Content-Type': 'application/json' }).end(JSON.stringify(out.body));
      if (opts.delayMs) setTimeout(send, opts.delayMs);
      else send();
    });
  });
  server.keepAliveTimeout = 60_000;
  const port = await listen(server);
  return {
    endpoint: `http://127.0.0.1:${port}/v1/projects/-/serviceAccounts/`,
    stats,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface GoogleStandIns {
  metadata: MetadataStandIn;
  proxy: InterceptingProxy;
  /** The key the signBlob stand-in signs with (the runtime service account's, in the cloud). */
  publicKey: KeyObject;
  signBlob: SignBlobCheck;
  /** What a child process needs to run as on Cloud Run: the metadata server and the proxy. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * The metadata server and the intercepting proxy with a signBlob stand-in (its own RSA key) for
 * iamcredentials.googleapis.com and, for bigquery.googleapis.com, BigQuery's answer for a dataset that does
 * not exist (404 notFound): a request is recorded and checked, and nothing is ever run.
 */
export async function startGoogleStandIns(opts: { projectId?: string } = {}): Promise<GoogleStandIns> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const metadata = await startMetadataStandIn(opts.projectId ? { projectId: opts.projectId } : {});
  const signBlob: SignBlobCheck = { refused: [], signed: [] };
  const notFound = `Not found: Dataset ${metadata.projectId}`;
  const proxy = await startInterceptingProxy({
    'iamcredentials.googleapis.com': signBlobHandler({
      email: metadata.email,
      accessToken: metadata.accessToken,
      privateKey,
      check: signBlob,
    }),
    'bigquery.googleapis.com': () => ({
      status: 404,
      body: { error: { code: 404, message: notFound, errors: [{ reason: 'notFound', message: notFound }] } },
    }),
    // Cloud Healthcare API DICOMweb: an instance's metadata, for the runtime identity's token only.
    'healthcare.googleapis.com': (r) => {
      if (r.headers.authorization !== `Bearer ${metadata.accessToken}`) {
        return {
          status: 403,
          body: { error: { code: 403, message: 'The caller does not have permission' } },
        };
      }
      const m = /\/dicomWeb\/studies\/[\d.]+\/series\/[\d.]+\/instances\/([\d.]+)\/metadata$/.exec(r.path);
      if (!m) return undefined;
      return {
        status: 200,
        headers: { 'Content-Type': 'application/dicom+json' },
        body: [{ '00080018': { vr: 'UI', Value: [m[1]] } }],
      };
    },
  });
  return {
    metadata,
    proxy,
    publicKey,
    signBlob,
    env: { GCE_METADATA_HOST: metadata.host, METADATA_SERVER_DETECTION: 'assume-present', ...proxy.env },
    async stop() {
      await Promise.all([metadata.stop(), proxy.stop()]);
    },
  };
}
