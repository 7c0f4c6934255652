/**
 * Every HTTP route of the project behind one functions-framework test server, each function built by its
 * app.ts from one environment as its cloud entry builds it (as npm start mounts them), on real backends: the
 * Firestore emulator and an in-memory DuckDB store, both loaded with the synthetic sample (written in the NIH
 * file formats and read back through loadDatasetDir), and the HMAC signer with a test secret. Log lines are
 * captured, and every filter that reaches the cohort store is recorded for the SQL-shape invariant.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { createCohortsApp, loadCohortsAppConfig } from '../../functions/cohorts/app.ts';
import { createLabelsApp, loadLabelsAppConfig } from '../../functions/labels/app.ts';
import { createSignerApp, loadSignerAppConfig } from '../../functions/signer/app.ts';
import { createDuckDbCohortStore } from '../../shared/cohorts/duckdb-store.ts';
import type { CohortFilter } from '../../shared/cohorts/filter.ts';
import { createPageTokens } from '../../shared/cohorts/page-token.ts';
import { toCohortRows } from '../../shared/cohorts/rows.ts';
import type { CohortStore } from '../../shared/cohorts/store.ts';
import { loadDatasetDir } from '../../shared/dataset/index.ts';
import { createMetaRoutes } from '../../shared/http/meta-routes.ts';
import { createRouter } from '../../shared/http/router.ts';
import { loadRecords } from '../../shared/labels/loader.ts';
import { createLogger } from '../../shared/log.ts';
import type { ImageRecord } from '../../shared/model/index.ts';
import { buildOpenApiDocument } from '../../shared/openapi/build.ts';
import { writeSyntheticDataset } from '../../shared/sample/synthetic.ts';
import { MAX_EXPIRES_SECONDS } from '../../shared/signing/v4.ts';
import { startTestFirestore } from '../harness/firestore.ts';

/** The HMAC key's id: public, it is in every signed URL (X-Goog-Credential). */
export const HMAC_ACCESS_ID = 'GOOG1EFUZZACCESSIDNOTREAL';
/** Test secrets: they must never show up in a log line or a response. */
export const SECRETS = {
  hmacSecret: 'fuzz-hmac-secret-6f1d0c8e-not-a-real-key',
  pageTokenSecret: 'fuzz-page-token-secret-93b2a7d4-not-real',
} as const;
export const BILLING_PROJECT = 'nih-cxr-fuzz-billing';
export const ALLOWED_ORIGIN = 'https://app.example';

export interface FuzzRig {
  server: Server;
  records: ImageRecord[];
  imageIds: string[];
  patientIds: number[];
  /** Filters the cohort store was asked to run, in order; the test drains it after each request. */
  storeFilters: CohortFilter[];
  /** Captured log lines (JSON). */
  logs: string[];
  stop(): Promise<void>;
}

/** Wraps a store so that every filter it is asked to run is recorded. */
function recording(store: CohortStore, seen: CohortFilter[]): CohortStore {
  return {
    ...store,
    query: (f, n, t, o) => {
      seen.push(f);
      return store.query(f, n, t, o);
    },
    summary: (f, o) => {
      seen.push(f);
      return store.summary(f, o);
    },
    split: (f, o) => {
      seen.push(f);
      return store.split(f, o);
    },
    export: (f, o) => {
      seen.push(f);
      return store.export(f, o);
    },
  };
}

let started = 0;

export async function startFuzzRig(opts: { images?: number } = {}): Promise<FuzzRig> {
  const dir = await mkdtemp(join(tmpdir(), 'nih-cxr-fuzz-'));
  const fs = await startTestFirestore();
  const store = await createDuckDbCohortStore({
    tokens: createPageTokens(SECRETS.pageTokenSecret),
    threads: 1,
  });
  let server: Server | undefined;
  const stop = async () => {
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await store.close();
    await fs.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await writeSyntheticDataset(dir, { images: opts.images ?? 300, seed: 11 });
    const { records } = await loadDatasetDir(dir);
    await loadRecords(fs.db, records, { throttle: false });
    await store.load(records.map(toCohortRows));

    const logs: string[] = [];
    const log = createLogger({}, (line) => logs.push(line));
    const storeFilters: CohortFilter[] = [];
    const env = {
      ...fs.env,
      PAGE_TOKEN_SECRET: SECRETS.pageTokenSecret,
      BILLING_PROJECT,
      HMAC_ACCESS_ID,
      HMAC_SECRET: SECRETS.hmacSecret,
      // A deployment that allows the longest lifetime Cloud Storage does.
      SIGNED_URL_MAX_SECONDS: String(MAX_EXPIRES_SECONDS),
      CORS_ORIGINS: ALLOWED_ORIGIN,
    };
    const labels = createLabelsApp({ config: loadLabelsAppConfig(env), meta: false, logger: log });
    const cohorts = createCohortsApp({
      config: loadCohortsAppConfig(env),
      openStore: async () => recording(store, storeFilters),
      logger: log,
    });
    const signer = createSignerApp({ config: loadSignerAppConfig(env), logger: log });
    const httpConfig = loadLabelsAppConfig(env).http;
    let openapi: unknown;
    const routes = [
      ...labels.routes,
      ...cohorts.routes,
      ...signer.routes,
      ...createMetaRoutes({
        openapi: () => openapi,
        health: () => ({ status: 'ok', dataset: 'synthetic', images: records.length }),
      }),
    ];
    openapi = buildOpenApiDocument(routes, { serverUrl: 'http://127.0.0.1' });
    const name = `nih-cxr-fuzz-${started++}`;
    http(name, createRouter(routes, { logger: log, ...httpConfig }));
    const s = getTestServer(name);
    server = s;
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    return {
      server: s,
      records,
      imageIds: records.map((r) => r.imageId),
      patientIds: [...new Set(records.map((r) => r.patientId))],
      storeFilters,
      logs,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
