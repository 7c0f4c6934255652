/**
 * Starts the official Cloud Firestore emulator (the Cloud SDK's `cloud_firestore_emulator` script, a JVM) on a
 * free port, for tests, benchmarks and the local server. The emulator runs in its own process group under a
 * tiny shell watchdog that kills the group when this Node process goes away (even on SIGKILL), so no JVM is
 * ever orphaned; stop() sends SIGTERM to the group, then SIGKILL after a grace period.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';

export interface FirestoreEmulator {
  /** `127.0.0.1:PORT`, the value for FIRESTORE_EMULATOR_HOST. */
  host: string;
  projectId: string;
  /** Deletes every document of the project's default database. */
  reset(): Promise<void>;
  /** Stops the emulator and waits until its whole process group has exited. Safe to call twice. */
  stop(): Promise<void>;
}

export interface FirestoreEmulatorOptions {
  /** Default: a free port chosen by the OS. */
  port?: number;
  /** Default: `demo-nih-cxr` (a `demo-` project never reaches production). */
  projectId?: string;
  /** Milliseconds to wait for the emulator to answer; default 60 s. */
  startTimeoutMs?: number;
  /** JVM options (JAVA_TOOL_OPTIONS), e.g. `-Xmx2g`. */
  javaOptions?: string;
}

const SCRIPT = join('platform', 'cloud-firestore-emulator', 'cloud_firestore_emulator');

// The watchdog (process-group leader): starts the emulator, then blocks on stdin, a pipe from this process.
// EOF means we closed it or died; either way it takes the whole group down. `trap '' TERM` is set only after
// the emulator is forked, so the JVM keeps the default SIGTERM handling (a JVM inherits ignored signals).
const WATCHDOG = [
  '"$@" &',
  "trap '' TERM INT HUP",
  'while read -r _; do :; done',
  'kill -TERM 0 2>/dev/null',
  'for _ in 1 2 3 4 5 6 7 8 9 10; do sleep 0.5; kill -0 "$!" 2>/dev/null || break; done',
  'kill -KILL 0',
].join('\n');

/** The Cloud SDK root: `gcloud info`, else the real path of the gcloud on PATH, else the Debian location. */
export function cloudSdkRoot(): string {
  try {
    const out = execFileSync('gcloud', ['info', '--format=value(installation.sdk_root)'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 30_000,
    }).trim();
    if (out && existsSync(join(out, SCRIPT))) return out;
  } catch {
    // fall through to the path-based guesses
  }
  for (const candidate of ['/usr/bin/gcloud', '/usr/local/bin/gcloud']) {
    if (!existsSync(candidate)) continue;
    const root = dirname(dirname(realpathSync(candidate)));
    if (existsSync(join(root, SCRIPT))) return root;
  }
  if (existsSync(join('/usr/lib/google-cloud-sdk', SCRIPT))) return '/usr/lib/google-cloud-sdk';
  throw new Error(
    'Cloud SDK with the cloud-firestore-emulator component not found (install google-cloud-cli)',
  );
}

/** A port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** True while a live (non-zombie) process is in the group; zombies left for a non-reaping init don't count. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (!existsSync('/proc/self/stat')) return true;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // fields after the parenthesised command: state ppid pgrp ...
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) === pgid && state !== 'Z') return true;
    } catch {
      // process vanished while scanning
    }
  }
  return false;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntilReady(base: string, child: ChildProcess, output: () => string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    // On a start-up failure (e.g. BindException) the JVM logs SEVERE but can linger, so read the log too.
    if (child.exitCode !== null || child.signalCode !== null || /SEVERE: Exiting/.test(output())) {
      throw new Error(`Firestore emulator failed to start:\n${output()}`);
    }
    try {
      const res = await fetch(`${base}/`, { signal: AbortSignal.timeout(1000) });
      if (res.ok && (await res.text()).trim() === 'Ok') return;
    } catch {
      // not listening yet
    }
    await sleep(150);
  }
  throw new Error(`Firestore emulator did not answer within ${timeoutMs} ms:\n${output()}`);
}

/** Starts a Firestore emulator and resolves once it answers HTTP. */
export async function startFirestoreEmulator(
  opts: FirestoreEmulatorOptions = {},
): Promise<FirestoreEmulator> {
  // A free port can be taken by someone else before the JVM binds it; then try another one.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts, opts.port ?? (await freePort()));
    } catch (err) {
      if (opts.port !== undefined || attempt >= 3) throw err;
    }
  }
}

async function startOnce(opts: FirestoreEmulatorOptions, port: number): Promise<FirestoreEmulator> {
  const projectId = opts.projectId ?? 'demo-nih-cxr';
  const host = `127.0.0.1:${port}`;
  const base = `http://${host}`;
  const script = join(cloudSdkRoot(), SCRIPT);
  const env = { ...process.env };
  if (opts.javaOptions) env.JAVA_TOOL_OPTIONS = opts.javaOptions;

  const child = spawn(
    'bash',
    ['-c', WATCHDOG, 'firestore-emulator', script, 'start', `--host=127.0.0.1`, `--port=${port}`],
    { detached: true, stdio: ['pipe', 'pipe', 'pipe'], env },
  );
  const pgid = child.pid!;
  let log = '';
  const keep = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-8000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  // Neither the pipes nor the child keep the event loop alive: a test runner may exit with it running, and
  // the watchdog then sees EOF and cleans up.
  child.unref();
  for (const s of [child.stdin!, child.stdout!, child.stderr!])
    (s as unknown as { unref?: () => void }).unref?.();
  child.stdin!.on('error', () => {});

  const onExit = () => signalGroup(pgid, 'SIGKILL');
  process.once('exit', onExit);

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      process.off('exit', onExit);
      child.stdin!.end();
      signalGroup(pgid, 'SIGTERM');
      const deadline = Date.now() + 8000;
      while (groupAlive(pgid) && Date.now() < deadline) await sleep(100);
      if (groupAlive(pgid)) signalGroup(pgid, 'SIGKILL');
      while (groupAlive(pgid)) await sleep(50);
    })();
    return stopped;
  };

  try {
    await waitUntilReady(base, child, () => log, opts.startTimeoutMs ?? 60_000);
  } catch (err) {
    await stop();
    throw err;
  }

  const reset = async (): Promise<void> => {
    const url = `${base}/emulator/v1/projects/${encodeURIComponent(projectId)}/databases/(default)/documents`;
    const res = await fetch(url, { method: 'DELETE' });
    if (!res.ok) throw new Error(`Firestore emulator reset failed: ${res.status} ${await res.text()}`);
  };

  return { host, projectId, reset, stop };
}
