/**
 * `npm run bench -- bundles`: size of each function bundle and its cold import time in a fresh Node process.
 * Cold import = median wall time of `node -e "await import(bundle)"` minus the median of an empty
 * `node -e "0"` (process start-up), over RUNS interleaved runs; the in-process import time (performance.now()
 * around the import) is printed beside it, and, for comparison, the cold import of the unbundled source
 * (functions/<name>/index.ts through node_modules). Target: < 150 ms per bundle. The environment is the one
 * Terraform sets (sample values), so start-up configuration is included.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildAll } from '../scripts/build.ts';
import { REPO_ROOT } from '../scripts/function-folders.ts';
import { functionDeployments } from '../test/terraform/checks.ts';
import { sampleEnvironment } from '../test/terraform/expected.ts';
import { loadTerraform } from '../test/terraform/hcl.ts';

const RUNS = 11;
const TARGET_MS = 150;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

function timeNode(code: string, env: Record<string, string>): { wallMs: number; innerMs: number } {
  const t0 = performance.now();
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', code], {
    env: { PATH: process.env.PATH ?? '', METADATA_SERVER_DETECTION: 'none', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  }).toString();
  const wallMs = performance.now() - t0;
  const inner = /@@(\d+(?:\.\d+)?)@@/.exec(out);
  return { wallMs, innerMs: inner ? Number(inner[1]) : Number.NaN };
}

export default async (): Promise<void> => {
  // Inside the repository so that functions-framework resolves from its node_modules, as it would be installed.
  mkdirSync(join(REPO_ROOT, '.tmp'), { recursive: true });
  const out = mkdtempSync(join(REPO_ROOT, '.tmp', 'bench-bundles-'));
  try {
    const bundles = await buildAll({ outDir: out });
    const deployments = functionDeployments(await loadTerraform(join(REPO_ROOT, 'terraform')));
    const envs = new Map(
      bundles.map((b) => [
        b.name,
        sampleEnvironment(deployments.find((d) => d.folder === b.name)?.body, b.name),
      ]),
    );
    const baseline: number[] = [];
    const wall = new Map<string, number[]>(bundles.map((b) => [b.name, []]));
    const inner = new Map<string, number[]>(bundles.map((b) => [b.name, []]));
    const source = new Map<string, number[]>(bundles.map((b) => [b.name, []]));
    const importCode = (path: string) =>
      `const t = performance.now(); await import(${JSON.stringify(path)}); process.stdout.write('@@' + (performance.now() - t) + '@@');`;
    for (let i = 0; i < RUNS; i++) {
      baseline.push(timeNode('0', {}).wallMs);
      for (const b of bundles) {
        const r = timeNode(importCode(join(b.dir, 'index.js')), envs.get(b.name)!);
        wall.get(b.name)!.push(r.wallMs);
        inner.get(b.name)!.push(r.innerMs);
        const unbundled = timeNode(
          importCode(join(REPO_ROOT, 'functions', b.name, 'index.ts')),
          envs.get(b.name)!,
        );
        source.get(b.name)!.push(unbundled.wallMs);
      }
    }
    const base = median(baseline);
    console.log(`node start-up baseline (empty -e): ${base.toFixed(0)} ms (median of ${RUNS})`);
    console.log(
      'function   JS KiB   zip KiB   cold import ms (wall - baseline)   in-process import ms   unbundled source ms   target',
    );
    for (const b of bundles) {
      const cold = median(wall.get(b.name)!) - base;
      const inProcess = median(inner.get(b.name)!);
      const unbundled = median(source.get(b.name)!) - base;
      console.log(
        `${b.name.padEnd(10)} ${(b.bundleBytes / 1024).toFixed(0).padStart(6)}   ${(b.zipBytes / 1024).toFixed(0).padStart(7)}   ${cold.toFixed(0).padStart(33)}   ${inProcess.toFixed(0).padStart(20)}   ${unbundled.toFixed(0).padStart(19)}   ${cold < TARGET_MS ? 'ok' : `over ${TARGET_MS} ms`}`,
      );
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
};
