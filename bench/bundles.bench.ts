/**
 * `npm run bench -- bundles`: each function bundle's size, what its cold start loads, and its cold import time
 * in a fresh Node process (target < 150 ms); then the price of loading SDKs lazily: the time to the first
 * answer of a request that needs them, under the functions-framework CLI (bench/bundles-first-request.ts).
 *
 * Cold import = median wall time of `node -e "await import(bundle)"`, exiting once the import resolved, minus
 * the median of an empty `node -e 0` (process start-up), over RUNS interleaved runs. Beside it: the in-process
 * import time (performance.now() around the import); the same once the framework's own modules are loaded,
 * which is the runtime's order (its main.js requires express and body-parser, then imports the function; our
 * router adapts them when they load, and a bare import does not load them); and the unbundled source. Bundles
 * are built into a temporary folder whose node_modules holds only what each bundle's package.json installs. The
 * environment is the one Terraform sets (sample values). BENCH_SOURCE_ROOT=<a checkout of another commit, with
 * node_modules> measures that tree's functions (before/after figures); BENCH_RUNS, BENCH_FIRST_RUNS set counts.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildAll, ENTRY_FILE } from '../scripts/build.ts';
import { REPO_ROOT } from '../scripts/function-folders.ts';
import { functionDeployments } from '../test/terraform/checks.ts';
import { sampleEnvironment } from '../test/terraform/expected.ts';
import { loadTerraform } from '../test/terraform/hcl.ts';
import {
  type ColdStart,
  coldStart,
  noopBundle,
  scenarios,
  seal,
  startBackends,
} from './bundles-first-request.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 11);
const FIRST_RUNS = Number(process.env.BENCH_FIRST_RUNS ?? 5);
const TARGET_MS = 150;
// What functions-framework's main.js requires before it imports the function.
const FRAMEWORK_MODULES = ['loader', 'invoker', 'server', 'options', 'logger'];

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.floor(s.length / 2)]!;
};
const ms = (n: number, width: number) => (Number.isNaN(n) ? 'n/a' : n.toFixed(0)).padStart(width);
const kib = (n: number, width: number) => (n / 1024).toFixed(0).padStart(width);

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

const requireFramework = (path: string) =>
  `const { createRequire } = await import('node:module'); const req = createRequire(${JSON.stringify(path)});` +
  ` const dir = (await import('node:path')).dirname(req.resolve('@google-cloud/functions-framework'));` +
  ` const load = () => { for (const m of ${JSON.stringify(FRAMEWORK_MODULES)}) req(dir + '/' + m + '.js'); };`;
// The process exits as soon as the import resolved: the warm-up a bundle starts at import (a store opening,
// its connections) runs beside the framework's own start-up on an instance; the first-answer table counts it.
const timed = (what: string) =>
  ` const t = performance.now(); ${what}; process.stdout.write('@@' + (performance.now() - t) + '@@'); process.exit(0);`;
const importCode = (path: string, afterFramework = false) =>
  (afterFramework ? `${requireFramework(path)} load();` : '') +
  timed(`await import(${JSON.stringify(path)})`);

export default async (): Promise<void> => {
  const sourceRoot = process.env.BENCH_SOURCE_ROOT ?? REPO_ROOT;
  if (sourceRoot !== REPO_ROOT) console.log(`functions built from ${sourceRoot}`);
  const tmp = mkdtempSync(join(tmpdir(), 'nih-cxr-bench-bundles-'));
  try {
    const bundles = await buildAll({
      outDir: join(tmp, 'dist'),
      functionsDir: join(sourceRoot, 'functions'),
    });
    for (const b of bundles) seal(b.dir, Object.keys(b.dependencies));
    const deployments = functionDeployments(await loadTerraform(join(REPO_ROOT, 'terraform')));
    const deployment = (folder: string) => deployments.find((d) => d.folder === folder);
    const envs = new Map(bundles.map((b) => [b.name, sampleEnvironment(deployment(b.name)?.body, b.name)]));

    const baseline: number[] = [];
    const frameworkAlone: number[] = [];
    const series = (keys: string[]) =>
      new Map(bundles.map((b) => [b.name, new Map(keys.map((k) => [k, [] as number[]]))]));
    const t = series(['wall', 'inner', 'framework', 'source']);
    for (let i = 0; i < RUNS; i++) {
      baseline.push(timeNode('0', {}).wallMs);
      frameworkAlone.push(
        timeNode(requireFramework(join(bundles[0]!.dir, ENTRY_FILE)) + timed('load()'), {}).innerMs,
      );
      for (const b of bundles) {
        const env = envs.get(b.name)!;
        const s = t.get(b.name)!;
        const r = timeNode(importCode(join(b.dir, ENTRY_FILE)), env);
        s.get('wall')!.push(r.wallMs);
        s.get('inner')!.push(r.innerMs);
        s.get('framework')!.push(timeNode(importCode(join(b.dir, ENTRY_FILE), true), env).innerMs);
        s.get('source')!.push(
          timeNode(importCode(join(sourceRoot, 'functions', b.name, 'index.ts')), env).wallMs,
        );
      }
    }
    const base = median(baseline);
    console.log(`node start-up baseline (empty -e): ${base.toFixed(0)} ms (median of ${RUNS})`);
    console.log(
      `functions-framework's own modules alone (${FRAMEWORK_MODULES.join(', ')}: what its main.js requires ` +
        `before it imports the function): ${ms(median(frameworkAlone), 0)} ms in-process`,
    );
    console.log(
      'function   JS KiB   start-up KiB (files)   zip KiB   cold import ms   in-process ms   in-process after framework ms   unbundled source ms   target',
    );
    for (const b of bundles) {
      const s = t.get(b.name)!;
      const cold = median(s.get('wall')!) - base;
      console.log(
        `${b.name.padEnd(10)} ${kib(b.bundleBytes, 6)}   ${kib(b.startup.bytes, 12)} (${String(b.startup.files.length).padStart(2)})     ${kib(b.zipBytes, 7)}   ${ms(cold, 14)}   ${ms(median(s.get('inner')!), 13)}   ${ms(median(s.get('framework')!), 29)}   ${ms(median(s.get('source')!) - base, 19)}   ${cold < TARGET_MS ? 'ok' : `over ${TARGET_MS} ms`}`,
      );
    }
    for (const b of bundles) {
      const p = b.startup.packages;
      const shown = p.length > 8 ? `${p.slice(0, 8).join(', ')} and ${p.length - 8} more` : p.join(', ');
      console.log(`${b.name} cold start loads ${p.length} packages: ${shown || '-'}`);
    }

    await firstRequests(
      tmp,
      bundles.map((b) => ({ name: b.name, dir: b.dir })),
      (folder) => ({
        target: String(deployment(folder)?.entryPoint ?? folder),
        env: envs.get(folder) ?? {},
      }),
    );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
};

async function firstRequests(
  tmp: string,
  bundles: { name: string; dir: string }[],
  deployed: (folder: string) => { target: string; env: Record<string, string> },
): Promise<void> {
  if (FIRST_RUNS < 1) return;
  console.log(
    `\nfirst request after a cold start: functions-framework CLI on the bundle, median of ${FIRST_RUNS}` +
      ' (ready = listening, first answer = spawn to the response of the first request; ratio = median of the' +
      " rounds' first answer over the framework alone's in the same round, target <= 1.5)",
  );
  const backends = await startBackends();
  try {
    for (const p of backends.problems) console.log(`  skipped scenarios: ${p}`);
    const dirs = new Map(bundles.map((b) => [b.name, b.dir]));
    dirs.set('noop', noopBundle(join(tmp, 'noop')));
    dirs.set('noop-mjs', noopBundle(join(tmp, 'noop-mjs'), 'index.mjs'));
    const list = scenarios(backends).filter((s) => dirs.has(s.folder));
    const results = new Map(list.map((s) => [s, [] as ColdStart[]]));
    const errors = new Map<(typeof list)[number], string>();
    for (let i = 0; i < FIRST_RUNS; i++) {
      for (const s of list) {
        if (errors.has(s)) continue;
        const d = s.folder.startsWith('noop') ? { target: 'noop', env: {} } : deployed(s.folder);
        try {
          await s.prepare?.();
          results
            .get(s)!
            .push(await coldStart(dirs.get(s.folder)!, d.target, { ...d.env, ...s.env }, s.request));
        } catch (err) {
          errors.set(s, (err as Error).message.split('\n').slice(0, 3).join(' | '));
        }
      }
    }
    console.log(
      'scenario                                                            ready ms   first answer ms   ratio   request ms   status',
    );
    // Each round runs every scenario once, the framework alone first: a scenario's ratio is the median over
    // the rounds of its first answer over the framework alone's in the same round (target <= 1.5).
    const noop = list.find((s) => s.folder === 'noop');
    const alone = noop ? results.get(noop)!.map((x) => x.firstMs) : [];
    for (const s of list) {
      const r = results.get(s)!;
      const err = errors.get(s);
      if (err) {
        console.log(`${s.name.padEnd(66)} failed: ${err}`);
        continue;
      }
      const statuses = [...new Set(r.map((x) => x.status))];
      const ok = statuses.every((x) => s.expect.includes(x));
      const first = median(r.map((x) => x.firstMs));
      const ratios = r.map((x, i) => x.firstMs / (alone[i] ?? Number.NaN));
      const ratio = Number.isNaN(median(ratios)) ? 'n/a' : `${median(ratios).toFixed(2)}x`;
      console.log(
        `${s.name.padEnd(66)} ${ms(median(r.map((x) => x.readyMs)), 8)}   ${ms(first, 15)}   ${ratio.padStart(5)}   ${ms(median(r.map((x) => x.firstMs - x.readyMs)), 10)}   ${statuses.join('/')}${ok ? '' : ` (expected ${s.expect.join('/')})`}`,
      );
    }
  } finally {
    await backends.stop();
  }
}
