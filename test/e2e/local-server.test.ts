/**
 * End to end: `npm start` as a child process (its own emulators, DuckDB, the real NIH files when NIH_DATA_DIR
 * is set, else the synthetic sample), exercised route by route through the typed client, then stopped.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Storage } from '@google-cloud/storage';
import { ApiError, type CohortSummaryRequest, NihCxrClient } from '../../client/index.ts';
import { createFirestore } from '../../shared/labels/firestore-client.ts';
import { type NpmStart, startNpmStart } from '../harness/npm-start.ts';
import { nihDataDir } from '../helpers/env.ts';

const dataDir = nihDataDir();
let server: NpmStart;
let client: NihCxrClient;
let baseUrl = '';

describe('npm start end to end', { timeout: 600_000 }, () => {
  before(async () => {
    const env: Record<string, string | undefined> = {
      BILLING_PROJECT: 'nih-cxr-e2e-billing',
      HMAC_ACCESS_ID: 'GOOG1E2ETESTACCESSID',
      HMAC_SECRET: 'e2e-test-secret-not-real',
      // Variables of the functions the local server must honour as their cloud entries do.
      LABELS_COLLECTION: 'e2e-images',
      LABELS_CACHE_MAX_AGE: '77',
    };
    if (!dataDir) env.NIH_DATA_DIR = undefined;
    server = await startNpmStart(env, { readyTimeoutMs: dataDir ? 300_000 : 90_000 });
    baseUrl = server.url;
    client = new NihCxrClient(baseUrl);
  });

  after(async () => {
    await server?.stop();
    assert.doesNotMatch(
      server?.output() ?? '',
      /e2e-test-secret-not-real/,
      'the HMAC secret must never be logged',
    );
  });

  it('reports what it loaded on /v1/healthz', async () => {
    const h = await client.health();
    assert.equal(h.status, 'ok');
    assert.equal(h.dataset, dataDir ? 'nih' : 'synthetic');
    if (dataDir) assert.equal(h.images, 112_120);
    else assert.ok((h.images ?? 0) >= 100);
    assert.match(h.emulators?.storage ?? '', /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('serves one image, a batch and a patient', async () => {
    const img = await client.getImage('00000001_000.png');
    assert.equal(img.imageId, '00000001_000');
    assert.equal(img.patientId, 1);
    const batch = await client.batchGet({ imageIds: ['00000001_000', '99999999_999'] });
    assert.deepEqual(
      batch.images.map((i) => i.imageId),
      ['00000001_000'],
    );
    assert.deepEqual(batch.missing, ['99999999_999']);
    const p = await client.patientImages(1);
    assert.ok(p.images.length >= 1);
    const followUps = p.images.map((i) => i.followUp);
    assert.deepEqual(
      followUps,
      [...followUps].sort((a, b) => a - b),
    );
  });

  it("honours the labels function's variables: collection and cache lifetime", async () => {
    const res = await fetch(`${baseUrl}/v1/images/00000001_000`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('cache-control') ?? '', /max-age=77\b/);
    const h = await client.health();
    const db = await createFirestore({
      projectId: 'demo-nih-cxr',
      emulatorHost: h.emulators?.firestore ?? '',
    });
    try {
      assert.equal((await db.collection('e2e-images').doc('00000001_000').get()).exists, true);
      assert.equal((await db.collection('images').limit(1).get()).size, 0);
    } finally {
      await db.terminate();
    }
  });

  it('answers bad input with problem+json', async () => {
    await assert.rejects(
      client.getImage('../etc/passwd'),
      (e: unknown) => e instanceof ApiError && e.status === 400,
    );
    await assert.rejects(
      client.getImage('99999999_999'),
      (e: unknown) => e instanceof ApiError && e.status === 404,
    );
  });

  it('signs URLs and redirects to content', async () => {
    const r = await client.signUrls({ imageIds: ['00000001_000'], format: 'dicom', expiresInSeconds: 60 });
    assert.equal(r.billingProject, 'nih-cxr-e2e-billing');
    const url = new URL(r.urls[0]!.url);
    assert.equal(url.pathname, '/gcs-public-data--healthcare-nih-chest-xray/dicom/00000001_000.dcm');
    assert.equal(url.searchParams.get('userProject'), 'nih-cxr-e2e-billing');
    const loc = new URL(await client.contentUrl('00000001_000'));
    assert.equal(loc.pathname, '/gcs-public-data--healthcare-nih-chest-xray/png/00000001_000.png');
  });

  it('answers a label-quality question through the client (agreement), and 400 for fracture vs NIH', async () => {
    const labelled = await client.summarizeCohort({ filter: { expert: { allFindings: {} } } });
    const a = await client.cohortAgreement({
      finding: 'abnormal',
      reference: 'allFindings',
      compare: 'readers',
    });
    assert.equal(a.images, labelled.totalImages);
    assert.ok(a.compare === 'readers' && a.readers.length === 5 && a.fleiss.kappa !== null);
    await assert.rejects(
      client.cohortAgreement({ finding: 'fracture', reference: 'fourFindings', compare: 'nih' }),
      (e: unknown) => e instanceof ApiError && e.status === 400,
    );
  });

  it('queries, pages, summarises and exports a cohort', async () => {
    const filter: CohortSummaryRequest['filter'] = {
      findings: { any: ['Effusion', 'Atelectasis'] },
      view: ['PA'],
    };
    const summary = await client.summarizeCohort({ filter });
    assert.ok(summary.totalImages > 0);
    const seen = new Set<string>();
    for await (const img of client.queryAll({ filter, pageSize: 1000 })) {
      assert.ok(!seen.has(img.imageId), `${img.imageId} twice`);
      seen.add(img.imageId);
      assert.equal(img.viewPosition, 'PA');
    }
    assert.equal(seen.size, summary.totalImages);
    const body = await new Response(
      await client.exportCohort({ filter, format: 'ndjson', urls: 'signed' }),
    ).text();
    const lines = body.trim().split('\n');
    assert.match(lines[0]!, /attribution/);
    assert.equal(lines.length - 1, summary.totalImages);
    assert.match(lines[1]!, /userProject=nih-cxr-e2e-billing/);
    await assert.rejects(
      client.queryCohort({ filter: { age: { min: 50, max: 10 } } }),
      (e: unknown) => e instanceof ApiError && e.status === 400,
    );
  });

  it('processes an upload to the local uploads bucket and writes its report', async () => {
    const h = await client.health();
    const storage = new Storage({ projectId: 'demo-nih-cxr', apiEndpoint: h.emulators?.storage ?? '' });
    const bucket = storage.bucket(h.uploadsBucket ?? 'nih-cxr-uploads');
    const name = 'incoming/e2e-boxes.csv';
    const csv =
      'Image Index,Finding Label,Bbox [x,y,w,h],,,\r\n00000001_000.png,Atelectasis,11.5,22.5,33,44\r\nnot-an-id,Mass,1,2,3,4\r\n';
    await bucket.file(name).save(csv, { contentType: 'text/plain', resumable: false });
    const report = bucket.file(`reports/${name}.json`);
    const deadline = Date.now() + 60_000;
    while (!(await report.exists())[0]) {
      assert.ok(Date.now() < deadline, `no report for ${name}:\n${server.output().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const r = JSON.parse((await report.download())[0].toString()) as {
      kind: string;
      rejected: { line: number; reason: string }[];
    };
    assert.equal(r.kind, 'bounding_boxes');
    assert.deepEqual(
      r.rejected.map((x) => x.line),
      [3],
    );
    // The instance's label cache sees an upload within LABELS_CACHE_CHECK_SECONDS (10 s) of the report.
    const boxed = (img: { boundingBoxes: { x: number; w: number; finding: string }[] }) =>
      img.boundingBoxes.some((b) => b.x === 11.5 && b.w === 33 && b.finding === 'Atelectasis');
    const seenBy = Date.now() + 11_000;
    let img = await client.getImage('00000001_000');
    while (!boxed(img) && Date.now() < seenBy) {
      await new Promise((r) => setTimeout(r, 250));
      img = await client.getImage('00000001_000');
    }
    assert.ok(boxed(img), 'the upload is seen within LABELS_CACHE_CHECK_SECONDS');
  });

  it('serves attribution and an OpenAPI 3.1 document', async () => {
    const a = await client.attribution();
    assert.equal(a.source, 'https://nihcc.app.box.com/v/ChestXray-NIHCC');
    assert.match(a.provider, /NIH Clinical Center/);
    const doc = await client.openapi();
    assert.equal(doc.openapi, '3.1.0');
  });
});
