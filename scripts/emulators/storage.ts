/**
 * Starts firebase-tools' Cloud Storage emulator (pinned devDependency, no firebase CLI and no Java needed) in
 * a child process on a free port, for tests, benchmarks and the local server. @google-cloud/storage talks to
 * it with `apiEndpoint: host` (or STORAGE_EMULATOR_HOST=host). Every object the emulator finalizes (upload,
 * copy, rewrite) becomes a `google.cloud.storage.object.v1.finalized` CloudEvent handed to `onFinalize`, with
 * optional retries, as Eventarc would deliver it. The child exits when this process goes away.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildMessage, ParentMessage } from './storage-child.ts';

/** A Cloud Storage CloudEvent in structured form; `data` is the object resource (unchecked). */
export interface StorageCloudEvent {
  specversion: string;
  id: string;
  type: string;
  source: string;
  subject: string;
  time: string;
  data: unknown;
}

export type FinalizeHandler = (event: StorageCloudEvent) => unknown;

export interface StorageEmulatorOptions {
  /** Default: a free port. */
  port?: number;
  /** Default: `demo-nih-cxr`. */
  projectId?: string;
  /** Only deliver events for objects in this bucket (default: every bucket). */
  bucket?: string;
  /** Receives each finalized event; a throw or rejection counts as a failed delivery. */
  onFinalize?: FinalizeHandler;
  /** Redelivery of failed events, like an Eventarc trigger with a retry policy. Default: 1 attempt. */
  retry?: { attempts: number; backoffMs: number };
  /** Called once per event whose every attempt failed. */
  onDeliveryFailure?: (event: StorageCloudEvent, error: unknown) => void;
  startTimeoutMs?: number;
}

export interface StorageEmulator {
  /** `http://127.0.0.1:PORT`: the apiEndpoint / STORAGE_EMULATOR_HOST value. */
  host: string;
  projectId: string;
  /** Resolves once every event of every object finalized so far has been delivered (or has failed). */
  settled(): Promise<void>;
  /** Deletes every bucket and object. */
  reset(): Promise<void>;
  /** Stops the emulator process and removes its files. Safe to call twice. */
  stop(): Promise<void>;
}

const CHILD = new URL('./storage-child.ts', import.meta.url);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function deliver(event: StorageCloudEvent, opts: StorageEmulatorOptions): Promise<void> {
  const attempts = Math.max(1, opts.retry?.attempts ?? 1);
  let lastError: unknown;
  for (let i = 0; i < attempts; i++) {
    if (i > 0) await sleep((opts.retry?.backoffMs ?? 0) * 2 ** (i - 1));
    try {
      await opts.onFinalize?.(event);
      return;
    } catch (err) {
      lastError = err;
    }
  }
  opts.onDeliveryFailure?.(event, lastError);
}

function bucketOf(event: StorageCloudEvent): string | undefined {
  const d = event.data;
  return d && typeof d === 'object' && 'bucket' in d && typeof d.bucket === 'string' ? d.bucket : undefined;
}

/** The emulator's child process, its output kept (the last 8,000 characters) for error messages. */
function forkEmulator(projectId: string, port: number | undefined, dir: string) {
  const child: ChildProcess = fork(CHILD, [], {
    execPath: process.execPath,
    execArgv: [],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: {
      ...process.env,
      TMPDIR: dir,
      STORAGE_EMULATOR_PORT: port ? String(port) : '',
      STORAGE_EMULATOR_PROJECT: projectId,
    },
  });
  let log = '';
  const keep = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-8000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, log: () => log };
}

/**
 * The parent side of the child's messages: start-up, events delivered to onFinalize (filtered by bucket,
 * retried), and pings, which the child answers after every event it sent before (IPC keeps order).
 */
function messages(child: ChildProcess, opts: StorageEmulatorOptions, log: () => string) {
  const inFlight = new Set<Promise<void>>();
  let received = 0;
  const pongs = new Map<number, (emitted: number) => void>();
  let nextPing = 0;
  const ready = new Promise<number>((resolve, reject) => {
    child.on('message', (msg: ChildMessage) => {
      if (msg.type === 'ready') resolve(msg.port);
      else if (msg.type === 'failed') reject(new Error(`Storage emulator failed to start:\n${msg.message}`));
      else if (msg.type === 'pong') pongs.get(msg.id)?.(msg.emitted);
      else if (msg.type === 'event') {
        received = msg.seq;
        const event: StorageCloudEvent = msg.event;
        if (opts.bucket !== undefined && bucketOf(event) !== opts.bucket) return;
        const p = deliver(event, opts).finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
    });
    child.once('exit', (code, signal) =>
      reject(new Error(`Storage emulator exited (${code ?? signal}) during start-up:\n${log()}`)),
    );
  });
  const ping = (): Promise<number> =>
    new Promise((resolve, reject) => {
      if (!child.connected) return reject(new Error('Storage emulator is not running'));
      const id = ++nextPing;
      pongs.set(id, (emitted) => {
        pongs.delete(id);
        resolve(emitted);
      });
      child.send({ type: 'ping', id } satisfies ParentMessage);
    });
  // Handling an event may finalize more objects (a report); settle until a ping finds nothing in flight.
  const settled = async (): Promise<void> => {
    for (;;) {
      const emitted = await ping();
      while (received < emitted) await sleep(5);
      if (inFlight.size === 0) return;
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    }
  };
  return { ready, ping, settled };
}

/** Stops the child (politely, then SIGKILL after 5 s) and removes its folder; also killed if we exit first. */
function stopper(child: ChildProcess, dir: string): () => Promise<void> {
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const onExit = () => child.kill('SIGKILL');
  process.once('exit', onExit);
  let stopped: Promise<void> | undefined;
  return () => {
    stopped ??= (async () => {
      process.off('exit', onExit);
      if (child.exitCode === null && child.signalCode === null) {
        if (child.connected) child.send({ type: 'stop' } satisfies ParentMessage);
        else child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    })();
    return stopped;
  };
}

/** Starts a Storage emulator and resolves once it listens. */
export async function startStorageEmulator(opts: StorageEmulatorOptions = {}): Promise<StorageEmulator> {
  const projectId = opts.projectId ?? 'demo-nih-cxr';
  const dir = mkdtempSync(join(tmpdir(), 'nih-storage-emu-'));
  const { child, log } = forkEmulator(projectId, opts.port, dir);
  const { ready, ping, settled } = messages(child, opts, log);
  const stop = stopper(child, dir);
  const timeoutMs = opts.startTimeoutMs ?? 60_000;
  let port: number;
  try {
    port = await Promise.race([
      ready,
      sleep(timeoutMs).then(() => {
        throw new Error(`Storage emulator did not start within ${timeoutMs} ms:\n${log()}`);
      }),
    ]);
  } catch (err) {
    await stop();
    throw err;
  }
  const reset = async (): Promise<void> => {
    child.send({ type: 'reset' } satisfies ParentMessage);
    await ping();
  };
  return { host: `http://127.0.0.1:${port}`, projectId, settled, reset, stop };
}

/** The POST that delivers `event` to a functions-framework URL in binary content mode, as Eventarc does. */
export function cloudEventRequest(event: StorageCloudEvent): RequestInit {
  return {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'ce-specversion': event.specversion,
      'ce-id': event.id,
      'ce-type': event.type,
      'ce-source': event.source,
      'ce-subject': event.subject,
      'ce-time': event.time,
    },
    body: JSON.stringify(event.data),
  };
}

/** An onFinalize handler that POSTs the event (binary content mode) to a functions-framework URL. */
export function postCloudEvent(url: string): FinalizeHandler {
  return async (event) => {
    const res = await fetch(url, cloudEventRequest(event));
    if (!res.ok) throw new Error(`CloudEvent delivery to ${url} failed: ${res.status} ${await res.text()}`);
  };
}
