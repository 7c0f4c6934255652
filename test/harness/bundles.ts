/**
 * Builds the function bundles into a temporary folder and loads each one in a fresh Node process, sealed
 * off from the repository: the bundle's folder gets a node_modules holding only the packages its
 * package.json declares, as the Cloud Functions build would install them.
 */
import { execFile, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { type BundleInfo, buildAll, ENTRY_FILE } from '../../scripts/build.ts';
import { freePort } from '../../scripts/emulators/firestore.ts';
import { REPO_ROOT } from '../../scripts/function-folders.ts';

const run = promisify(execFile);

export interface SealedBundle extends BundleInfo {
  /** Folder with index.mjs, package.json and a node_modules of the declared dependencies only. */
  sealedDir: string;
}

export interface Probe {
  nodeVersion: string;
  /** Every function the bundle registered with functions-framework, by name: 'http' or 'cloudevent'. */
  registered: Record<string, string>;
  /** Whether functions-framework's own testing API (the runtime's registry) finds each registered name. */
  visibleToFramework: Record<string, boolean>;
  importMs: number;
  /** Framework dependencies the import itself loaded (the runtime loads express and body-parser before it). */
  frameworkServerModules: string[];
}

/** Builds every function folder into a new temporary folder and seals each bundle. */
export async function buildSealedBundles(): Promise<{ tmp: string; bundles: SealedBundle[] }> {
  const tmp = mkdtempSync(join(tmpdir(), 'nih-cxr-bundles-'));
  const infos = await buildAll({ outDir: join(tmp, 'dist') });
  const bundles = infos.map((info) => {
    const sealedDir = join(tmp, 'sealed', info.name);
    cpSync(info.dir, sealedDir, { recursive: true });
    for (const pkg of Object.keys(info.dependencies)) {
      const link = join(sealedDir, 'node_modules', pkg);
      mkdirSync(dirname(link), { recursive: true });
      symlinkSync(join(REPO_ROOT, 'node_modules', pkg), link, 'dir');
    }
    return { ...info, sealedDir };
  });
  return { tmp, bundles };
}

export function removeTmp(tmp: string): void {
  rmSync(tmp, { recursive: true, force: true });
}

// Runs in the child: records every http()/cloudEvent() registration, then imports the bundle.
const MARK = '@@nih-cxr-probe@@';
const PROBE = `
const MARK = '${MARK}';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
const bundle = process.argv[1];
const req = createRequire(bundle);
const registry = req(join(dirname(req.resolve('@google-cloud/functions-framework')), 'function_registry.js'));
const registered = {};
for (const [fn, type] of [['http', 'http'], ['cloudEvent', 'cloudevent']]) {
  const original = registry[fn];
  registry[fn] = (name, handler) => { registered[name] = type; return original(name, handler); };
}
const t0 = performance.now();
await import(bundle);
const importMs = performance.now() - t0;
const fw = createRequire(req.resolve('@google-cloud/functions-framework'));
const frameworkServerModules = ['express', 'body-parser'].filter((m) => fw.cache[fw.resolve(m)] !== undefined);
const { getFunction } = req('@google-cloud/functions-framework/testing');
const visibleToFramework = Object.fromEntries(Object.keys(registered).map((n) => [n, typeof getFunction(n) === 'function']));
process.stdout.write('\\n' + MARK + JSON.stringify({ nodeVersion: process.version, registered, visibleToFramework, importMs, frameworkServerModules }) + '\\n');
`;

/** Imports a sealed bundle in a fresh `node` with `env` (plus PATH), and reports what it registered. */
export async function probeBundle(b: SealedBundle, env: Record<string, string>): Promise<Probe> {
  const { stdout } = await run(
    process.execPath,
    ['--input-type=module', '-e', PROBE, join(b.sealedDir, ENTRY_FILE)],
    {
      cwd: b.sealedDir,
      env: { PATH: process.env.PATH ?? '', METADATA_SERVER_DETECTION: 'none', ...env },
      timeout: 60_000,
    },
  );
  // The bundle may log to stdout at start-up, before the result and after it (a warm-up started on the next
  // turn of the event loop): the result is the line that follows the marker.
  const rest = stdout.slice(stdout.lastIndexOf(MARK) + MARK.length);
  return JSON.parse(rest.slice(0, rest.indexOf('\n'))) as Probe;
}

/** The package.json the bundle ships. */
export function bundlePackageJson(b: SealedBundle): Record<string, unknown> {
  return JSON.parse(readFileSync(join(b.sealedDir, 'package.json'), 'utf8')) as Record<string, unknown>;
}

export interface Served {
  url: string;
  output: () => string;
  stop: () => Promise<void>;
}

/**
 * Starts the sealed bundle the way Cloud Run functions does: the functions-framework CLI from the bundle's
 * own node_modules, with --target set to the entry point. Resolves once it serves.
 */
export function serveBundle(b: SealedBundle, target: string, env: Record<string, string>): Promise<Served> {
  return serveFolder(b.sealedDir, target, env);
}

/**
 * Starts the functions-framework CLI of a bundle-shaped folder (its own node_modules) on `target`; resolves
 * once the framework listens, and stops the child if it does not within `timeoutMs`.
 */
export async function serveFolder(
  dir: string,
  target: string,
  env: Record<string, string>,
  opts: { port?: number; timeoutMs?: number } = {},
): Promise<Served> {
  const port = opts.port ?? (await freePort());
  const cli = join(dir, 'node_modules', '@google-cloud', 'functions-framework', 'build', 'src', 'main.js');
  const child = spawn(process.execPath, [cli, `--target=${target}`, `--source=${dir}`, `--port=${port}`], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', METADATA_SERVER_DETECTION: 'none', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    child.kill('SIGTERM');
    await exited;
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`functions-framework (${target}) did not start:\n${out}`)),
        opts.timeoutMs ?? 30_000,
      );
      const onData = (d: Buffer) => {
        out += d.toString();
        // The framework's last start-up line (it prints the URL after the signature type).
        if (/^URL: http/m.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`functions-framework (${target}) exited with ${code}:\n${out}`));
      });
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `http://127.0.0.1:${port}`, output: () => out, stop };
}

export interface RecordingProxy {
  url: string;
  /** The request line of every request it received, e.g. `CONNECT oauth2.googleapis.com:443 HTTP/1.1`. */
  requests: string[];
  stop: () => Promise<void>;
}

/** An HTTP proxy that records each request line and refuses it with 502 (nothing leaves the machine). */
export async function startRecordingProxy(): Promise<RecordingProxy> {
  const requests: string[] = [];
  const server = createServer((socket) => {
    socket.once('data', (d: Buffer) => {
      requests.push(d.toString('latin1').split('\r\n')[0]!);
      socket.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n');
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
