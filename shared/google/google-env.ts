/**
 * Where the SDK-free Google clients (BigQuery jobs, IAM signBlob) find the instance's identity and the
 * network, read once at start-up from the variables the client libraries honour themselves:
 * GCE_METADATA_HOST (the metadata server; Cloud Run's link-local address when unset), HTTPS_PROXY / NO_PROXY
 * (gaxios honours them, so do we, through Node's own proxy support in the agent), and
 * GOOGLE_APPLICATION_CREDENTIALS (a key file comes first in Application Default Credentials, before the
 * metadata server, as in google-auth-library).
 */
import type { Agent as HttpAgent } from 'node:http';
import * as z from 'zod';
import { envString, loadConfig } from '../config.ts';
import { cloudTokenSource, lazyAgents, METADATA, type TokenSource } from './rest-http.ts';

export const GoogleEnvSchema = z
  .object({
    /** host:port of the metadata server (google-auth-library's variable); tests point it at a stand-in. */
    GCE_METADATA_HOST: envString().refine(
      (v) => v === undefined || /^(?:\[[\da-fA-F:]+\]|[\w.-]+)(?::\d{1,5})?$/.test(v),
      { message: 'must be host or host:port' },
    ),
    HTTPS_PROXY: envString(),
    https_proxy: envString(),
    NO_PROXY: envString(),
    no_proxy: envString(),
    GOOGLE_APPLICATION_CREDENTIALS: envString(),
  })
  .transform((e) => ({
    metadataUrl: e.GCE_METADATA_HOST ? `http://${e.GCE_METADATA_HOST}/computeMetadata/v1` : METADATA,
    /** Only the proxy variables, as Node's agent `proxyEnv` option reads them. */
    proxyEnv: Object.fromEntries(
      (['HTTPS_PROXY', 'https_proxy', 'NO_PROXY', 'no_proxy'] as const).flatMap((k) =>
        e[k] === undefined ? [] : [[k, e[k]]],
      ),
    ) as Record<string, string>,
    keyFile: e.GOOGLE_APPLICATION_CREDENTIALS,
  }));
export type GoogleEnv = z.output<typeof GoogleEnvSchema>;

export function loadGoogleEnv(env: Record<string, string | undefined> = process.env): GoogleEnv {
  return loadConfig(GoogleEnvSchema, env);
}

/**
 * A kept-alive agent for one Google API (through HTTPS_PROXY when set, as the SDKs go) and one for the
 * metadata server (never proxied: it is link-local), each made on first use.
 */
export function googleAgents(base: string, g: Pick<GoogleEnv, 'proxyEnv'>) {
  return lazyAgents(base, g.proxyEnv);
}

/** Application Default Credentials through google-auth-library, loaded only when first asked. */
export function adcTokenSource(scope: string): TokenSource {
  let auth: Promise<{ getAccessToken(): Promise<string | null | undefined> }> | undefined;
  return async () => {
    auth ??= import('google-auth-library').then(({ GoogleAuth }) => new GoogleAuth({ scopes: [scope] }));
    const a = await auth.catch((err: unknown) => {
      auth = undefined;
      throw err;
    });
    const t = await a.getAccessToken();
    if (!t) throw new Error('Application Default Credentials gave no access token');
    return t;
  };
}

/**
 * The instance's access token in the order of Application Default Credentials: a key file when
 * GOOGLE_APPLICATION_CREDENTIALS names one, else the metadata server (no SDK loaded), else ADC again.
 */
export function googleTokenSource(
  g: GoogleEnv,
  metadataAgent: () => HttpAgent,
  scope = 'https://www.googleapis.com/auth/cloud-platform',
): TokenSource {
  return g.keyFile ? adcTokenSource(scope) : cloudTokenSource(metadataAgent, g.metadataUrl, scope);
}

/**
 * The token a REST client sends off the emulator: googleTokenSource with `g` (its metadata server replaced by
 * `metadataUrl`), else the metadata server at `metadataUrl`, else ADC (cloudTokenSource).
 */
export function apiTokenSource(
  g: GoogleEnv | undefined,
  metadataUrl: string,
  metadataAgent: () => HttpAgent,
  scope: string,
): TokenSource {
  return g
    ? googleTokenSource({ ...g, metadataUrl }, metadataAgent, scope)
    : cloudTokenSource(metadataAgent, metadataUrl, scope);
}
