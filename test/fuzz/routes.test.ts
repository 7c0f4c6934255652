/**
 * Property-based fuzzing of every HTTP route (fast-check, FUZZ_RUNS runs each, default 1,000) through
 * functions-framework's test server on real backends (test/fuzz/rig.ts). Invariants on every response: never
 * a 5xx, nosniff, CORS only for the allowed origin, no secret or stack trace in a body, and every 4xx a
 * problem+json matching the problem schema. Per route, an input model says which requests must succeed and
 * which must be refused (and how); signed URLs only ever name dataset objects; the SQL of every accepted
 * filter equals that of its canonical same-shape filter. Figures are printed at the end and written to
 * .tmp/fuzz-figures.json. Replay a failure with FUZZ_SEED (printed).
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import request from 'supertest';
import { agreementFuzz } from './agreement-fuzz.ts';
import { checkEveryResponse, checkOutcome, compactReport, send, Tally } from './check.ts';
import { exportFuzz, queryFuzz, splitFuzz, summaryFuzz } from './cohorts-fuzz.ts';
import { batchGetFuzz, getImageFuzz, getPatientFuzz } from './labels-fuzz.ts';
import { type FuzzRig, SECRETS, startFuzzRig } from './rig.ts';
import type { RouteFuzz } from './route-fuzz.ts';
import { signaturesVerified } from './signed-urls.ts';
import { contentFuzz, metaFuzzers, signUrlsFuzz } from './signer-fuzz.ts';
import { sqlShapesChecked } from './sql-shape.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 1000);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
/** Substring of the routes to fuzz (FUZZ_ROUTES=cohorts), for replaying one failure. */
const ONLY = process.env.FUZZ_ROUTES ?? '';
const FUZZERS: RouteFuzz[] = [
  getImageFuzz,
  batchGetFuzz,
  getPatientFuzz,
  queryFuzz,
  summaryFuzz,
  splitFuzz,
  exportFuzz,
  agreementFuzz,
  signUrlsFuzz,
  contentFuzz,
  ...metaFuzzers,
];

let rig: FuzzRig;
const tally = new Tally();
const started = Date.now();

describe(`fuzzing every route (${RUNS} runs each, seed ${SEED})`, { timeout: 900_000 }, () => {
  before(async () => {
    rig = await startFuzzRig();
  });
  after(async () => {
    await rig?.stop();
    const figures = {
      seed: SEED,
      runsPerRoute: RUNS,
      seconds: Math.round((Date.now() - started) / 1000),
      signaturesVerified: signaturesVerified(),
      filtersWithSqlShapeChecked: sqlShapesChecked(),
      routes: Object.fromEntries(tally.routes),
    };
    console.log(
      `fuzz figures (seed ${SEED}, ${figures.seconds} s; ${figures.signaturesVerified} signatures verified, SQL shape of ${figures.filtersWithSqlShapeChecked} accepted filters checked):\n${tally.table()}`,
    );
    mkdirSync('.tmp', { recursive: true });
    writeFileSync('.tmp/fuzz-figures.json', `${JSON.stringify(figures, null, 2)}\n`);
  });

  it('the OpenAPI document lists exactly the fuzzed routes', async () => {
    const res = await request(rig.server).get('/v1/openapi.json').expect(200);
    const listed = Object.entries(res.body.paths as Record<string, Record<string, unknown>>).flatMap(
      ([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`),
    );
    assert.deepEqual(listed.sort(), FUZZERS.map((f) => f.route).sort());
  });

  for (const fuzz of FUZZERS.filter((f) => f.route.includes(ONLY))) {
    it(`${fuzz.route}: ${RUNS} hostile requests, never a 5xx, each answered as the input model says`, async () => {
      const out = await fc.check(
        fc.asyncProperty(fuzz.cases(rig), async (c) => {
          rig.storeFilters.length = 0;
          const res = await send(rig.server, c.req);
          tally.add(fuzz.route, res?.status ?? 0);
          if (!res) return;
          checkEveryResponse(c.req, res);
          checkOutcome(c.req, c.expect, res);
          c.verify?.(res);
        }),
        { numRuns: RUNS, seed: SEED },
      );
      if (out.failed) assert.fail(compactReport(out));
      const t = tally.routes.get(fuzz.route);
      assert.equal(t?.fiveXx, 0);
      assert.ok((t?.runs ?? 0) >= RUNS);
    });
  }

  it('no secret and no request body reached the logs', () => {
    const text = rig.logs.join('\n');
    for (const secret of Object.values(SECRETS)) assert.ok(!text.includes(secret), 'a secret was logged');
    assert.doesNotMatch(text, /"severity":"ERROR"/, 'no request made the server log an error');
  });
});
