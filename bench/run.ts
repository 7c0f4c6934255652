/**
 * `npm run bench [-- name...]`: runs every bench/<name>.bench.ts (or the named ones) one after another in this
 * process and prints their figures. Benchmarks measure; tests assert. Each file's default export is
 * `async () => void` and prints its own lines.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// Benchmarks run off Google Cloud: a client library must not probe for a metadata server (a warning and a delay).
process.env.METADATA_SERVER_DETECTION ??= 'none';
const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => wanted.length === 0 || wanted.includes(f.replace(/\.bench\.ts$/, '')))
  .sort();

console.log(
  `nih-cxr benchmarks on Node ${process.version}, NIH_DATA_DIR=${process.env.NIH_DATA_DIR ?? '(unset: synthetic)'}`,
);
for (const f of files) {
  console.log(`\n## ${f.replace(/\.bench\.ts$/, '')}`);
  const mod = (await import(pathToFileURL(join(here, f)).href)) as { default: () => Promise<void> };
  await mod.default();
}
