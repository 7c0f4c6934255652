/**
 * Every sealed cloud bundle, started the way Cloud Run starts it (the functions-framework CLI from the
 * bundle's own node_modules, with the environment Terraform sets), gets a real answer through each of its
 * lazily loaded SDK paths:
 * - labels: a label read from the Firestore emulator;
 * - signer: a service-account key file, an HMAC key, and the IAM path, where google-auth-library's Compute
 *   client takes its token from a metadata-server stand-in and calls https://iamcredentials.googleapis.com
 *   through a TLS-intercepting proxy, answered by a signBlob stand-in that checks the request and signs with
 *   a local key (test/harness/google-stand-ins.ts);
 * - processUpload: an object finalized in the Storage emulator, delivered as its CloudEvent, registered in
 *   Firestore;
 * - cohorts: a query that reaches https://bigquery.googleapis.com (the same proxy; a stand-in that records the
 *   request and answers "dataset not found"), checked for what BigQuery would be sent.
 * Oracles: the independent V4 verifier (test/signing/v4-verify.ts), the test's own records and PNG bytes.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { type Backends, startBackends } from '../../bench/bundles-first-request.ts';
import { cloudEventRequest, type StorageCloudEvent } from '../../scripts/emulators/storage.ts';
import { REPO_ROOT } from '../../scripts/function-folders.ts';
import { createFirestore } from '../../shared/labels/firestore-client.ts';
import { loadRecords } from '../../shared/labels/loader.ts';
import { IMAGES_REGISTRY_COLLECTION, registryDocId } from '../../shared/uploads/images.ts';
import { handRecords } from '../cohorts/hand-records.ts';
import { buildSealedBundles, removeTmp, type SealedBundle, serveBundle } from '../harness/bundles.ts';
import { HMAC_ID, HMAC_SECRET, rsaKey } from '../signing/fixtures.ts';
import { verifyHmacUrl, verifyRsaUrl } from '../signing/v4-verify.ts';
import { type FunctionDeployment, functionDeployments } from '../terraform/checks.ts';
import { sampleEnvironment } from '../terraform/expected.ts';
import { loadTerraform } from '../terraform/hcl.ts';
import { makePng } from '../uploads/fixtures.ts';

// The test process itself runs off Google Cloud: its clients must not probe for a metadata server.
process.env.METADATA_SERVER_DETECTION ??= 'none';

let tmp: string;
let keysDir: string;
let bundles: SealedBundle[];
let deployments: FunctionDeployment[];
let backends: Backends;
const keyFileKey = rsaKey();

before(async () => {
  const built = await buildSealedBundles();
  tmp = built.tmp;
  bundles = built.bundles;
  deployments = functionDeployments(await loadTerraform(join(REPO_ROOT, 'terraform')));
  keysDir = mkdtempSync(join(tmpdir(), 'nih-cxr-sealed-'));
  // Firestore and Storage emulators; metadata server, signBlob and BigQuery stand-ins behind a TLS proxy.
  backends = await startBackends();
  assert.deepEqual(backends.problems, [], 'the Firestore and Storage emulators start');
});

after(async () => {
  await backends?.stop();
  if (tmp) removeTmp(tmp);
  if (keysDir) rmSync(keysDir, { recursive: true, force: true });
});

/** The environment the cloud gives the function (Terraform's variables with sample values, K_SERVICE...). */
function cloudEnv(folder: string): { entryPoint: string; env: Record<string, string> } {
  const d = deployments.find((x) => x.folder === folder);
  assert.ok(d, `terraform deploys functions/${folder}`);
  return { entryPoint: String(d.entryPoint), env: sampleEnvironment(d.body, folder) };
}

/** Starts the sealed bundle under the CLI, runs `first`, reports its answer, stops the CLI. */
async function firstAnswer<T>(
  t: TestContext,
  folder: string,
  env: Record<string, string>,
  first: (url: string) => Promise<T>,
): Promise<T> {
  const b = bundles.find((x) => x.name === folder);
  assert.ok(b, `a bundle of functions/${folder}`);
  const { entryPoint, env: deployed } = cloudEnv(folder);
  const started = performance.now();
  const served = await serveBundle(b, entryPoint, { ...deployed, ...env });
  try {
    const out = await first(served.url);
    t.diagnostic(`${folder}: first real answer ${Math.round(performance.now() - started)} ms after spawn`);
    return out;
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- the function logged:\n${served.output()}`, {
      cause: err,
    });
  } finally {
    await served.stop();
  }
}

const postJson = (url: string, body: unknown) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('sealed cloud bundles under the functions-framework CLI', () => {
  it('labels: reads an image from the Firestore emulator', async (t) => {
    const fs = backends.firestore!;
    const db = await createFirestore({ projectId: fs.projectId, emulatorHost: fs.host });
    const records = handRecords(6, 3);
    await loadRecords(db, records, { throttle: false });
    await db.terminate();
    const want = records[4]!;
    const res = await firstAnswer(
      t,
      'labels',
      { FIRESTORE_EMULATOR_HOST: fs.host, GOOGLE_CLOUD_PROJECT: fs.projectId },
      (u) => fetch(`${u}/v1/images/${want.imageId}`),
    );
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(res.status, 200, JSON.stringify(body));
    t.diagnostic(
      `labels: GET /v1/images/${want.imageId} -> ${res.status} ${JSON.stringify(body).slice(0, 160)}`,
    );
    // The record as loaded, field by field (the response may add derived fields, e.g. reader agreement).
    const loaded = JSON.parse(JSON.stringify(want)) as Record<string, unknown>;
    for (const k of [
      'imageId',
      'patientId',
      'followUp',
      'patientAge',
      'patientSex',
      'viewPosition',
      'split',
    ]) {
      assert.deepEqual(body[k], loaded[k], k);
    }
    assert.deepEqual(body.findings, loaded.findings);
    assert.deepEqual(body.boundingBoxes, loaded.boundingBoxes);
  });

  it('signer: signs with a service-account key file', async (t) => {
    const keyFile = join(keysDir, 'signer-key.json');
    const email = 'key-file@nih-cxr-test.iam.gserviceaccount.com';
    writeFileSync(
      keyFile,
      JSON.stringify({ type: 'service_account', client_email: email, private_key: keyFileKey.pem }),
    );
    const res = await firstAnswer(
      t,
      'signer',
      { SIGNER: 'key', GOOGLE_APPLICATION_CREDENTIALS: keyFile },
      (u) => postJson(`${u}/v1/images:signUrls`, { imageIds: ['00000001_000'], expiresInSeconds: 300 }),
    );
    const body = (await res.json()) as { urls: { url: string }[] };
    assert.equal(res.status, 200, JSON.stringify(body));
    t.diagnostic(`signer (key file): ${res.status} ${body.urls[0]!.url.slice(0, 120)}...`);
    const v = verifyRsaUrl(body.urls[0]!.url, keyFileKey.publicKey);
    assert.ok(v.valid);
    assert.equal(v.accessId, email);
    assert.equal(v.expires, 300);
  });

  it('signer: signs with an HMAC key', async (t) => {
    const res = await firstAnswer(
      t,
      'signer',
      { SIGNER: 'hmac', HMAC_ACCESS_ID: HMAC_ID, HMAC_SECRET },
      (u) => postJson(`${u}/v1/images:signUrls`, { imageIds: ['00000002_001'], format: 'dicom' }),
    );
    const body = (await res.json()) as { urls: { url: string }[] };
    assert.equal(res.status, 200, JSON.stringify(body));
    t.diagnostic(`signer (HMAC): ${res.status} ${body.urls[0]!.url.slice(0, 120)}...`);
    const v = verifyHmacUrl(body.urls[0]!.url, HMAC_SECRET);
    assert.ok(v.valid);
    assert.equal(v.path, '/gcs-public-data--healthcare-nih-chest-xray/dicom/00000002_001.dcm');
    assert.equal(v.expires, 3600);
  });

  it('signer: signs through IAM signBlob, against a local stand-in of the IAM Credentials API that checks each request', async (t) => {
    const { metadata, proxy, signBlob, publicKey } = backends.google;
    const before = signBlob.signed.length;
    const res = await firstAnswer(t, 'signer', backends.google.env, (u) =>
      postJson(`${u}/v1/images:signUrls`, { imageIds: ['00000003_000', '00000004_002'] }),
    );
    const body = (await res.json()) as { urls: { url: string }[] };
    assert.equal(res.status, 200, JSON.stringify(body));
    t.diagnostic(`signer (IAM signBlob stand-in): ${res.status} ${body.urls[0]!.url.slice(0, 120)}...`);
    assert.deepEqual(signBlob.refused, []);
    assert.equal(signBlob.signed.length - before, 2, 'one signBlob call per URL');
    for (const u of body.urls) {
      const v = verifyRsaUrl(u.url, publicKey);
      assert.ok(v.valid);
      assert.equal(v.accessId, metadata.email, 'signed as the runtime service account');
    }
    assert.ok(proxy.tunnels.includes('iamcredentials.googleapis.com:443'));
    assert.ok(metadata.requests.includes('/computeMetadata/v1/instance/service-accounts/default/token'));
  });

  it('processUpload: registers a PNG finalized in the Storage emulator in Firestore', async (t) => {
    const fs = backends.firestore!;
    const storage = backends.storage!;
    const event: StorageCloudEvent = await backends.nextUpload!();
    const data = event.data as { bucket: string; name: string; generation: string };
    const res = await firstAnswer(
      t,
      'uploads',
      {
        FIRESTORE_EMULATOR_HOST: fs.host,
        GOOGLE_CLOUD_PROJECT: fs.projectId,
        STORAGE_EMULATOR_HOST: storage.host,
        UPLOADS_BUCKET: data.bucket,
      },
      (u) => fetch(u, cloudEventRequest(event)),
    );
    await res.arrayBuffer();
    assert.ok(res.status >= 200 && res.status < 300, `delivery answered ${res.status}`);
    const db = await createFirestore({ projectId: fs.projectId, emulatorHost: fs.host });
    try {
      const doc = await db
        .collection(IMAGES_REGISTRY_COLLECTION)
        .doc(registryDocId(data.bucket, data.name))
        .get();
      assert.ok(doc.exists, `uploads_images has ${data.name}`);
      const png = makePng();
      t.diagnostic(
        `processUpload: ${res.status}; Firestore ${IMAGES_REGISTRY_COLLECTION}: ${JSON.stringify(doc.data()).slice(0, 160)}`,
      );
      assert.equal(doc.get('format'), 'png');
      assert.equal(doc.get('width'), 64);
      assert.equal(doc.get('height'), 48);
      assert.equal(doc.get('generation'), String(data.generation));
      assert.equal(doc.get('sha256'), createHash('sha256').update(png).digest('hex'));
    } finally {
      await db.terminate();
    }
  });

  it('cohorts and processUpload do not start with COHORT_STORE=duckdb: the cloud bundles have no DuckDB', async () => {
    for (const folder of ['cohorts', 'uploads']) {
      const b = bundles.find((x) => x.name === folder)!;
      const { entryPoint, env } = cloudEnv(folder);
      await assert.rejects(
        serveBundle(b, entryPoint, { ...env, COHORT_STORE: 'duckdb' }),
        /exited with[\s\S]*COHORT_STORE: must be bigquery in the cloud/,
        folder,
      );
    }
  });

  it('dicom: reads instance metadata from the Healthcare API (local stand-in) with the runtime identity token', async (t) => {
    const fs = backends.firestore!;
    const db = await createFirestore({ projectId: fs.projectId, emulatorHost: fs.host });
    const rec = {
      ...handRecords(1, 1)[0]!,
      dicom: {
        studyInstanceUid: '1.2.3.4',
        seriesInstanceUid: '1.2.3.5',
        sopInstanceUid: '1.2.3.6',
        transferSyntaxUid: '1.2.840.10008.1.2.1',
        rows: 2,
        columns: 2,
        photometricInterpretation: 'MONOCHROME2',
      },
    };
    await loadRecords(db, [rec], { throttle: false });
    await db.terminate();
    const { metadata, proxy } = backends.google;
    const before = proxy.requests.length;
    // Node's http client takes the proxy from the environment only when asked (NODE_USE_ENV_PROXY).
    const env = {
      ...backends.google.env,
      FIRESTORE_EMULATOR_HOST: fs.host,
      GOOGLE_CLOUD_PROJECT: fs.projectId,
      NODE_USE_ENV_PROXY: '1',
    };
    const res = await firstAnswer(t, 'dicom', env, (u) =>
      fetch(`${u}/v1/images/${rec.imageId}/dicom/metadata`),
    );
    const text = await res.text();
    t.diagnostic(`dicom: ${res.status} ${text.slice(0, 160)}`);
    assert.equal(res.status, 200, text);
    assert.deepEqual(JSON.parse(text), [{ '00080018': { vr: 'UI', Value: ['1.2.3.6'] } }]);
    const sent = proxy.requests.slice(before).filter((r) => r.host === 'healthcare.googleapis.com');
    assert.equal(sent.length, 1);
    assert.equal(
      sent[0]!.path,
      '/v1/projects/chc-nih-chest-xray/locations/us-central1/datasets/nih-chest-xray/dicomStores/nih-chest-xray/dicomWeb/studies/1.2.3.4/series/1.2.3.5/instances/1.2.3.6/metadata',
    );
    assert.equal(sent[0]!.headers.authorization, `Bearer ${metadata.accessToken}`);
  });

  it('cohorts: a query reaches the BigQuery API (local stand-in) with the configured dataset, cap and token; its 404 becomes a 503', async (t) => {
    const { metadata, proxy } = backends.google;
    const before = proxy.requests.length;
    const res = await firstAnswer(t, 'cohorts', backends.google.env, (u) =>
      postJson(`${u}/v1/cohorts:query`, { filter: { sex: ['F'] }, pageSize: 5 }),
    );
    const body = (await res.json()) as { status: number; detail: string };
    t.diagnostic(`cohorts: ${res.status} ${JSON.stringify(body).slice(0, 160)}`);
    assert.equal(res.status, 503);
    assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
    const toBigQuery = proxy.requests.slice(before).filter((r) => r.host === 'bigquery.googleapis.com');
    // The store opened at instance start preconnects with an unauthenticated GET / (no token leaves for it).
    const preconnects = toBigQuery.filter((r) => r.method === 'GET' && r.path === '/');
    assert.equal(preconnects.length, 1, 'one preconnect at instance start');
    assert.equal(preconnects[0]!.headers.authorization, undefined);
    const sent = toBigQuery.filter((r) => r.path !== '/');
    assert.ok(sent.length > 0, 'BigQuery was called');
    const first = sent[0]!;
    t.diagnostic(`cohorts: BigQuery got ${first.method} ${first.path} ${first.body.slice(0, 200)}`);
    assert.equal(first.method, 'POST');
    assert.match(first.path, /^\/bigquery\/v2\/projects\/nih-cxr-test\/(?:queries|jobs)(?:\?|$)/);
    assert.equal(first.headers.authorization, `Bearer ${metadata.accessToken}`);
    const job = JSON.parse(first.body) as Record<string, unknown>;
    const text = JSON.stringify(job);
    assert.match(
      text,
      /`?nih-cxr-test`?\.?`?nih_cxr`?\.|nih_cxr\./,
      'the query reads the configured dataset',
    );
    assert.match(text, /"maximumBytesBilled":"1073741824"/, 'the bytes cap of the deployment');
    assert.match(text, /"location":"US"/);
    assert.match(text, /"useLegacySql":false/);
    assert.doesNotMatch(text, /'F'/, 'filter values travel as query parameters, not in the SQL');
  });
});
