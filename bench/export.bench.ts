/**
 * `npm run bench -- export`: the time budget of a signed cohort export (POST /v1/cohorts:export, urls:
 * "signed", CSV) against the cohorts function's 300 s timeout, through the real route over an in-memory DuckDB
 * store, read to the last byte over HTTP:
 * - HMAC path: the whole dataset's size (112,120 rows; BENCH_EXPORT_ROWS);
 * - IAM path at its cap (SIGNED_EXPORT_IAM_MAX_ROWS, default 10,000): google-auth-library's GoogleAuth.sign
 *   (Compute credentials from a metadata-server stand-in) calls a signBlob stand-in in a child process that
 *   answers after BENCH_SIGNBLOB_MS (default 100 ms: an assumed round trip to Google, which cannot be measured
 *   offline) and also with no added delay (this machine's own cost: HTTP, RSA in the stand-in, the route);
 * - the same route refusing the cap + 1 rows (the 422 comes from the cohort total, before streaming).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { createCohortsRoutes } from '../functions/cohorts/routes.ts';
import { createDuckDbCohortStore } from '../shared/cohorts/duckdb-store.ts';
import { createPageTokens } from '../shared/cohorts/page-token.ts';
import { toCohortRows } from '../shared/cohorts/rows.ts';
import type { CohortStore } from '../shared/cohorts/store.ts';
import { createRouter } from '../shared/http/router.ts';
import { createLogger } from '../shared/log.ts';
import { DEFAULT_IAM_EXPORT_MAX_ROWS, DEFAULT_MAX_URL_SECONDS } from '../shared/signing/config.ts';
import { createHmacSigner } from '../shared/signing/hmac-signer.ts';
import { createIamSigner } from '../shared/signing/iam-signer.ts';
import type { SignerKind, UrlSigner } from '../shared/signing/url-signer.ts';
import { handRecords } from '../test/cohorts/hand-records.ts';
import { startMetadataStandIn } from '../test/harness/google-stand-ins.ts';
import { rsaKey } from '../test/signing/fixtures.ts';

const TIMEOUT_S = 300;
const ALL_ROWS = Number(process.env.BENCH_EXPORT_ROWS ?? 112_120);
const CAP = Number(process.env.BENCH_IAM_CAP ?? DEFAULT_IAM_EXPORT_MAX_ROWS);
const SIGNBLOB_MS = Number(process.env.BENCH_SIGNBLOB_MS ?? 100);
const IAM_CONCURRENCY = 16;
const quiet = createLogger({}, () => {});

async function storeOf(rows: number): Promise<CohortStore> {
  const store = await createDuckDbCohortStore({ tokens: createPageTokens('export-bench-secret-0123456789') });
  await store.load(handRecords(rows, 17).map(toCohortRows));
  return store;
}

let n = 0;
/** The export route with this signer, listening on a free port. */
async function serve(
  store: CohortStore,
  signer: UrlSigner,
  kind: SignerKind,
): Promise<{ url: string; close: () => void }> {
  const name = `export-bench-${n++}`;
  const routes = createCohortsRoutes({
    store,
    signer,
    signerKind: kind,
    limits: { maxExpiresInSeconds: DEFAULT_MAX_URL_SECONDS, iamExportMaxRows: CAP },
    logger: quiet,
  });
  http(name, createRouter(routes, { logger: quiet }));
  const server = getTestServer(name) as Server;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => server.close(),
  };
}

/** One export read to the last byte: status, data lines and wall time. */
async function exportOnce(url: string): Promise<{ status: number; rows: number; ms: number }> {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/cohorts:export`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ format: 'csv', urls: 'signed' }),
  });
  let rows = 0;
  if (res.body) {
    const decoder = new TextDecoder();
    for await (const chunk of res.body) {
      for (const c of decoder.decode(chunk, { stream: true })) if (c === '\n') rows++;
    }
  }
  const ms = performance.now() - t0;
  return { status: res.status, rows, ms };
}

async function startStandIn(
  email: string,
  token: string,
  keyFile: string,
  delayMs: number,
): Promise<{ endpoint: string; child: ChildProcess; stats: () => Promise<unknown> }> {
  const child = spawn(
    process.execPath,
    [join(import.meta.dirname, 'signblob-stand-in.ts'), email, token, keyFile, String(delayMs)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const first = await lines.next();
  const { endpoint } = JSON.parse(String(first.value)) as { endpoint: string };
  return {
    endpoint,
    child,
    stats: async () => {
      child.kill('SIGTERM');
      const last = await lines.next();
      return last.done ? undefined : (JSON.parse(String(last.value)) as { stats: unknown }).stats;
    },
  };
}

const line = (label: string, r: { status: number; rows: number; ms: number }, dataRows: number) =>
  `${label.padEnd(44)} ${String(r.status).padStart(3)}  ${String(dataRows).padStart(7)} rows  ` +
  `${(r.ms / 1000).toFixed(1).padStart(6)} s  ${String(Math.round((dataRows * 1000) / r.ms)).padStart(7)} rows/s  ` +
  `${((r.ms / 1000 / TIMEOUT_S) * 100).toFixed(1).padStart(5)}% of ${TIMEOUT_S} s`;

export default async function bench(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'nih-cxr-export-bench-'));
  const key = rsaKey();
  const keyFile = join(tmp, 'key.pem');
  writeFileSync(keyFile, key.pem);
  const metadata = await startMetadataStandIn();
  const saved = { host: process.env.GCE_METADATA_HOST, detect: process.env.METADATA_SERVER_DETECTION };
  // google-auth-library's Compute client, as on Cloud Run: token and e-mail from the metadata server.
  process.env.GCE_METADATA_HOST = metadata.host;
  process.env.METADATA_SERVER_DETECTION = 'assume-present';
  const { GoogleAuth } = await import('google-auth-library');
  try {
    console.log(
      `signed CSV export through the route, read to the last byte; ${availableParallelism()} cores, load ${loadavg()[0]!.toFixed(1)} (shared machine)`,
    );
    const big = await storeOf(ALL_ROWS);
    const hmac = createHmacSigner({
      accessId: 'GOOG1EBENCH',
      secret: 'bench-secret',
      billingProject: 'my-billing-1',
    });
    const h = await serve(big, hmac, 'hmac');
    const attribution = (await exportOnce(h.url)).rows - ALL_ROWS; // warm-up; # lines + header
    const hr = await exportOnce(h.url);
    console.log(line('HMAC path, whole dataset', hr, hr.rows - attribution));
    h.close();
    await big.close();

    const atCap = await storeOf(CAP);
    const overCap = await storeOf(CAP + 1);
    for (const delay of [SIGNBLOB_MS, 0]) {
      const standIn = await startStandIn(metadata.email, metadata.accessToken, keyFile, delay);
      const auth = new GoogleAuth({ scopes: ['https://www.googleapis.com/auth/cloud-platform'] });
      const iam = createIamSigner({
        auth: { sign: (d) => auth.sign(d, standIn.endpoint), getCredentials: () => auth.getCredentials() },
        billingProject: 'my-billing-1',
        concurrency: IAM_CONCURRENCY,
        logger: quiet,
      });
      const s = await serve(atCap, iam, 'iam');
      const r = await exportOnce(s.url);
      const label = `IAM path at the cap, signBlob +${delay} ms`;
      console.log(line(label, r, r.rows - attribution));
      s.close();
      const stats = (await standIn.stats()) as { signed: number; refused: string[] } | undefined;
      if (stats && (stats.signed !== CAP || stats.refused.length > 0))
        console.log(`  signBlob stand-in: ${stats.signed} signed, ${stats.refused.length} refused`);
    }
    const refuse = await serve(overCap, hmac, 'iam');
    const over = await exportOnce(refuse.url);
    console.log(
      `${`IAM path, cap + 1 rows (${CAP + 1})`.padEnd(44)} ${over.status}  refused in ${over.ms.toFixed(0)} ms, before streaming`,
    );
    refuse.close();
    await atCap.close();
    await overCap.close();
    console.log(
      `IAM projection: ${CAP} signatures / ${IAM_CONCURRENCY} in flight x round trip; ` +
        `at 100 ms ${((CAP / IAM_CONCURRENCY) * 0.1).toFixed(0)} s, at 200 ms ${((CAP / IAM_CONCURRENCY) * 0.2).toFixed(0)} s ` +
        `(the whole dataset, ${ALL_ROWS} rows, would need ${((ALL_ROWS / IAM_CONCURRENCY) * 0.1).toFixed(0)}-${((ALL_ROWS / IAM_CONCURRENCY) * 0.2).toFixed(0)} s)`,
    );
  } finally {
    await metadata.stop();
    if (saved.host === undefined) delete process.env.GCE_METADATA_HOST;
    else process.env.GCE_METADATA_HOST = saved.host;
    if (saved.detect === undefined) delete process.env.METADATA_SERVER_DETECTION;
    else process.env.METADATA_SERVER_DETECTION = saved.detect;
    rmSync(tmp, { recursive: true, force: true });
  }
}
