/**
 * `npm run bench [-- name...]`: runs every bench/<name>.bench.ts (or the named ones) one after another and
 * prints their figures. Benchmarks measure; tests assert. Each file's default export is `async () => void`
 * and prints its own lines.
 *
 * Each bench runs in a Node process of its own: client libraries keep per-process state (gcp-metadata, for
 * one, remembers whether a metadata server answered), and a bench that points them at its stand-ins (export
 * does) must not leave that to the next one. When all ran in one process, the labels bench's Firestore load
 * after the export bench waited for ever (its emulator received nothing).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.env.NIH_CXR_BENCH_CHILD;

if (only) {
  // Benchmarks run off Google Cloud: a client library must not probe for a metadata server (a warning and a delay).
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  const mod = (await import(pathToFileURL(join(here, only)).href)) as { default: () => Promise<void> };
  await mod.default();
  // Whatever a bench left open (an agent's idle sockets, a timer) must not keep its process alive.
  process.exit(0);
} else {
  const wanted = process.argv.slice(2);
  const files = readdirSync(here)
    .filter((f) => f.endsWith('.bench.ts'))
    .filter((f) => wanted.length === 0 || wanted.includes(f.replace(/\.bench\.ts$/, '')))
    .sort();
  console.log(
    `nih-cxr benchmarks on Node ${process.version}, NIH_DATA_DIR=${process.env.NIH_DATA_DIR ?? '(unset: synthetic)'}`,
  );
  let failed = 0;
  for (const f of files) {
    console.log(`\n## ${f.replace(/\.bench\.ts$/, '')}`);
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url)], {
      stdio: 'inherit',
      env: { ...process.env, NIH_CXR_BENCH_CHILD: f },
    });
    if (r.status !== 0) {
      failed++;
      console.log(`${f} failed: exit ${r.status ?? r.signal}`);
    }
  }
  process.exitCode = failed > 0 ? 1 : 0;
}
