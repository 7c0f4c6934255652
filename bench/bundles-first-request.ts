/**
 * The other side of lazy loading, for `npm run bench -- bundles`: a bundle that imports its SDKs on first use
 * starts faster and pays for them in its first request. This times what Cloud Run does on a cold start: start
 * the functions-framework CLI on the bundle (ready = it listens), then send the first request, one that needs
 * the SDK (first answer = ms from spawn to the response). Local emulators stand in for Firestore and Cloud
 * Storage, so their network round trips are loopback ones; BigQuery and IAM signBlob have no emulator, so
 * local stand-ins answer them (test/harness/google-stand-ins.ts: a metadata server, and a TLS-intercepting
 * proxy for *.googleapis.com), reached by the client libraries' own cloud code paths.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type FirestoreEmulator, freePort, startFirestoreEmulator } from '../scripts/emulators/firestore.ts';
import {
  cloudEventRequest,
  type StorageCloudEvent,
  type StorageEmulator,
  startStorageEmulator,
} from '../scripts/emulators/storage.ts';
import { REPO_ROOT } from '../scripts/function-folders.ts';
import { serveFolder } from '../test/harness/bundles.ts';
import { type GoogleStandIns, startGoogleStandIns } from '../test/harness/google-stand-ins.ts';
import { makePng } from '../test/uploads/fixtures.ts';

export interface Scenario {
  /** Bundle folder (functions/<folder>), or `noop` / `noop-mjs` for the framework alone. */
  folder: string;
  name: string;
  /** Added to (and overriding) the bundle's deployed sample environment. */
  env: Record<string, string>;
  /** Runs before the process starts (untimed), e.g. to stage the object an event names. */
  prepare?: () => Promise<void>;
  /** The first request; resolves to the HTTP status. */
  request: (url: string) => Promise<number>;
  /** Statuses that count as the intended answer. */
  expect: number[];
}

export interface ColdStart {
  readyMs: number;
  firstMs: number;
  status: number;
}

const json = (body: unknown) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});
const statusOf = async (res: Promise<Response>) => {
  const r = await res;
  await r.arrayBuffer();
  return r.status;
};

/** Links `node_modules/<pkg>` of `dir` to the repository's, for each package: what the Cloud build installs. */
export function seal(dir: string, packages: readonly string[]): void {
  for (const pkg of packages) {
    const link = join(dir, 'node_modules', pkg);
    mkdirSync(join(link, '..'), { recursive: true });
    symlinkSync(join(REPO_ROOT, 'node_modules', pkg), link, 'dir');
  }
}

/**
 * A bundle-shaped folder whose function only answers: the framework's own start-up, for comparison. Its entry
 * is `index.js` as in a hand-written function (the baseline), or `index.mjs` as in our bundles, for which the
 * framework skips importing read-package-up (scripts/build.ts, ENTRY_FILE).
 */
export function noopBundle(dir: string, entry: 'index.js' | 'index.mjs' = 'index.js'): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), `{"type":"module","main":"${entry}"}\n`);
  writeFileSync(
    join(dir, entry),
    "import { http } from '@google-cloud/functions-framework';\nhttp('noop', (_req, res) => res.send('ok'));\n",
  );
  seal(dir, ['@google-cloud/functions-framework']);
  return dir;
}

/** Starts the functions-framework CLI of `dir` on `target`, times ready and the first answer, stops it. */
export async function coldStart(
  dir: string,
  target: string,
  env: Record<string, string>,
  request: (url: string) => Promise<number>,
): Promise<ColdStart> {
  const port = await freePort();
  const t0 = performance.now();
  const served = await serveFolder(dir, target, env, { port, timeoutMs: 60_000 });
  try {
    const readyMs = performance.now() - t0;
    const status = await request(served.url);
    return { readyMs, firstMs: performance.now() - t0, status };
  } finally {
    await served.stop();
  }
}

export interface Backends {
  firestore?: FirestoreEmulator;
  storage?: StorageEmulator;
  /** Why a backend is missing. */
  problems: string[];
  /** Uploads a fresh PNG to the uploads bucket and returns its finalized event. */
  nextUpload?: () => Promise<StorageCloudEvent>;
  /** Metadata server, signBlob and BigQuery stand-ins behind a TLS-intercepting proxy. */
  google: GoogleStandIns;
  stop(): Promise<void>;
}

const BUCKET = 'nih-cxr-bench-uploads';

/** Starts the emulators the scenarios use; a backend that cannot start is reported, not fatal. */
export async function startBackends(): Promise<Backends> {
  const problems: string[] = [];
  let firestore: FirestoreEmulator | undefined;
  try {
    firestore = await startFirestoreEmulator();
  } catch (err) {
    problems.push(`Firestore emulator: ${(err as Error).message.split('\n')[0]}`);
  }
  let storage: StorageEmulator | undefined;
  const events: StorageCloudEvent[] = [];
  try {
    storage = await startStorageEmulator({ bucket: BUCKET, onFinalize: (e) => void events.push(e) });
  } catch (err) {
    problems.push(`Storage emulator: ${(err as Error).message.split('\n')[0]}`);
  }
  const google = await startGoogleStandIns({ projectId: 'nih-cxr-test' });
  let nextUpload: Backends['nextUpload'];
  if (storage) {
    const { Storage } = await import('@google-cloud/storage');
    const client = new Storage({ apiEndpoint: storage.host, projectId: storage.projectId });
    await client.createBucket(BUCKET).catch(() => {});
    const emulator = storage;
    let n = 0;
    nextUpload = async () => {
      n++;
      await client
        .bucket(BUCKET)
        .file(`bench/${n}.png`)
        .save(makePng(), { resumable: false, contentType: 'image/png' });
      await emulator.settled();
      const event = events.findLast((e) => (e.data as { name?: string }).name === `bench/${n}.png`);
      if (!event) throw new Error(`no finalized event for bench/${n}.png`);
      return event;
    };
  }
  return {
    ...(firestore ? { firestore } : {}),
    ...(storage ? { storage } : {}),
    ...(nextUpload ? { nextUpload } : {}),
    problems,
    google,
    async stop() {
      await Promise.all([firestore?.stop(), storage?.stop(), google.stop()]);
    },
  };
}

/** The scenarios, in print order; those whose backend is missing are left out (and named in `problems`). */
export function scenarios(b: Backends): Scenario[] {
  const list: Scenario[] = [
    {
      folder: 'noop',
      name: 'framework alone: GET /',
      env: {},
      request: (u) => statusOf(fetch(u)),
      expect: [200],
    },
    {
      folder: 'noop-mjs',
      name: 'framework alone, index.mjs entry: GET /',
      env: {},
      request: (u) => statusOf(fetch(u)),
      expect: [200],
    },
    {
      folder: 'labels',
      name: 'labels: GET /v1/attribution (no Firestore)',
      env: {},
      request: (u) => statusOf(fetch(`${u}/v1/attribution`)),
      expect: [200],
    },
  ];
  const fsEnv = b.firestore
    ? { FIRESTORE_EMULATOR_HOST: b.firestore.host, GOOGLE_CLOUD_PROJECT: b.firestore.projectId }
    : undefined;
  if (fsEnv) {
    list.push({
      folder: 'labels',
      name: 'labels: POST images:batchGet (Firestore emulator)',
      env: fsEnv,
      request: (u) => statusOf(fetch(`${u}/v1/images:batchGet`, json({ imageIds: ['00000001_000'] }))),
      expect: [200],
    });
  }
  list.push(
    {
      folder: 'cohorts',
      name: 'cohorts: POST cohorts:query (BigQuery stand-in: dataset not found)',
      env: b.google.env,
      request: (u) => statusOf(fetch(`${u}/v1/cohorts:query`, json({ filter: {} }))),
      // The stand-in answers BigQuery's 404 for a missing dataset, which the store reports as a 503.
      expect: [503],
    },
    {
      folder: 'signer',
      name: 'signer: POST images:signUrls (IAM, signBlob stand-in)',
      env: { SIGNER: 'iam', ...b.google.env },
      request: (u) => statusOf(fetch(`${u}/v1/images:signUrls`, json({ imageIds: ['00000001_000'] }))),
      expect: [200],
    },
    {
      folder: 'signer',
      name: 'signer: POST images:signUrls (HMAC, no SDK)',
      env: { SIGNER: 'hmac', HMAC_ACCESS_ID: 'GOOG1EBENCHACCESSID', HMAC_SECRET: 'bench-secret-0123456789' },
      request: (u) => statusOf(fetch(`${u}/v1/images:signUrls`, json({ imageIds: ['00000001_000'] }))),
      expect: [200],
    },
  );
  const next = b.nextUpload;
  if (fsEnv && b.storage && next) {
    let event: StorageCloudEvent | undefined;
    list.push({
      folder: 'uploads',
      name: 'uploads: a PNG finalized (Storage + Firestore emulators)',
      env: { ...fsEnv, STORAGE_EMULATOR_HOST: b.storage.host, UPLOADS_BUCKET: BUCKET },
      prepare: async () => {
        event = await next();
      },
      request: async (u) => {
        if (!event) throw new Error('prepare() did not run');
        return statusOf(fetch(u, cloudEventRequest(event)));
      },
      expect: [200, 204],
    });
  }
  return list;
}
