/**
 * The Firestore reads the labels function makes (documents:batchGet, one document GET, documents:runQuery),
 * over Firestore's REST API (v1, JSON) with node:http(s), which the framework has loaded already.
 *
 * Why not the SDK: @google-cloud/firestore takes 260-1,500 ms to import on a loaded 2-core machine (protos,
 * google-gax, gRPC), and `preferRest` still loads all of it plus google-auth-library, so the SDK alone costs
 * more than the framework's whole cold start. Three read calls and the value decoding are ~250 lines.
 * Writes (loads, uploads) keep the SDK (firestore-client.ts).
 *
 * Credentials: none against the emulator (it treats `Bearer owner` as admin, like the SDK sends); in the
 * cloud the access token of the instance's service account from the metadata server, refreshed a minute
 * before it expires; off Google Cloud (no metadata server), google-auth-library's Application Default
 * Credentials, loaded only then.
 */
import type { Agent as HttpAgent, IncomingMessage } from 'node:http';
import { fromRestValue, GRPC_CODES, type RestDocument } from './firestore-rest-value.ts';

export type { RestDocument } from './firestore-rest-value.ts';

export interface RestFirestoreOptions {
  /** Required with the emulator; in the cloud, default: the metadata server's project. */
  projectId?: string | undefined;
  databaseId?: string | undefined;
  /** `host:port` of the emulator: plain HTTP, no credentials. */
  emulatorHost?: string | undefined;
  /** Largest response body accepted, in bytes; default 64 MiB. */
  maxResponseBytes?: number;
  /** A request with no answer for this long is abandoned and its socket closed; default 60 s. */
  timeoutMs?: number;
  /** Tests: the Firestore endpoint and the metadata server (defaults: Google's). */
  endpoint?: string;
  metadataUrl?: string;
}

/** A document read back: its id and decoded fields. */
export interface RestDoc {
  id: string;
  fields: Record<string, unknown>;
}

export interface RestFirestore {
  /** Documents of `collection` by id (one round trip); absent ids are absent from the map. */
  batchGet(
    collection: string,
    ids: readonly string[],
    mask: readonly string[],
  ): Promise<Map<string, RestDoc>>;
  /** One document, or undefined when it does not exist. */
  get(collection: string, id: string, mask: readonly string[]): Promise<RestDoc | undefined>;
  /** `where field == integer` ordered by another field, ascending. */
  queryByInt(
    collection: string,
    where: { field: string; value: number },
    orderBy: string,
    select: readonly string[],
  ): Promise<RestDoc[]>;
  /** Drops idle connections (tests, shutdown). */
  close(): void;
}

/** A Firestore error as the SDK would raise it: a numeric gRPC `code`, so isStoreUnavailable understands it. */
export class FirestoreRestError extends Error {
  override readonly name = 'FirestoreRestError';
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
const nodeHttp = () => process.getBuiltinModule('node:http');
const nodeHttps = () => process.getBuiltinModule('node:https');

const METADATA = 'http://169.254.169.254/computeMetadata/v1';
const ENDPOINT = 'https://firestore.googleapis.com';
const UNAVAILABLE = 14;
const STATUS_CODES_BY_HTTP: Record<number, number> = { 404: 5, 429: 8, 503: 14, 504: 4, 401: 16, 403: 7 };

interface Response {
  status: number;
  body: string;
  /** The Metadata-Flavor response header: `Google` from a real metadata server. */
  flavor: string | undefined;
}

function send(
  url: URL,
  method: 'GET' | 'POST',
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
          req.destroy(new FirestoreRestError(`response over ${maxBytes} bytes`, 8));
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
        err instanceof FirestoreRestError
          ? err
          : new FirestoreRestError(`Firestore unreachable: ${err.message}`, UNAVAILABLE, undefined, err),
      ),
    );
    req.end(body);
  });
}

type TokenSource = () => Promise<string>;

/** The metadata server's token (Cloud Functions, Cloud Run), else Application Default Credentials. */
function cloudTokenSource(agent: () => HttpAgent, metadata: string): TokenSource {
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
      const auth = new GoogleAuth({ scopes: ['https://www.googleapis.com/auth/datastore'] });
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

async function metadataProject(agent: () => HttpAgent, metadata: string): Promise<string> {
  const url = new URL(`${metadata}/project/project-id`);
  const res = await send(url, 'GET', { 'Metadata-Flavor': 'Google' }, undefined, agent, 1 << 16, 2000);
  if (res.status !== 200 || res.flavor !== 'Google')
    throw new Error(`metadata server project id: HTTP ${res.status}`);
  return res.body.trim();
}

function toError(res: Response, what: string): FirestoreRestError {
  let status = '';
  let message = res.body.slice(0, 300);
  try {
    const e = (JSON.parse(res.body) as { error?: { status?: string; message?: string } }).error;
    status = e?.status ?? '';
    message = e?.message ?? message;
  } catch {
    // not JSON (a proxy's page): the HTTP status says enough
  }
  const code =
    GRPC_CODES[status] ?? STATUS_CODES_BY_HTTP[res.status] ?? (res.status >= 500 ? UNAVAILABLE : 2);
  return new FirestoreRestError(`${what}: HTTP ${res.status} ${status} ${message}`.trim(), code, res.status);
}

const docId = (name: string) => name.slice(name.lastIndexOf('/') + 1);
const docOf = (d: RestDocument): RestDoc => ({
  id: docId(d.name),
  fields: Object.fromEntries(Object.entries(d.fields ?? {}).map(([k, v]) => [k, fromRestValue(v)])),
});

/** A Firestore REST reader; create one per instance (it keeps its connections and token). */
export function createRestFirestore(opts: RestFirestoreOptions): RestFirestore {
  const emulator = opts.emulatorHost;
  const base = emulator ? `http://${emulator}` : (opts.endpoint ?? ENDPOINT);
  const metadata = opts.metadataUrl ?? METADATA;
  // As many idle sockets kept as may be open: a burst after a lull reuses them instead of reconnecting.
  const agentOpts = { keepAlive: true, keepAliveMsecs: 30_000, maxSockets: 64, maxFreeSockets: 64 };
  // Made on first use, so that creating the reader loads neither node:https (TLS) nor anything else.
  let firestoreAgent: HttpAgent | undefined;
  let metaAgent: HttpAgent | undefined;
  const agent = () =>
    (firestoreAgent ??= base.startsWith('https:')
      ? new (nodeHttps().Agent)(agentOpts)
      : new (nodeHttp().Agent)(agentOpts));
  const metadataAgent = () => (metaAgent ??= new (nodeHttp().Agent)({ keepAlive: true, maxSockets: 4 }));
  const maxBytes = opts.maxResponseBytes ?? 64 * 1024 * 1024;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const token: TokenSource = emulator ? async () => 'owner' : cloudTokenSource(metadataAgent, metadata);
  let project: Promise<string> | undefined;
  const projectId = () => {
    if (opts.projectId) return Promise.resolve(opts.projectId);
    project ??= metadataProject(metadataAgent, metadata).catch((err: unknown) => {
      project = undefined;
      throw new FirestoreRestError('no project id (set GOOGLE_CLOUD_PROJECT)', 9, undefined, err);
    });
    return project;
  };
  const database = opts.databaseId ?? '(default)';
  const root = async () => `projects/${await projectId()}/databases/${database}/documents`;

  const call = async (method: 'GET' | 'POST', path: string, body: unknown) => {
    const headers: Record<string, string> = { authorization: `Bearer ${await token()}` };
    const json = body === undefined ? undefined : JSON.stringify(body);
    if (json !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(json));
    }
    const url = new URL(`${base}/v1/${path}`);
    // A kept-alive socket the server has just closed fails at once: one retry on a fresh one.
    let res: Response;
    try {
      res = await send(url, method, headers, json, agent, maxBytes, timeoutMs);
    } catch (err) {
      if ((err as FirestoreRestError).code !== UNAVAILABLE) throw err;
      res = await send(url, method, headers, json, agent, maxBytes, timeoutMs);
    }
    return res;
  };

  return {
    async batchGet(collection, ids, mask) {
      const r = await root();
      const res = await call('POST', `${r}:batchGet`, {
        documents: ids.map((id) => `${r}/${collection}/${id}`),
        mask: { fieldPaths: mask },
      });
      if (res.status !== 200) throw toError(res, 'Firestore batchGet');
      const found = new Map<string, RestDoc>();
      for (const item of JSON.parse(res.body) as { found?: RestDocument }[]) {
        if (item.found) {
          const d = docOf(item.found);
          found.set(d.id, d);
        }
      }
      return found;
    },

    async get(collection, id, mask) {
      const r = await root();
      const q = mask.map((f) => `mask.fieldPaths=${encodeURIComponent(f)}`).join('&');
      const res = await call('GET', `${r}/${collection}/${encodeURIComponent(id)}?${q}`, undefined);
      if (res.status === 404) return undefined;
      if (res.status !== 200) throw toError(res, 'Firestore get');
      return docOf(JSON.parse(res.body) as RestDocument);
    },

    async queryByInt(collection, where, orderBy, select) {
      const r = await root();
      const structuredQuery = {
        from: [{ collectionId: collection }],
        where: {
          fieldFilter: {
            field: { fieldPath: where.field },
            op: 'EQUAL',
            value: { integerValue: String(where.value) },
          },
        },
        orderBy: [{ field: { fieldPath: orderBy }, direction: 'ASCENDING' }],
        select: { fields: select.map((fieldPath) => ({ fieldPath })) },
      };
      const res = await call('POST', `${r}:runQuery`, { structuredQuery });
      if (res.status !== 200) throw toError(res, 'Firestore runQuery');
      const out: RestDoc[] = [];
      for (const item of JSON.parse(res.body) as { document?: RestDocument }[]) {
        if (item.document) out.push(docOf(item.document));
      }
      return out;
    },

    close() {
      firestoreAgent?.destroy();
      metaAgent?.destroy();
    },
  };
}
