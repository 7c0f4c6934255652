/**
 * Warm throughput of the labels routes beside functions-framework's hello world, for `npm run bench -- labels`:
 * the labels function as the cloud entry builds it (createLabelsApp: REST reads, circuit breaker, the cache
 * on or off) and a handler that only answers, both served by functions-framework's own server, driven by
 * autocannon over loopback for a bounded time. Each route's run follows a hello-world run of its own, so each
 * ratio compares two measurements taken side by side. Firestore reads are counted below the cache (documents
 * asked for, plus version-stamp reads) and given per 1,000 requests.
 */
import type { AddressInfo } from 'node:net';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import autocannon from 'autocannon';
import { createLabelsApp, loadLabelsAppConfig } from '../functions/labels/app.ts';
import { createRestFirestore, type RestFirestore } from '../shared/labels/firestore-rest.ts';
import { createLogger } from '../shared/log.ts';

const SECONDS = Number(process.env.BENCH_THROUGHPUT_SECONDS ?? 4);
const CONNECTIONS = Number(process.env.BENCH_THROUGHPUT_CONNECTIONS ?? 10);
/** Hello world and route runs alternate this many times; the medians are compared. */
const ROUNDS = Number(process.env.BENCH_THROUGHPUT_ROUNDS ?? 3);

/** Counts the documents each call asks Firestore for (a query: the documents it returns, at least 1). */
function counting(inner: RestFirestore) {
  const n = { reads: 0 };
  const fs: RestFirestore = {
    batchGet: (c, ids, mask) => {
      n.reads += ids.length;
      return inner.batchGet(c, ids, mask);
    },
    get: (c, id, mask) => {
      n.reads++;
      return inner.get(c, id, mask);
    },
    queryByInt: async (c, w, o, s) => {
      const docs = await inner.queryByInt(c, w, o, s);
      n.reads += Math.max(1, docs.length);
      return docs;
    },
    close: () => inner.close(),
  };
  return { fs, n };
}

const closers: (() => Promise<void>)[] = [];

async function listen(name: string, handler: Parameters<typeof http>[1]): Promise<string> {
  http(name, handler);
  const server = getTestServer(name);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise<void>((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!;

interface Run {
  rps: number;
  p50: number;
  p99: number;
  /** Requests sent (completed or not), for reads per request. */
  sent: number;
  bad: number;
  /** Non-2xx statuses seen, e.g. `503:12`. */
  codes: string[];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Requests a connection sends in turn; each connection gets a list of its own (see drive). */
type RequestList = () => autocannon.Request[];
const LIST_LENGTH = 500;

/**
 * Each connection cycles through its own list of requests built before the run, so the client (in this
 * process, like the servers) spends no time per request making random bodies: autocannon rebuilds a request
 * whose `setupRequest` is a function before every send.
 */
async function drive(url: string, requests: RequestList): Promise<Run> {
  const r = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: SECONDS,
    setupClient: (client) => client.setRequests(requests()),
  });
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    sent: (r.requests as { sent?: number }).sent ?? r.requests.total,
    bad: r.errors + r.timeouts + r.non2xx,
    codes: Object.entries(r.statusCodeStats ?? {})
      .filter(([code]) => !code.startsWith('2'))
      .map(([code, v]) => `${code}:${v.count}`),
  };
}

type LabelsServer = { url: string; n: { reads: number }; rest: RestFirestore };

/** The labels function as the cloud entry builds it, with the cache on and off, reads counted. */
async function labelsServers(o: { emulatorHost: string; projectId: string }) {
  const servers = new Map<string, LabelsServer>();
  for (const cache of ['on', 'off']) {
    const rest = createRestFirestore({ projectId: o.projectId, emulatorHost: o.emulatorHost });
    const c = counting(rest);
    const config = loadLabelsAppConfig({
      FIRESTORE_EMULATOR_HOST: o.emulatorHost,
      GOOGLE_CLOUD_PROJECT: o.projectId,
      LABELS_CACHE_BYTES: cache === 'off' ? '0' : String(64 * 1024 * 1024),
    });
    const app = createLabelsApp({ config, restFirestore: c.fs, logger: createLogger({}, () => {}) });
    servers.set(cache, { url: await listen(`bench-labels-cache-${cache}`, app.handler), n: c.n, rest });
  }
  return servers;
}

/** ROUNDS of hello world then the route; prints the medians, their ratio and the reads per 1,000 requests. */
async function measure(name: string, cache: string, hello: string, s: LabelsServer, req: RequestList) {
  const base: Run[] = [];
  const runs: Run[] = [];
  s.n.reads = 0;
  for (let round = 0; round < ROUNDS; round++) {
    base.push(await drive(hello, () => [{ method: 'GET', path: '/' }]));
    runs.push(await drive(s.url, req));
  }
  const perK =
    (s.n.reads /
      Math.max(
        1,
        runs.reduce((n, r) => n + r.sent, 0),
      )) *
    1000;
  const codes = [...new Set(runs.flatMap((r) => r.codes))];
  const rps = median(runs.map((r) => r.rps));
  const hrps = median(base.map((r) => r.rps));
  const ratio = `${((100 * rps) / hrps).toFixed(0)}%`;
  console.log(
    `${name.padEnd(38)} ${cache.padEnd(5)}  ${rps.toFixed(0).padStart(7)} ${hrps.toFixed(0).padStart(11)} ${ratio.padStart(6)} ${String(median(runs.map((r) => r.p50))).padStart(7)} ${String(median(runs.map((r) => r.p99))).padStart(7)} ${perK.toFixed(1).padStart(12)}  ${runs.reduce((n, r) => n + r.bad, 0)}${codes.length ? ` (${codes.join(' ')})` : ''}`,
  );
}

/** Every hot id and patient once, so a cached run starts with its working set cached; what failed, if any. */
async function warmUp(url: string, hot: readonly string[], patients: readonly number[]) {
  for (let i = 0; i < hot.length; i += 250) {
    const res = await fetch(`${url}/v1/images:batchGet`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ imageIds: hot.slice(i, i + 250) }),
    });
    await res.arrayBuffer();
    if (res.status !== 200) return `batchGet answered ${res.status}`;
  }
  for (const p of patients) {
    const res = await fetch(`${url}/v1/patients/${p}/images`);
    await res.arrayBuffer();
    if (res.status !== 200) return `GET /v1/patients/${p}/images answered ${res.status}`;
  }
  return undefined;
}

export async function warmThroughput(o: {
  emulatorHost: string;
  projectId: string;
  ids: readonly string[];
}): Promise<void> {
  const hot = o.ids.slice(0, 1000);
  // The emulator answers a patient query by scanning the collection (seconds on 20,000 documents, past the
  // 10 s deadline on the 112,120 real ones under load; Firestore uses the composite index): a small hot set
  // of patients, warmed one by one, keeps the cached run about our code, and the uncached one is not run.
  const patients = [...new Set(hot.map((id) => Number(id.slice(0, 8))))].slice(0, 5);
  const hello = await listen('bench-hello', (_req, res) => {
    res.send('ok');
  });
  const servers = await labelsServers(o);
  const json = { 'content-type': 'application/json' };
  const list = (make: () => autocannon.Request) => () => Array.from({ length: LIST_LENGTH }, make);
  const routes: [string, RequestList][] = [
    ['GET /v1/images/{id} (1,000 hot ids)', list(() => ({ method: 'GET', path: `/v1/images/${pick(hot)}` }))],
    [
      'POST /v1/images:batchGet (100 ids)',
      list(() => ({
        method: 'POST',
        path: '/v1/images:batchGet',
        headers: json,
        body: JSON.stringify({ imageIds: Array.from({ length: 100 }, () => pick(hot)) }),
      })),
    ],
    [
      'GET /v1/patients/{id}/images (5 hot)',
      list(() => ({ method: 'GET', path: `/v1/patients/${pick(patients)}/images` })),
    ],
  ];
  console.log(
    `warm throughput: autocannon, ${CONNECTIONS} connections, ${SECONDS} s per run, loopback, requests built before each run (${LIST_LENGTH} random ones per connection); hello world and route runs alternate ${ROUNDS} times, medians compared`,
  );
  console.log(
    `${'route'.padEnd(38)} cache  ${'req/s'.padStart(7)} ${'hello req/s'.padStart(11)} ${'ratio'.padStart(6)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'reads/1k req'.padStart(12)}  non-2xx/errors`,
  );
  try {
    for (const [name, req] of routes) {
      for (const cache of ['on', 'off']) {
        const s = servers.get(cache)!;
        const forPatients = name.startsWith('GET /v1/patients');
        if (forPatients && cache === 'off') {
          console.log(`${name.padEnd(38)} off    not run: each request is an emulator collection scan`);
          continue;
        }
        const failed = await warmUp(s.url, hot, forPatients ? patients : []);
        if (failed) console.log(`${name.padEnd(38)} ${cache.padEnd(5)}  not run: warm-up ${failed}`);
        else await measure(name, cache, hello, s, req);
      }
    }
  } finally {
    for (const s of servers.values()) s.rest.close();
    await Promise.all(closers.splice(0).map((close) => close()));
  }
}
