/**
 * Starts Orthanc (Debian packages `orthanc` + `orthanc-dicomweb`) as a throw-away local DICOMweb store for
 * `npm start` and the tests: a fresh storage folder, a free HTTP port, the DICOM (DIMSE) server off, remote
 * access refused (Orthanc 1.10 has no bind address: it answers loopback clients only). It runs under the same
 * kind of shell watchdog as the Firestore emulator, so it never outlives this Node process.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ORTHANC_PACKAGES = ['orthanc', 'orthanc-dicomweb'] as const;
export const ORTHANC_INSTALL_HINT = `apt-get install -y ${ORTHANC_PACKAGES.join(' ')} (Debian/Ubuntu)`;
const PLUGIN_DIRS = ['/usr/share/orthanc/plugins', '/usr/lib/orthanc'];

export interface OrthancInstall {
  binary: string;
  plugin: string;
}

export interface Orthanc {
  /** `http://127.0.0.1:PORT` (REST API). */
  url: string;
  /** The DICOMweb root, the value for DICOMWEB_BASE. */
  dicomweb: string;
  stop(): Promise<void>;
}

/**
 * Where Orthanc and its DICOMweb plugin are installed, or a sentence saying what is missing. `where` replaces
 * the places looked at (tests).
 */
export function findOrthanc(
  where: { binaries?: readonly string[]; pluginDirs?: readonly string[] } = {},
): OrthancInstall | string {
  let binary: string | undefined;
  if (where.binaries) binary = where.binaries.find(existsSync);
  else {
    const which = spawnSync('sh', ['-c', 'command -v Orthanc'], { encoding: 'utf8' });
    binary =
      which.status === 0 ? which.stdout.trim() : ['/usr/sbin/Orthanc', '/usr/bin/Orthanc'].find(existsSync);
  }
  if (!binary) return `Orthanc is not installed: ${ORTHANC_INSTALL_HINT}`;
  const plugin = (where.pluginDirs ?? PLUGIN_DIRS)
    .map((d) => join(d, 'libOrthancDicomWeb.so'))
    .find(existsSync);
  if (!plugin) return `the Orthanc DICOMweb plugin is not installed: ${ORTHANC_INSTALL_HINT}`;
  return { binary, plugin };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

// Blocks on stdin (a pipe from this process); EOF means we closed it or died: the group goes down.
const WATCHDOG = [
  '"$@" &',
  "trap '' TERM INT HUP",
  'while read -r _; do :; done',
  'kill -TERM 0 2>/dev/null',
  'for _ in 1 2 3 4 5 6 7 8 9 10; do sleep 0.3; kill -0 "$!" 2>/dev/null || break; done',
  'kill -KILL 0',
].join('\n');

export async function startOrthanc(
  o: { startTimeoutMs?: number; install?: OrthancInstall } = {},
): Promise<Orthanc> {
  const found = o.install ?? findOrthanc();
  if (typeof found === 'string') throw new Error(found);
  const dir = await mkdtemp(join(tmpdir(), 'nih-cxr-orthanc-'));
  const port = await freePort();
  const config = {
    Name: 'nih-cxr-local',
    StorageDirectory: join(dir, 'db'),
    IndexDirectory: join(dir, 'db'),
    HttpPort: port,
    DicomServerEnabled: false,
    RemoteAccessAllowed: false,
    AuthenticationEnabled: false,
    Plugins: [found.plugin],
    DicomWeb: { Enable: true, Root: '/dicom-web/', EnableWado: false, Host: `127.0.0.1:${port}`, Ssl: false },
    // The synthetic files are written in one go; no need to wait a minute for "stable" events.
    StableAge: 1,
  };
  await writeFile(join(dir, 'orthanc.json'), JSON.stringify(config, null, 2));
  const child: ChildProcess = spawn(
    'sh',
    ['-c', WATCHDOG, 'orthanc-watchdog', found.binary, join(dir, 'orthanc.json')],
    {
      detached: true,
      stdio: ['pipe', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exit.then(() => {
    exited = true;
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (!exited) {
      child.stdin?.end();
      await Promise.race([exit, new Promise((r) => setTimeout(r, 8000))]);
      if (!exited && child.pid) process.kill(-child.pid, 'SIGKILL');
    }
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + (o.startTimeoutMs ?? 30_000);
  while (Date.now() < deadline) {
    if (exited) break;
    try {
      const r = await fetch(`${url}/system`, { signal: AbortSignal.timeout(1000) });
      if (r.ok) return { url, dicomweb: `${url}/dicom-web`, stop };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`Orthanc did not start within the deadline${stderr ? `:\n${stderr}` : ''}`);
}
