/**
 * HTTP for the REST clients of Google APIs (Firestore reads and writes, Cloud Storage object reads, IAM
 * signBlob, BigQuery jobs) without their SDKs: one request with a size cap and a socket timeout, errors as gRPC
 * codes, kept-alive agents made on first use, and the access token of the instance (metadata server, else
 * Application Default Credentials, loaded only then).
 */
import type { Agent as HttpAgent, IncomingMessage } from 'node:http';

/** An error as the SDKs would raise it: a numeric gRPC `code`, so isStoreUnavailable understands it. */
export class GoogleRestError extends Error {
  override readonly name = 'GoogleRestError';
  readonly code: number;
  readonly httpStatus: number | undefined;
  constructor(message: string, code: number, httpStatus?: number, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
    this.httpStatus = httpStatus;
  }
}

// Not ES imports: the module facade of an ES `import ... from 'node:http'` loads undici (20-60 ms of a cold
// start, see shared/http/final-problem.ts), and node:https (TLS) is only needed off the emulator.
export const nodeHttp = () => process.getBuiltinModule('node:http');
export const nodeHttps = () => process.getBuiltinModule('node:https');

export const METADATA = 'http://169.254.169.254/computeMetadata/v1';
export const UNAVAILABLE = 14;
export const STATUS_CODES_BY_HTTP: Record<number, number> = {
  404: 5,
  429: 8,
  503: 14,
  504: 4,
  401: 16,
  403: 7,
};

export interface Response {
  status: number;
  body: string;
  /** The Metadata-Flavor response header: `Google` from a real metadata server. */
  flavor: string | undefined;
}

export function send(
  url: URL,
  method: 'GET' | 'POST' | 'DELETE',
  headers: Record<string, string>,
  body: string | undefined,
  agent: () => HttpAgent,
  maxBytes: number,
  timeoutMs?: number,
): Promise<Response> {
  const request = url.protocol === 'https:' ? nodeHttps().request : nodeHttp().request;
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: agent() }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > maxBytes) {
          req.destroy(new GoogleRestError(`response over ${maxBytes} bytes`, 8));
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => {
        const flavor = res.headers['metadata-flavor'];
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8'),
          flavor: typeof flavor === 'string' ? flavor : undefined,
        });
      });
      res.on('error', reject);
    });
    if (timeoutMs) req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.on('error', (err: Error & { code?: unknown }) =>
      reject(
        err instanceof GoogleRestError
          ? err
          : new GoogleRestError(`${url.host} unreachable: ${err.message}`, UNAVAILABLE, undefined, err),
      ),
    );
    req.end(body);
  });
}

/**
 * Opens a kept-alive connection to `base` before the first call needs it, so that a cold instance's TCP (and,
 * in the cloud, TLS) handshake happens while it starts: an unauthenticated `GET /`, whose answer (a 404 from
 * Google's front end, "Ok" from an emulator) is read and ignored, leaving its socket in `agent`'s free pool.
 * Nothing is billed or authorized; a failure is left for the first call to meet.
 */
export function preconnect(base: string, agent: () => HttpAgent): void {
  send(new URL('/', base), 'GET', {}, undefined, agent, 64 * 1024, 10_000).catch(() => undefined);
}

export type TokenSource = () => Promise<string>;

/** The metadata server's token (Cloud Functions, Cloud Run), else Application Default Credentials. */
export function cloudTokenSource(
  agent: () => HttpAgent,
  metadata: string,
  scope = 'https://www.googleapis.com/auth/cloud-platform',
): TokenSource {
  let token: { value: string; refreshAt: number } | undefined;
  let pending: Promise<string> | undefined;
  let adc: (() => Promise<string>) | undefined;
  const fromMetadata = async (): Promise<string> => {
    const url = new URL(`${metadata}/instance/service-accounts/default/token`);
    const res = await send(url, 'GET', { 'Metadata-Flavor': 'Google' }, undefined, agent, 1 << 20, 2000);
    if (res.status !== 200 || res.flavor !== 'Google')
      throw new Error(`metadata server token: HTTP ${res.status}`);
    const t = JSON.parse(res.body) as { access_token: string; expires_in: number };
    token = { value: t.access_token, refreshAt: Date.now() + (t.expires_in - 60) * 1000 };
    return t.access_token;
  };
  const fromAdc = async (): Promise<string> => {
    if (!adc) {
      const { GoogleAuth } = await import('google-auth-library');
      const auth = new GoogleAuth({ scopes: [scope] });
      adc = async () => {
        const t = await auth.getAccessToken();
        if (!t) throw new Error('Application Default Credentials gave no access token');
        return t;
      };
    }
    return adc();
  };
  return () => {
    if (token && Date.now() < token.refreshAt) return Promise.resolve(token.value);
    if (adc) return fromAdc();
    pending ??= fromMetadata()
      // No metadata server (off Google Cloud, or something else answering its address): Application Default
      // Credentials from here on (a key file, a gcloud login, or on Google Cloud the metadata server again).
      .catch(() => fromAdc())
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
}

export async function metadataProject(agent: () => HttpAgent, metadata: string): Promise<string> {
  const url = new URL(`${metadata}/project/project-id`);
  const res = await send(url, 'GET', { 'Metadata-Flavor': 'Google' }, undefined, agent, 1 << 16, 2000);
  if (res.status !== 200 || res.flavor !== 'Google')
    throw new Error(`metadata server project id: HTTP ${res.status}`);
  return res.body.trim();
}

/** Kept-alive HTTP agents for one API and the metadata server, made on first use (node:https only if asked). */
export function lazyAgents(base: string, proxyEnv: Record<string, string> = {}) {
  // As many idle sockets kept as may be open: a burst after a lull reuses them instead of reconnecting.
  // `proxyEnv` (HTTPS_PROXY / NO_PROXY, GoogleEnv): Node's own proxy support, for the API agent only.
  const agentOpts = {
    keepAlive: true,
    keepAliveMsecs: 30_000,
    maxSockets: 64,
    maxFreeSockets: 64,
    ...(Object.keys(proxyEnv).length > 0 ? { proxyEnv } : {}),
  };
  let apiAgent: HttpAgent | undefined;
  let metaAgent: HttpAgent | undefined;
  return {
    agent: () =>
      (apiAgent ??= base.startsWith('https:')
        ? new (nodeHttps().Agent)(agentOpts)
        : new (nodeHttp().Agent)(agentOpts)),
    metadataAgent: () => (metaAgent ??= new (nodeHttp().Agent)({ keepAlive: true, maxSockets: 4 })),
    destroy() {
      apiAgent?.destroy();
      metaAgent?.destroy();
    },
  };
}
