/**
 * Least exposure and exports that end in time: the configured longest URL lifetime (SIGNED_URL_MAX_SECONDS,
 * default 1 hour, at most 7 days, checked at start-up) on every route that signs, and the cap on signed
 * exports on the IAM path (SIGNED_EXPORT_IAM_MAX_ROWS), decided from the cohort's total before anything is
 * streamed. Routes in-process through functions-framework over a DuckDB store; URLs checked by the
 * independent V4 verifier (v4-verify.ts); the IAM path signs with a local RSA key (localBlobSigner).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import { createCohortsRoutes } from '../../functions/cohorts/routes.ts';
import { createSignerRoutes } from '../../functions/signer/routes.ts';
import { createDuckDbCohortStore } from '../../shared/cohorts/duckdb-store.ts';
import { CohortFilterSchema } from '../../shared/cohorts/filter.ts';
import { createPageTokens } from '../../shared/cohorts/page-token.ts';
import { toCohortRows } from '../../shared/cohorts/rows.ts';
import type { CohortStore } from '../../shared/cohorts/store.ts';
import { ConfigError } from '../../shared/config.ts';
import { createRouter } from '../../shared/http/router.ts';
import { createLogger } from '../../shared/log.ts';
import { loadSignerConfig } from '../../shared/signing/config.ts';
import { createExportSigner, createUrlSigner, type SignerSetup } from '../../shared/signing/create-signer.ts';
import { handRecords } from '../cohorts/hand-records.ts';
import { expectedIds } from '../cohorts/reference.ts';
import { BILLING, countingSigner, HMAC_ID, HMAC_SECRET, localBlobSigner, rsaKey } from './fixtures.ts';
import { verifyHmacUrl, verifyRsaUrl } from './v4-verify.ts';

const quiet = createLogger({}, () => {});
const key = rsaKey();
const hmacEnv = { BILLING_PROJECT: BILLING, HMAC_ACCESS_ID: HMAC_ID, HMAC_SECRET };
const setupOf = (env: Record<string, string>): SignerSetup =>
  createUrlSigner(loadSignerConfig(env), { googleAuth: () => localBlobSigner(key).auth });

/** Registers the signer routes of a setup under a fresh name and returns its test server. */
let n = 0;
function signerServer(setup: SignerSetup) {
  const name = `limits-signer-${n++}`;
  http(name, createRouter(createSignerRoutes(setup), { logger: quiet }));
  return getTestServer(name);
}

function assertProblem(res: request.Response, status: number, field: string, detail: RegExp): void {
  assert.equal(res.status, status, res.text);
  assert.match(res.headers['content-type'] ?? '', /^application\/problem\+json/);
  const p = JSON.parse(res.text) as { status: number; detail: string; errors?: { path: string }[] };
  assert.equal(p.status, status);
  assert.match(p.detail, detail);
  assert.ok(
    p.errors?.some((e) => e.path === field),
    `${field} in ${res.text}`,
  );
}

describe('SIGNED_URL_MAX_SECONDS, read once at start-up', () => {
  it('defaults to 1 hour and accepts 1 s .. 7 days', () => {
    assert.equal(loadSignerConfig({}).SIGNED_URL_MAX_SECONDS, 3600);
    assert.equal(loadSignerConfig({ SIGNED_URL_MAX_SECONDS: '' }).SIGNED_URL_MAX_SECONDS, 3600);
    assert.equal(loadSignerConfig({ SIGNED_URL_MAX_SECONDS: '1' }).SIGNED_URL_MAX_SECONDS, 1);
    assert.equal(loadSignerConfig({ SIGNED_URL_MAX_SECONDS: '604800' }).SIGNED_URL_MAX_SECONDS, 604_800);
    assert.equal(setupOf(hmacEnv).limits.maxExpiresInSeconds, 3600);
  });

  for (const bad of ['0', '604801', '-5', '1.5', 'an hour', '1e9']) {
    it(`refuses SIGNED_URL_MAX_SECONDS=${bad} with a ConfigError naming it`, () => {
      assert.throws(
        () => loadSignerConfig({ SIGNED_URL_MAX_SECONDS: bad }),
        (e: unknown) => e instanceof ConfigError && /SIGNED_URL_MAX_SECONDS/.test(e.message),
      );
    });
  }

  for (const bad of ['-1', '1000001', 'lots']) {
    it(`refuses SIGNED_EXPORT_IAM_MAX_ROWS=${bad} with a ConfigError naming it`, () => {
      assert.throws(
        () => loadSignerConfig({ SIGNED_EXPORT_IAM_MAX_ROWS: bad }),
        (e: unknown) => e instanceof ConfigError && /SIGNED_EXPORT_IAM_MAX_ROWS/.test(e.message),
      );
    });
  }
});

describe('POST /v1/images:signUrls and GET /content under the lifetime limit', () => {
  const byDefault = signerServer(setupOf(hmacEnv));
  const tenMinutes = signerServer(setupOf({ ...hmacEnv, SIGNED_URL_MAX_SECONDS: '600' }));
  const week = signerServer(setupOf({ ...hmacEnv, SIGNED_URL_MAX_SECONDS: '604800' }));
  const sign = (server: ReturnType<typeof signerServer>, body: Record<string, unknown>) =>
    request(server)
      .post('/v1/images:signUrls')
      .send({ imageIds: ['00000001_000'], ...body });

  it('by default signs for 1 hour and refuses 3601 s with a 400 naming expiresInSeconds', async () => {
    const ok = await sign(byDefault, { expiresInSeconds: 3600 });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(verifyHmacUrl(ok.body.urls[0].url, HMAC_SECRET).expires, 3600);
    const over = await sign(byDefault, { expiresInSeconds: 3601 });
    assertProblem(over, 400, 'body.expiresInSeconds', /at most 3600 seconds/);
    assert.match(over.text, /SIGNED_URL_MAX_SECONDS/);
  });

  it('with a 10-minute maximum: no lifetime asked signs for 600 s, 601 s is a 400, /content lives 600 s', async () => {
    const dflt = await sign(tenMinutes, {});
    assert.equal(dflt.status, 200, dflt.text);
    const v = verifyHmacUrl(dflt.body.urls[0].url, HMAC_SECRET);
    assert.ok(v.valid);
    assert.equal(v.expires, 600);
    assertProblem(await sign(tenMinutes, { expiresInSeconds: 601 }), 400, 'body.expiresInSeconds', /600/);
    const redirect = await request(tenMinutes).get('/v1/images/00000001_000/content').redirects(0);
    assert.equal(redirect.status, 302);
    assert.equal(verifyHmacUrl(redirect.headers.location ?? '', HMAC_SECRET).expires, 600);
  });

  it('with the 7-day maximum signs for 7 days; past Cloud Storage limit is still a 400', async () => {
    const ok = await sign(week, { expiresInSeconds: 604_800 });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(verifyHmacUrl(ok.body.urls[0].url, HMAC_SECRET).expires, 604_800);
    const dflt = await sign(week, {});
    assert.equal(verifyHmacUrl(dflt.body.urls[0].url, HMAC_SECRET).expires, 3600);
    assert.equal((await sign(week, { expiresInSeconds: 604_801 })).status, 400);
  });
});

describe('POST /v1/cohorts:export with urls: "signed"', () => {
  const records = handRecords(300, 5);
  let store: CohortStore;
  const all = expectedIds(records, CohortFilterSchema.parse({}));
  const pa = expectedIds(records, CohortFilterSchema.parse({ view: ['PA'] }));
  const cap = Math.floor((all.length + pa.length) / 2); // the PA cohort fits, the whole set does not

  /** The export routes of a setup with its limits, the way the cohorts function wires them. */
  function exportServer(setup: SignerSetup) {
    const name = `limits-cohorts-${n++}`;
    const signer = setup.signer ? countingSigner(setup.signer) : undefined;
    const routes = createCohortsRoutes({
      store: async () => store,
      signer,
      signerKind: setup.kind,
      limits: setup.limits,
      logger: quiet,
    });
    http(name, createRouter(routes, { logger: quiet }));
    return { server: getTestServer(name), signer };
  }
  const post = (server: ReturnType<typeof getTestServer>, body: Record<string, unknown>) =>
    request(server)
      .post('/v1/cohorts:export')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ format: 'ndjson', urls: 'signed', ...body }));
  const urlsOf = (text: string) =>
    text
      .trimEnd()
      .split('\n')
      .slice(1)
      .map((l) => JSON.parse(l) as { imageId: string; url: string });

  before(async () => {
    store = await createDuckDbCohortStore({ tokens: createPageTokens('limits-test-secret-0123456789') });
    await store.load(records.map(toCohortRows));
    assert.ok(pa.length > 0 && pa.length < cap && cap < all.length, 'the fixture straddles the cap');
  });
  after(() => store.close());

  it('uses the HMAC key when one is configured, even with SIGNER=iam', async () => {
    const setup = createExportSigner(loadSignerConfig({ ...hmacEnv, SIGNER: 'iam' }));
    assert.equal(setup.kind, 'hmac');
    assert.equal(createUrlSigner(loadSignerConfig({ ...hmacEnv, SIGNER: 'iam' })).kind, 'iam');
    const iamOnly = createExportSigner(loadSignerConfig({ BILLING_PROJECT: BILLING, SIGNER: 'iam' }));
    assert.equal(iamOnly.kind, 'iam');
  });

  it('on the HMAC path signs a cohort of any size (no cap), every URL valid', async () => {
    const setup = createExportSigner(
      loadSignerConfig({ ...hmacEnv, SIGNER: 'iam', SIGNED_EXPORT_IAM_MAX_ROWS: String(cap) }),
    );
    const { server } = exportServer(setup);
    const res = await post(server, {});
    assert.equal(res.status, 200, res.text.slice(0, 300));
    const rows = urlsOf(res.text);
    assert.deepEqual(
      rows.map((r) => r.imageId),
      all,
    );
    for (const r of rows) assert.ok(verifyHmacUrl(r.url, HMAC_SECRET).valid);
  });

  it('on the IAM path signs a cohort at or under the cap', async () => {
    const setup = setupOf({
      BILLING_PROJECT: BILLING,
      SIGNER: 'iam',
      SIGNED_EXPORT_IAM_MAX_ROWS: String(cap),
    });
    assert.equal(setup.kind, 'iam');
    const { server } = exportServer(setup);
    const res = await post(server, { filter: { view: ['PA'] }, expiresInSeconds: 120 });
    assert.equal(res.status, 200, res.text.slice(0, 300));
    const rows = urlsOf(res.text);
    assert.deepEqual(
      rows.map((r) => r.imageId),
      pa,
    );
    for (const r of rows) {
      const v = verifyRsaUrl(r.url, key.publicKey);
      assert.ok(v.valid);
      assert.equal(v.expires, 120);
    }
  });

  it('on the IAM path refuses a cohort over the cap with a 422 saying to use HMAC or urls: "gs", signing nothing', async () => {
    const setup = setupOf({
      BILLING_PROJECT: BILLING,
      SIGNER: 'iam',
      SIGNED_EXPORT_IAM_MAX_ROWS: String(cap),
    });
    const { server, signer } = exportServer(setup);
    const res = await post(server, {});
    assertProblem(res, 422, 'body.urls', new RegExp(`${all.length} images.*at most ${cap}`));
    assert.match(res.body.detail, /urls: "gs"/);
    assert.match(res.body.detail, /HMAC/);
    assert.equal(signer!.calls, 0);
    const gs = await post(server, { urls: 'gs' });
    assert.equal(gs.status, 200);
    assert.equal(urlsOf(gs.text).length, all.length);
  });

  it('refuses a lifetime past SIGNED_URL_MAX_SECONDS with a 400, and defaults to the maximum when shorter', async () => {
    const setup = createExportSigner(loadSignerConfig({ ...hmacEnv, SIGNED_URL_MAX_SECONDS: '900' }));
    const { server, signer } = exportServer(setup);
    assertProblem(await post(server, { expiresInSeconds: 901 }), 400, 'body.expiresInSeconds', /900/);
    assert.equal(signer!.calls, 0);
    const res = await post(server, { filter: { view: ['PA'] } });
    assert.equal(res.status, 200);
    assert.equal(verifyHmacUrl(urlsOf(res.text)[0]!.url, HMAC_SECRET).expires, 900);
  });
});
