/**
 * Child-process entry of scripts/emulators/storage.ts: runs firebase-tools' Cloud Storage emulator (its Node
 * part: the GCS JSON API) in this process and forwards every `finalize` it performs to the parent over IPC as
 * a `google.cloud.storage.object.v1.finalized` CloudEvent, built by the emulator's own CloudEvent builder.
 *
 * Two adaptations, both because this runs without the firebase CLI:
 * - the Storage *rules* runtime (a downloaded JVM jar that needs Java 21) is not started; the GCS JSON API
 *   used by @google-cloud/storage goes through the emulator's admin layer, which never consults rules;
 * - the 130 MB request-body limit of the emulator's routes is raised, so that tests can upload large objects.
 * The process exits when its parent disconnects (the parent died), so it never outlives it.
 */

import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';

interface CloudEventBody {
  specversion: string;
  id: string;
  type: string;
  source: string;
  time: string;
  data: { name: string; bucket: string };
}

interface EmulatorInternals {
  start(): Promise<void>;
  stop(): Promise<void>;
  reset(): void;
  _rulesRuntime: { start(): Promise<void>; stop(): Promise<void> };
  _rulesManager: { start(): Promise<unknown>; stop(): Promise<void> };
  _cloudFunctions: {
    dispatch(action: string, object: unknown): Promise<void>;
    createCloudEventRequestBody(action: string, object: unknown): CloudEventBody;
  };
  getName(): string;
}

export type ChildMessage =
  | { type: 'ready'; port: number }
  | { type: 'event'; seq: number; event: CloudEventBody & { subject: string } }
  | { type: 'pong'; id: number; emitted: number }
  | { type: 'failed'; message: string };

export type ParentMessage = { type: 'ping'; id: number } | { type: 'reset' } | { type: 'stop' };

const MAX_BODY = '2gb';
const REWRITE = /^\/storage\/v1\/b\/[^/]+\/o\/[^/]+\/(rewriteTo|copyTo)\/b\//;
/** Cloud Storage refuses an object name over 1024 UTF-8 bytes (HTTP 400); the emulator does not by itself. */
const MAX_NAME_BYTES = 1024;
const OBJECT_IN_PATH = /\/o\/([^/?]+)/g;

/** The object names a request addresses: path segments after `/o/` and the `name` query parameter. */
function objectNames(url: string): string[] {
  const [path = '', query = ''] = url.split('?', 2);
  const names = [...path.matchAll(OBJECT_IN_PATH)].map((m) => m[1]!);
  const q = new URLSearchParams(query).get('name');
  const out = q === null ? [] : [q];
  for (const n of names) {
    try {
      out.push(decodeURIComponent(n));
    } catch {
      out.push(n);
    }
  }
  return out;
}

interface Listenable {
  listen(...args: unknown[]): { keepAliveTimeout: number; headersTimeout: number };
}

type Handler = (req: { url: string }, res: unknown, next: () => void) => void;

function send(msg: ChildMessage): void {
  process.send?.(msg);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

/**
 * The firebase-tools internals patched before the emulator is built: a larger body limit, Cloud Storage's
 * object-name limit, copy/rewrite under /storage/v1, and long keep-alive.
 */
function patchFirebase(fbReq: NodeJS.Require): void {
  // The routes call bodyParser.raw({limit: '130mb'}) when the app is built; raise the limit first.
  const bodyParser = fbReq('body-parser') as { raw: (o: Record<string, unknown>) => unknown };
  const raw = bodyParser.raw;
  Object.defineProperty(bodyParser, 'raw', {
    configurable: true,
    enumerable: true,
    value: (o: Record<string, unknown>) => raw({ ...o, limit: MAX_BODY }),
  });

  // The emulator serves copy/rewrite only at /b/..., while @google-cloud/storage calls /storage/v1/b/...
  const gcloud = fbReq('./gcloud.js') as { createCloudEndpoints: (e: unknown) => Handler };
  const express = fbReq('express') as { Router: () => Handler & { use(h: Handler): void } };
  const endpoints = gcloud.createCloudEndpoints;
  gcloud.createCloudEndpoints = (e) => {
    const router = express.Router();
    router.use((req, res, next) => {
      if (objectNames(req.url).some((n) => Buffer.byteLength(n, 'utf8') > MAX_NAME_BYTES)) {
        const message = 'The specified object name is not valid.';
        (res as { status(n: number): { json(b: unknown): void } })
          .status(400)
          .json({ error: { code: 400, message, errors: [{ reason: 'invalid', message }] } });
        return;
      }
      if (REWRITE.test(req.url)) req.url = req.url.slice('/storage/v1'.length);
      next();
    });
    router.use(endpoints(e));
    return router;
  };

  // Node's default 5 s keep-alive timeout lets the server close sockets that clients still pool, which
  // surfaces as random "socket hang up" errors; Cloud Storage keeps idle connections far longer.
  const server = fbReq('../server.js') as { createApp: (...a: unknown[]) => Promise<Listenable> };
  const createApp = server.createApp;
  server.createApp = async (...a) => {
    const app = await createApp(...a);
    const listen = app.listen.bind(app);
    app.listen = (...l: unknown[]) => {
      const srv = listen(...l);
      srv.keepAliveTimeout = 10 * 60_000;
      srv.headersTimeout = 10 * 60_000 + 1000;
      return srv;
    };
    return app;
  };
}

async function main(): Promise<void> {
  const req = createRequire(import.meta.url);
  const fbRoot = dirname(req.resolve('firebase-tools/package.json'));
  const fbReq = createRequire(join(fbRoot, 'lib/emulator/storage/apis/gcloud.js'));

  patchFirebase(fbReq);

  const { StorageEmulator } = fbReq('../index.js') as {
    StorageEmulator: new (args: Record<string, unknown>) => EmulatorInternals;
  };
  const { EmulatorRegistry } = fbReq('../../registry.js') as {
    EmulatorRegistry: { start(e: EmulatorInternals): Promise<void>; stop(name: string): Promise<void> };
  };

  const projectId = process.env.STORAGE_EMULATOR_PROJECT ?? 'demo-nih-cxr';
  const port = Number(process.env.STORAGE_EMULATOR_PORT) || (await freePort());
  const emulator = new StorageEmulator({ projectId, host: '127.0.0.1', port, auto_download: false });
  emulator._rulesRuntime.start = async () => {};
  emulator._rulesRuntime.stop = async () => {};
  emulator._rulesManager.start = async () => undefined;
  emulator._rulesManager.stop = async () => {};

  let emitted = 0;
  const functions = emulator._cloudFunctions;
  functions.dispatch = async (action, object) => {
    if (action !== 'finalize') return;
    const body = functions.createCloudEventRequestBody(action, object);
    // Eventarc sets `subject: objects/<name>` on Cloud Storage events; the emulator's builder does not.
    send({ type: 'event', seq: ++emitted, event: { ...body, subject: `objects/${body.data.name}` } });
  };

  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    try {
      await EmulatorRegistry.stop(emulator.getName());
    } finally {
      process.exit(code);
    }
  };

  process.on('message', (msg: ParentMessage) => {
    if (msg.type === 'ping') send({ type: 'pong', id: msg.id, emitted });
    else if (msg.type === 'reset') emulator.reset();
    else if (msg.type === 'stop') void stop(0);
  });
  process.on('disconnect', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  process.on('SIGINT', () => void stop(0));

  await EmulatorRegistry.start(emulator);
  send({ type: 'ready', port });
}

main().catch((err: unknown) => {
  send({ type: 'failed', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exit(1);
});
