/**
 * What the Firestore REST reader (shared/labels/firestore-rest.ts) and writer (firestore-rest-tx.ts) share:
 * one connection (endpoint or emulator, kept-alive agents, the token, the project) with a call that retries
 * once on a socket the server had just closed, an error answer turned into a GoogleRestError with its gRPC
 * code, and the project id (configured, else the metadata server's).
 *
 * Credentials: `Bearer owner` against the emulator (admin, as the SDK sends); in the cloud the instance's token
 * from the metadata server, else Application Default Credentials; with `google` (GoogleEnv, read once at
 * start-up) GCE_METADATA_HOST's metadata server, a GOOGLE_APPLICATION_CREDENTIALS key file first, and
 * HTTPS_PROXY / NO_PROXY for firestore.googleapis.com (never for the emulator).
 */
import type { Agent as HttpAgent } from 'node:http';
import { GRPC_CODES } from './firestore-rest-value.ts';
import { apiTokenSource, type GoogleEnv } from './google-env.ts';
import {
  GoogleRestError,
  lazyAgents,
  METADATA,
  metadataProject,
  preconnect,
  type Response,
  STATUS_CODES_BY_HTTP,
  send,
  type TokenSource,
  UNAVAILABLE,
} from './rest-http.ts';

export function toError(res: Response, what: string): GoogleRestError {
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
  return new GoogleRestError(`${what}: HTTP ${res.status} ${status} ${message}`.trim(), code, res.status);
}

/** The configured project, else the metadata server's (asked once; a failure is asked again next time). */
export function projectSource(configured: string | undefined, agent: () => HttpAgent, metadata: string) {
  let project: Promise<string> | undefined;
  return (): Promise<string> => {
    if (configured) return Promise.resolve(configured);
    project ??= metadataProject(agent, metadata).catch((err: unknown) => {
      project = undefined;
      throw new GoogleRestError('no project id (set GOOGLE_CLOUD_PROJECT)', 9, undefined, err);
    });
    return project;
  };
}

const ENDPOINT = 'https://firestore.googleapis.com';
const SCOPE = 'https://www.googleapis.com/auth/datastore';

export interface FirestoreConnectionOptions {
  /** Required with the emulator; in the cloud, default: the metadata server's project. */
  projectId?: string | undefined;
  databaseId?: string | undefined;
  /** `host:port` of the emulator: plain HTTP, no credentials. */
  emulatorHost?: string | undefined;
  /** Largest response body accepted, in bytes; default 64 MiB. */
  maxResponseBytes?: number;
  /** A request with no answer for this long is abandoned and its socket closed; default 60 s. */
  timeoutMs?: number;
  /** Metadata server, key file and proxy (loadGoogleEnv() at start-up); default: none of them set. */
  google?: GoogleEnv | undefined;
  /** Tests: the Firestore endpoint and the metadata server (defaults: Google's, or google.metadataUrl). */
  endpoint?: string;
  metadataUrl?: string;
}

/** One Firestore REST connection; create one per client (it keeps its sockets, token and project). */
export function firestoreConnection(opts: FirestoreConnectionOptions) {
  const emulator = opts.emulatorHost;
  const base = emulator ? `http://${emulator}` : (opts.endpoint ?? ENDPOINT);
  const g = opts.google;
  const metadata = opts.metadataUrl ?? g?.metadataUrl ?? METADATA;
  const agents = lazyAgents(base, emulator ? {} : g?.proxyEnv);
  const maxBytes = opts.maxResponseBytes ?? 64 * 1024 * 1024;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const token: TokenSource = emulator
    ? async () => 'owner'
    : apiTokenSource(g, metadata, agents.metadataAgent, SCOPE);
  const projectId = projectSource(opts.projectId, agents.metadataAgent, metadata);
  /** `projects/<project>/databases/<database>`. */
  const database = async () => `projects/${await projectId()}/databases/${opts.databaseId ?? '(default)'}`;

  /** One request to `<base>/v1/<path>`, JSON body if any; the answer whatever its status. */
  const call = async (method: 'GET' | 'POST', path: string, body: unknown): Promise<Response> => {
    const headers: Record<string, string> = { authorization: `Bearer ${await token()}` };
    const json = body === undefined ? undefined : JSON.stringify(body);
    if (json !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(json));
    }
    const url = new URL(`${base}/v1/${path}`);
    // A kept-alive socket the server has just closed fails at once: one retry on a fresh one. (A commit that
    // did reach Firestore cannot apply twice: its transaction is spent; a plain update is idempotent.)
    try {
      return await send(url, method, headers, json, agents.agent, maxBytes, timeoutMs);
    } catch (err) {
      if ((err as GoogleRestError).code !== UNAVAILABLE) throw err;
      return send(url, method, headers, json, agents.agent, maxBytes, timeoutMs);
    }
  };
  // The project, the token and a connection on their way before the first call needs them (issue 15).
  const warm = () => {
    preconnect(base, agents.agent);
    void Promise.all([database(), token()]).catch(() => undefined);
  };
  return { call, database, warm, close: () => agents.destroy() };
}
