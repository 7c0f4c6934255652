/**
 * What the Firestore REST reader (shared/labels/firestore-rest.ts) and writer (firestore-rest-tx.ts) share: an
 * error answer turned into a GoogleRestError with its gRPC code, and the project id (configured, else the
 * metadata server's).
 */
import type { Agent as HttpAgent } from 'node:http';
import { GRPC_CODES } from './firestore-rest-value.ts';
import {
  GoogleRestError,
  metadataProject,
  type Response,
  STATUS_CODES_BY_HTTP,
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
