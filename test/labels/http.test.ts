import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import { createLabelsRoutes } from '../../functions/labels/routes.ts';
import { createRouter } from '../../shared/http/router.ts';
import { toImageDoc } from '../../shared/labels/doc.ts';
import { LabelStoreUnavailableError } from '../../shared/labels/errors.ts';
import { loadRecords } from '../../shared/labels/loader.ts';
import type { LabelRepo } from '../../shared/labels/repo.ts';
import { createLogger } from '../../shared/log.ts';
import { startTestFirestore, type TestFirestore } from '../harness/firestore.ts';
import { fixtureRecords } from './fixtures.ts';

const records = fixtureRecords();
const stored = (id: string) => JSON.parse(toImageDoc(records.find((r) => r.imageId === id)!).record);
/** The body without expert.readAgreement (derived from the reads; checked on its own below). */
const withoutReadAgreement = (body: { expert: Record<string, unknown> }) => {
  const { readAgreement: _derived, ...expert } = body.expert;
  return { ...body, expert };
};
let fs: TestFirestore;
let server: ReturnType<typeof getTestServer>;

before(async () => {
  fs = await startTestFirestore();
  await loadRecords(fs.db, records, { throttle: false });
  // Reloads below must show at once: no instance cache here (it and its invalidation: cache.test.ts).
  process.env.LABELS_CACHE_BYTES = '0';
  await import('../../functions/labels/index.ts');
  server = getTestServer('labels');
});
after(async () => fs?.stop());

function assertProblem(res: request.Response, status: number, field?: string) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.match(res.headers['content-type'] ?? '', /^application\/problem\+json/);
  const body = JSON.parse(res.text) as { status: number; detail: string; errors?: { path: string }[] };
  assert.equal(body.status, status);
  if (field) {
    const named = body.errors?.some((e) => e.path === field) || body.detail.includes(field);
    assert.ok(named, `problem names ${field}: ${res.text}`);
  }
}

describe('GET /v1/images/{imageId}', () => {
  test('returns the record exactly, without storage fields, with cache headers and a strong ETag', async () => {
    const res = await request(server).get('/v1/images/00000013_008').expect(200);
    assert.deepEqual(withoutReadAgreement(res.body), stored('00000013_008'));
    assert.match(res.headers['content-type'] ?? '', /^application\/json/);
    assert.equal(res.headers['cache-control'], 'public, max-age=3600');
    assert.equal(res.headers.etag, `"${toImageDoc(records[3]!).contentHash}"`);
    for (const internal of ['contentHash', 'schemaVersion', 'record'])
      assert.equal(internal in res.body, false);
  });

  test('accepts the file name with .png', async () => {
    const res = await request(server).get('/v1/images/00000001_001.png').expect(200);
    assert.deepEqual(withoutReadAgreement(res.body), stored('00000001_001'));
  });

  test('shows, per expert label, whether the reads were unanimous, next to the reads', async () => {
    // 00000013_008 (fixtures.ts): two four-findings readers, YES/NO on pneumothorax, HEDGE/NO on
    // nodule/mass; one all-findings reader (unanimous by definition). Counted by hand from the fixture.
    const res = await request(server).get('/v1/images/00000013_008').expect(200);
    const { fourFindings, allFindings } = res.body.expert.readAgreement;
    assert.deepEqual(fourFindings, {
      fracture: { unanimous: true, reads: { YES: 0, NO: 2, HEDGE: 0 } },
      pneumothorax: { unanimous: false, reads: { YES: 1, NO: 1, HEDGE: 0 } },
      airspaceOpacity: { unanimous: true, reads: { YES: 2, NO: 0, HEDGE: 0 } },
      noduleOrMass: { unanimous: false, reads: { YES: 0, NO: 1, HEDGE: 1 } },
    });
    assert.deepEqual(allFindings.abnormal, { unanimous: true, reads: { YES: 1, NO: 0, HEDGE: 0 } });
    assert.deepEqual(allFindings.Effusion, { unanimous: true, reads: { YES: 0, NO: 1, HEDGE: 0 } });
    assert.equal(Object.keys(allFindings).length, 16);
    const none = await request(server).get('/v1/images/00000001_001').expect(200);
    assert.deepEqual(none.body.expert.readAgreement, { fourFindings: null, allFindings: null });
  });

  test('If-None-Match with the current ETag (strong, weak or in a list) answers 304 without a body', async () => {
    const etag = (await request(server).get('/v1/images/00000001_000')).headers.etag!;
    for (const header of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const res = await request(server).get('/v1/images/00000001_000').set('If-None-Match', header);
      assert.equal(res.status, 304, header);
      assert.equal(res.text, '');
      assert.equal(res.headers.etag, etag);
      assert.equal(res.headers['cache-control'], 'public, max-age=3600');
    }
    await request(server).get('/v1/images/00000001_000').set('If-None-Match', '"stale"').expect(200);
  });

  test('HEAD answers like GET without a body', async () => {
    const res = await request(server).head('/v1/images/00000001_000').expect(200);
    assert.ok(res.headers.etag);
  });

  test('an unknown image is 404 problem+json', async () => {
    assertProblem(await request(server).get('/v1/images/09999999_999'), 404);
  });
});

describe('POST /v1/images:batchGet', () => {
  const post = (body: unknown) =>
    request(server)
      .post('/v1/images:batchGet')
      .send(body as object);

  test('returns found images in request order, each once, and lists the missing ids', async () => {
    const res = await post({
      imageIds: ['00000001_002', '09999999_000', '00000001_000.png', '00000001_002', '09999999_000'],
    }).expect(200);
    assert.deepEqual(res.body, {
      images: [stored('00000001_002'), stored('00000001_000')],
      missing: ['09999999_000'],
    });
    assert.equal(res.headers['cache-control'], 'public, max-age=3600');
    const again = await post({ imageIds: ['00000001_002', '09999999_000', '00000001_000'] }).set(
      'If-None-Match',
      res.headers.etag!,
    );
    assert.equal(again.status, 304);
  });

  test('1,000 ids are served; the ETag changes with the content', async () => {
    const ids = Array.from({ length: 1000 }, (_, i) => `${String(i + 1).padStart(8, '0')}_000`);
    const res = await post({ imageIds: ids }).expect(200);
    assert.deepEqual(
      res.body.images.map((r: { imageId: string }) => r.imageId),
      ['00000001_000', '00000002_000'],
    );
    assert.equal(res.body.missing.length, 998);
    const before = res.headers.etag;
    await loadRecords(fs.db, [{ ...records[4]!, patientAge: 31 }], { throttle: false });
    const changed = await post({ imageIds: ids }).set('If-None-Match', before!).expect(200);
    assert.notEqual(changed.headers.etag, before);
    await loadRecords(fs.db, [records[4]!], { throttle: false });
  });

  test('1,001 ids is 413 problem+json naming body.imageIds', async () => {
    const ids = Array.from({ length: 1001 }, () => '00000001_000');
    assertProblem(await post({ imageIds: ids }), 413, 'body.imageIds');
  });

  const bad: [string, unknown, string][] = [
    ['no ids', { imageIds: [] }, 'body.imageIds'],
    ['imageIds missing', {}, 'body.imageIds'],
    ['imageIds not an array', { imageIds: '00000001_000' }, 'body.imageIds'],
    [
      'a malformed id',
      { imageIds: ['00000001_000', '00000001_000', '1_0', '00000001_001'] },
      'body.imageIds[2]',
    ],
    ['a non-string id', { imageIds: [42] }, 'body.imageIds[0]'],
    ['an unknown field', { imageIds: ['00000001_000'], pageSize: 3 }, 'body'],
    ['an array body', ['00000001_000'], 'body'],
  ];
  for (const [name, body, field] of bad) {
    test(`${name} is 400 problem+json naming ${field}`, async () => {
      assertProblem(await post(body), 400, field);
    });
  }

  test('a body that is not JSON is 415, malformed JSON is 400', async () => {
    assertProblem(
      await request(server)
        .post('/v1/images:batchGet')
        .set('Content-Type', 'text/plain')
        .send('00000001_000'),
      415,
    );
    assertProblem(
      await request(server)
        .post('/v1/images:batchGet')
        .set('Content-Type', 'application/json')
        .send('{"imageIds":['),
      400,
    );
  });
});

describe('GET /v1/patients/{patientId}/images', () => {
  test("returns the patient's images ordered by followUp", async () => {
    const res = await request(server).get('/v1/patients/1/images').expect(200);
    assert.deepEqual(res.body, {
      patientId: 1,
      images: ['00000001_000', '00000001_001', '00000001_002'].map(stored),
    });
    assert.ok(res.headers.etag);
    const zeroPadded = await request(server).get('/v1/patients/00000001/images').expect(200);
    assert.deepEqual(zeroPadded.body, res.body);
    await request(server).get('/v1/patients/1/images').set('If-None-Match', res.headers.etag!).expect(304);
  });

  test('a patient without images is 404', async () => {
    assertProblem(await request(server).get('/v1/patients/424242/images'), 404);
  });

  for (const p of ['abc', '0', '-1', '1.5', '123456789', '1e3x']) {
    test(`patient id ${p} is 400 naming path.patientId`, async () => {
      assertProblem(await request(server).get(`/v1/patients/${p}/images`), 400, 'path.patientId');
    });
  }
});

describe('malformed paths and methods', () => {
  for (const id of ['1', '00000001-000', '00000001_0000', '0000000a_000', '00000001_000.jpg', '%2E%2E']) {
    test(`image id ${id} is 400 naming path.imageId`, async () => {
      assertProblem(await request(server).get(`/v1/images/${id}`), 400, 'path.imageId');
    });
  }

  test('wrong methods are 405, unknown paths 404, all problem+json', async () => {
    assertProblem(await request(server).delete('/v1/images/00000001_000'), 405);
    assertProblem(await request(server).get('/v1/images:batchGet'), 405);
    assertProblem(await request(server).get('/v1/nothing'), 404);
  });
});

describe('Firestore unavailable', () => {
  const failing = (err: unknown): LabelRepo => ({
    getImage: () => Promise.reject(err),
    getImages: () => Promise.reject(err),
    getPatientImages: () => Promise.reject(err),
    upsertRecords: () => Promise.reject(err),
  });
  const errors: [string, unknown][] = [
    ['UNAVAILABLE', Object.assign(new Error('14 UNAVAILABLE'), { code: 14 })],
    ['DEADLINE_EXCEEDED', Object.assign(new Error('4 DEADLINE_EXCEEDED'), { code: 4 })],
    ['a read timeout', new LabelStoreUnavailableError('took too long')],
  ];
  for (const [name, err] of errors) {
    test(`${name} is 503 problem+json with Retry-After on every route`, async () => {
      const fn = `labels-down-${name.replace(/\W/g, '')}`;
      const silent = createLogger({}, () => {});
      http(
        fn,
        createRouter(createLabelsRoutes({ repo: failing(err), retryAfterSeconds: 7 }), { logger: silent }),
      );
      const down = getTestServer(fn);
      for (const res of [
        await request(down).get('/v1/images/00000001_000'),
        await request(down)
          .post('/v1/images:batchGet')
          .send({ imageIds: ['00000001_000'] }),
        await request(down).get('/v1/patients/1/images'),
      ]) {
        assertProblem(res, 503);
        assert.equal(res.headers['retry-after'], '7');
        assert.doesNotMatch(res.text, /UNAVAILABLE|DEADLINE|too long/);
      }
    });
  }

  test('an unexpected error is a 500 without internals', async () => {
    http(
      'labels-broken',
      createRouter(createLabelsRoutes({ repo: failing(new Error('secret detail')) }), {
        logger: createLogger({}, () => {}),
      }),
    );
    const res = await request(getTestServer('labels-broken')).get('/v1/images/00000001_000');
    assertProblem(res, 500);
    assert.doesNotMatch(res.text, /secret detail/);
  });
});
