/**
 * `npm start` as a child process on a free loopback port (its own emulators, DuckDB, the real NIH files when
 * NIH_DATA_DIR is set, else the synthetic sample): started, waited for on /v1/healthz, its whole output
 * captured, its process tree measured from /proc, and stopped (SIGINT to its group, SIGKILL after 20 s).
 * It starts with PORT=0 and learns the port from its "listening" log line: the server binds the port itself,
 * so no other process can take it between choosing and binding (EADDRINUSE with a port picked beforehand).
 * Shared by the end-to-end and security tests and bench/load.bench.ts.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface NpmStart {
  url: string;
  child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** The pids of the child and all its descendants (emulators included), with their command lines. */
  tree(): { pid: number; cmd: string }[];
  /** Stops the server and everything it started; resolves once the child has exited. */
  stop(): Promise<void>;
}

/** Pid -> parent pid of every process, from /proc. */
function parents(): Map<number, number> {
  const out = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      out.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone while scanning
    }
  }
  return out;
}

export function descendants(root: number): { pid: number; cmd: string }[] {
  const ppid = parents();
  const found = [root];
  for (let i = 0; i < found.length; i++) {
    for (const [pid, parent] of ppid) if (parent === found[i]) found.push(pid);
  }
  return found.flatMap((pid) => {
    try {
      return [{ pid, cmd: readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim() }];
    } catch {
      return [];
    }
  });
}

/** A field of /proc/<pid>/status in KiB (VmRSS, VmHWM), or 0 when the process is gone. */
export function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** The URL in the server's "listening" log line (a JSON line from shared/log.ts), if `line` is that line. */
export function listeningUrl(line: string): string | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const entry = JSON.parse(line) as { message?: unknown; url?: unknown };
    return entry.message === 'listening; loading data' && typeof entry.url === 'string'
      ? entry.url
      : undefined;
  } catch {
    return undefined;
  }
}

export async function startNpmStart(
  env: Record<string, string | undefined>,
  opts: { readyTimeoutMs?: number } = {},
): Promise<NpmStart> {
  const full: Record<string, string | undefined> = {
    ...process.env,
    FIRESTORE_EMULATOR_HOST: undefined,
    STORAGE_EMULATOR_HOST: undefined,
    ...env,
    // Any free port, bound by the server itself (README: PORT 0 = any free port).
    PORT: '0',
  };
  for (const k of Object.keys(full)) if (full[k] === undefined) delete full[k];
  const child = spawn('npm', ['start'], {
    cwd: ROOT,
    env: full,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (d: Buffer) => {
    output += d.toString();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let url: string | undefined;
  let partial = '';
  child.stdout?.on('data', (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) url ??= listeningUrl(line);
  });

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
      const exited = once(child, 'exit');
      process.kill(-child.pid, 'SIGINT');
      const timer = setTimeout(() => child.pid && process.kill(-child.pid, 'SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    })();
    return stopped;
  };

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 120_000);
  for (;;) {
    if (url) {
      try {
        const res = await fetch(`${url}/v1/healthz`, { signal: AbortSignal.timeout(2000) });
        const body = (await res.json()) as { status?: string };
        if (res.ok && body.status === 'ok') break;
      } catch {
        // not answering yet
      }
    }
    if (child.exitCode !== null)
      throw new Error(`npm start exited ${child.exitCode}:\n${output.slice(-3000)}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`npm start not ready in time:\n${output.slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { url, child, output: () => output, tree: () => descendants(child.pid!), stop };
}
