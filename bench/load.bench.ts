/**
 * Load test: `npm start` as a child (the real NIH files when NIH_DATA_DIR is set, else the synthetic sample;
 * HMAC signing configured through its environment), loopback only, driven by autocannon with 50 concurrent
 * connections for 20 s (LOAD_CONNECTIONS, LOAD_SECONDS), after a warm-up of the same mix for 20 s
 * (LOAD_WARMUP_SECONDS, 0 for none; printed too, as the cold-cache figures): label lookups of random real
 * ids, batchGets of 100 ids, cohort queries over a mix of filters, and signing of 20 ids, each route on its
 * own share of the connections so that its latency is its own. Prints requests/s, p50/p99 per route, errors, timeouts and
 * non-2xx counts, and the server's peak memory (VmHWM of the server process; sampled VmRSS of its whole
 * process tree, emulators included). Stops everything it started.
 */
import autocannon from 'autocannon';
import { descendants, type NpmStart, startNpmStart, statusKiB } from '../test/harness/npm-start.ts';

const SECONDS = Number(process.env.LOAD_SECONDS ?? 20);
const WARMUP_SECONDS = Number(process.env.LOAD_WARMUP_SECONDS ?? 20);
const CONNECTIONS = Number(process.env.LOAD_CONNECTIONS ?? 50);
const JSON_HEADERS = { 'content-type': 'application/json' };

const FILTERS: unknown[] = [
  { findings: { any: ['Effusion'] }, sex: ['F'], age: { min: 60 }, view: ['PA'] },
  { expert: { fourFindings: { pneumothorax: true } } },
  { split: ['test'] },
  { noFinding: true, age: { max: 30 } },
  { findings: { all: ['Mass', 'Nodule'] } },
  { hasBoundingBox: true },
  { view: ['AP'], findings: { none: ['Infiltration'] } },
  { expert: { allFindings: { abnormal: false } } },
  {},
];

const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!;
const sample = <T>(xs: readonly T[], n: number): T[] => Array.from({ length: n }, () => pick(xs));

/** A POST of a JSON body made afresh for each request. */
const postJson = (path: string, body: () => unknown): autocannon.Request => ({
  method: 'POST',
  headers: JSON_HEADERS,
  setupRequest: (r) => ({ ...r, path, body: JSON.stringify(body()) }),
});

interface Mix {
  name: string;
  share: number;
  request: autocannon.Request;
}

function mix(ids: string[], patients: number[]): Mix[] {
  return [
    {
      name: 'GET /v1/images/{imageId}',
      share: 0.4,
      request: { method: 'GET', setupRequest: (r) => ({ ...r, path: `/v1/images/${pick(ids)}` }) },
    },
    {
      name: 'POST /v1/images:batchGet (100 ids)',
      share: 0.2,
      request: postJson('/v1/images:batchGet', () => ({ imageIds: sample(ids, 100) })),
    },
    {
      name: 'POST /v1/cohorts:query (100/page)',
      share: 0.2,
      request: postJson('/v1/cohorts:query', () => {
        const filter = Math.random() < 0.1 ? { patientIds: sample(patients, 20) } : pick(FILTERS);
        return { filter, pageSize: 100 };
      }),
    },
    {
      name: 'POST /v1/images:signUrls (20 ids)',
      share: 0.2,
      request: postJson('/v1/images:signUrls', () => ({
        imageIds: sample(ids, 20),
        format: pick(['png', 'dicom']),
      })),
    },
  ];
}

/** Every image id and patient id the server holds, read back through the export route. */
async function datasetIds(url: string): Promise<{ ids: string[]; patients: number[] }> {
  const res = await fetch(`${url}/v1/cohorts:export`, {
    method: 'POST',
    headers: JSON_HEADERS,
    body: JSON.stringify({ filter: {}, format: 'ndjson' }),
  });
  const lines = (await res.text()).trim().split('\n').slice(1);
  const rows = lines.map((l) => JSON.parse(l) as { imageId: string; patientId: number });
  return { ids: rows.map((r) => r.imageId), patients: [...new Set(rows.map((r) => r.patientId))] };
}

/** Samples the summed VmRSS of the server's process tree until stopped. */
function memorySampler(root: number) {
  let peakTreeKiB = 0;
  const timer = setInterval(() => {
    const kib = descendants(root).reduce((sum, p) => sum + statusKiB(p.pid, 'VmRSS'), 0);
    peakTreeKiB = Math.max(peakTreeKiB, kib);
  }, 250);
  return { stop: () => clearInterval(timer), peakTreeKiB: () => peakTreeKiB };
}

const mib = (kib: number) => `${(kib / 1024).toFixed(0)} MiB`;
const pad = (s: string | number, n: number) => String(s).padStart(n);

/** Every route of the mix on its share of the connections, at once; prints one line per route. */
async function runMix(url: string, ids: string[], patients: number[], seconds: number): Promise<void> {
  const routes = mix(ids, patients);
  let left = CONNECTIONS;
  const runs = routes.map((m, i) => {
    const connections = i === routes.length - 1 ? left : Math.max(1, Math.round(CONNECTIONS * m.share));
    left -= connections;
    return autocannon({
      url,
      connections,
      duration: seconds,
      timeout: 30,
      requests: [m.request],
    }).then((r) => ({ m, connections, r }));
  });
  const results = await Promise.all(runs);

  console.log(
    `${'route'.padEnd(36)} ${pad('conns', 5)} ${pad('req/s', 8)} ${pad('p50 ms', 7)} ${pad('p99 ms', 7)} ${pad('errors', 6)} ${pad('timeouts', 8)} ${pad('non-2xx', 7)}`,
  );
  let total = 0;
  let bad = 0;
  for (const { m, connections, r } of results) {
    total += r.requests.total;
    bad += r.errors + r.timeouts + r.non2xx;
    const codes = Object.entries(r.statusCodeStats ?? {})
      .filter(([code]) => !code.startsWith('2'))
      .map(([code, v]) => `${code}:${v.count}`);
    console.log(
      `${m.name.padEnd(36)} ${pad(connections, 5)} ${pad(r.requests.average.toFixed(0), 8)} ${pad(r.latency.p50, 7)} ${pad(r.latency.p99, 7)} ${pad(r.errors, 6)} ${pad(r.timeouts, 8)} ${pad(r.non2xx, 7)}${codes.length ? `  (${codes.join(' ')})` : ''}`,
    );
  }
  console.log(`${'all routes'.padEnd(36)} ${pad(CONNECTIONS, 5)} ${pad((total / seconds).toFixed(0), 8)}`);
  console.log(
    bad === 0 ? 'errors, timeouts and non-2xx: none' : `TARGET MISSED: ${bad} errors/timeouts/non-2xx`,
  );
}

/** Stops the server and reports whether every process it started is gone. */
async function stopAndCheck(server: NpmStart | undefined): Promise<void> {
  if (server) {
    const pids = server.tree().map((p) => p.pid);
    await server.stop();
    // The emulators stop with the server: give their process groups a moment, then check.
    const deadline = Date.now() + 15_000;
    let alive = pids.filter((pid) => statusKiB(pid, 'VmRSS') > 0);
    while (alive.length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      alive = pids.filter((pid) => statusKiB(pid, 'VmRSS') > 0);
    }
    console.log(
      alive.length === 0
        ? `stopped: all ${pids.length} processes of the server are gone`
        : `NOT STOPPED: ${alive.join(', ')}`,
    );
  }
}

export default async function load(): Promise<void> {
  const dataDir = process.env.NIH_DATA_DIR;
  const startedAt = Date.now();
  let server: NpmStart | undefined;
  try {
    server = await startNpmStart(
      {
        BILLING_PROJECT: 'nih-cxr-load-bench',
        HMAC_ACCESS_ID: 'GOOG1ELOADBENCHNOTREAL',
        HMAC_SECRET: 'load-bench-hmac-secret-not-real',
        ...(dataDir ? {} : { NIH_DATA_DIR: undefined }),
      },
      { readyTimeoutMs: 900_000 },
    );
    const health = (await (await fetch(`${server.url}/v1/healthz`)).json()) as {
      dataset: string;
      images: number;
    };
    const { ids, patients } = await datasetIds(server.url);
    const tree = server.tree();
    const node = tree.find((p) => /scripts\/start\.ts/.test(p.cmd) && !/^sh /.test(p.cmd));
    const readyKiB = node ? statusKiB(node.pid, 'VmRSS') : 0;
    console.log(
      `npm start: ${health.dataset} data, ${health.images.toLocaleString('en')} images, ready in ${((Date.now() - startedAt) / 1000).toFixed(0)} s; ${CONNECTIONS} connections for ${SECONDS} s on loopback`,
    );

    const sampler = memorySampler(server.child.pid!);
    if (WARMUP_SECONDS > 0) {
      // Instances that live past their first seconds have the label cache filled: the first run shows the
      // cold cache (every id a Firestore read at first), the measured one the steady state.
      console.log(`warm-up, ${WARMUP_SECONDS} s from a cold label cache:`);
      await runMix(server.url, ids, patients, WARMUP_SECONDS);
      console.log(`measured, ${SECONDS} s:`);
    }
    await runMix(server.url, ids, patients, SECONDS);
    sampler.stop();
    const hwm = node ? statusKiB(node.pid, 'VmHWM') : 0;
    console.log(
      `server memory: node process peak RSS (VmHWM) ${mib(hwm)} (${mib(readyKiB)} when ready); whole process tree (server, Firestore emulator JVM, Storage emulator) peak ${mib(sampler.peakTreeKiB())} (VmRSS sampled every 250 ms)`,
    );
  } finally {
    await stopAndCheck(server);
  }
}
