/**
 * The IAM path's BlobSigner without google-auth-library on Google Cloud: the runtime service account's e-mail
 * and token from the metadata server, and one IAM Credentials `signBlob` call per signature over node:https.
 * Why: loading google-auth-library and its gaxios stack, then asking the metadata server through it, was
 * most of a cold signer's first answer (timed in a fresh process against the bench's stand-ins: import 40-48
 * ms, e-mail 36-45 ms, first signature 25-30 ms; node:https alone loads in ~8 ms and the metadata server
 * answers in a few); the signatures are the same bytes either way. Off Google Cloud (no metadata server), or with GOOGLE_APPLICATION_CREDENTIALS
 * set, Application Default Credentials decide as before: `fallback`, google-auth-library's GoogleAuth.
 */
import type { Agent as HttpAgent } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { type GoogleEnv, googleAgents } from '../google/google-env.ts';
import { cloudTokenSource, preconnect, send, UNAVAILABLE } from '../google/rest-http.ts';
import type { BlobSigner } from './iam-signer.ts';

export const IAM_CREDENTIALS_ENDPOINT = 'https://iamcredentials.googleapis.com';
const MAX_RETRIES = 3;

export interface CloudBlobSignerOptions {
  google: GoogleEnv;
  /** Application Default Credentials (google-auth-library), used off Google Cloud or with a key file. */
  fallback: () => BlobSigner;
  /** https://iamcredentials.googleapis.com unless a test serves the API. */
  endpoint?: string;
  backoffMs?: (n: number) => number;
}

async function metadataEmail(agent: () => HttpAgent, metadataUrl: string): Promise<string> {
  const url = new URL(`${metadataUrl}/instance/service-accounts/default/email`);
  const res = await send(url, 'GET', { 'Metadata-Flavor': 'Google' }, undefined, agent, 1 << 16, 2000);
  if (res.status !== 200 || res.flavor !== 'Google')
    throw new Error(`metadata server e-mail: HTTP ${res.status}`);
  return res.body.trim();
}

/** The IAM Credentials API's error message (e.g. a missing Token Creator role), else the HTTP status. */
function signBlobError(status: number, body: string): Error & { status: number } {
  let message = `IAM signBlob answered HTTP ${status}`;
  try {
    const m = (JSON.parse(body) as { error?: { message?: string } }).error?.message;
    if (m) message = `${message}: ${m}`;
  } catch {
    // not JSON: the status says enough
  }
  return Object.assign(new Error(message), { status });
}

const retryable = (err: unknown) => {
  const e = err as { status?: number; code?: unknown };
  return e.code === UNAVAILABLE || e.status === 429 || (e.status !== undefined && e.status >= 500);
};

/**
 * A BlobSigner for the runtime identity: metadata server and IAM signBlob over REST, or `fallback` for good
 * when there is no metadata server. `warm()` starts fetching the e-mail and the token without waiting and,
 * with a runtime identity, opens a connection to IAM (preconnect).
 */
export function createCloudBlobSigner(o: CloudBlobSignerOptions): BlobSigner & { warm(): void } {
  const endpoint = (o.endpoint ?? IAM_CREDENTIALS_ENDPOINT).replace(/\/$/, '');
  const { agent, metadataAgent } = googleAgents(endpoint, o.google);
  const token = cloudTokenSource(metadataAgent, o.google.metadataUrl);
  const wait = o.backoffMs ?? ((n: number) => 2 ** n * 100 + Math.random() * 100);
  // undefined = not known yet; null = no metadata server (or a key file): Application Default Credentials.
  let identity: Promise<string | null> | undefined = o.google.keyFile ? Promise.resolve(null) : undefined;
  const who = () => (identity ??= metadataEmail(metadataAgent, o.google.metadataUrl).catch(() => null));
  let fallback: BlobSigner | undefined;
  const adc = () => (fallback ??= o.fallback());

  const signOnce = async (email: string, payload: string): Promise<string> => {
    const url = new URL(`${endpoint}/v1/projects/-/serviceAccounts/${encodeURIComponent(email)}:signBlob`);
    const body = JSON.stringify({ payload });
    const headers = {
      authorization: `Bearer ${await token()}`,
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
    };
    const res = await send(url, 'POST', headers, body, agent, 1 << 20, 30_000);
    if (res.status !== 200) throw signBlobError(res.status, res.body);
    const signed = (JSON.parse(res.body) as { signedBlob?: unknown }).signedBlob;
    if (typeof signed !== 'string') throw new Error('IAM signBlob answered without a signedBlob');
    return signed;
  };

  return {
    async sign(data) {
      const email = await who();
      if (email === null) return adc().sign(data);
      const payload = Buffer.from(data, 'utf8').toString('base64');
      for (let n = 0; ; n++) {
        try {
          return await signOnce(email, payload);
        } catch (err) {
          if (n >= MAX_RETRIES || !retryable(err)) throw err;
          await sleep(wait(n));
        }
      }
    },
    async getCredentials() {
      const email = await who();
      return email === null ? adc().getCredentials() : { client_email: email };
    },
    warm() {
      // With a runtime identity: its token, and a kept-alive connection (TLS) to IAM opened by the API's agent
      // (node:https loaded now rather than inside the first signature). Without one nothing is sent to IAM.
      void who().then((email) => {
        if (email === null) return;
        preconnect(endpoint, agent);
        return token().catch(() => undefined);
      });
    },
  };
}
