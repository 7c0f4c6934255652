/** Fuzzers of the labels routes: GET image, POST images:batchGet, GET patient images (Firestore emulator). */
import assert from 'node:assert/strict';
import { BatchGetBodySchema, MAX_BATCH_IDS } from '../../functions/labels/schemas.ts';
import { ImageRecordSchema } from '../../shared/model/index.ts';
import { imageIdBatches } from './arbitraries.ts';
import { decodeSegment, type FuzzRequest, invalid, modelJsonBody, type Outcome, valid } from './check.ts';
import { IMAGE_ID_SEGMENT, imageIdOf, imageIdSegment, patientIdSegment } from './paths.ts';
import {
  type FuzzCase,
  getParts,
  jsonOf,
  postParts,
  type RouteFuzz,
  routed,
  toRequest,
} from './route-fuzz.ts';

/** 200, or 304 when If-None-Match is `*` (the labels routes answer conditional requests). */
const found = (req: FuzzRequest): Outcome => valid(req.headers['if-none-match'] === '*' ? 304 : 200);

export const getImageFuzz: RouteFuzz = {
  route: 'GET /v1/images/{imageId}',
  cases: (rig) => {
    const known = new Set(rig.imageIds);
    return getParts(imageIdSegment(rig.imageIds), ['format', 'fields'], ['png', 'dicom']).map(
      (p): FuzzCase => {
        const req: FuzzRequest = {
          method: p.method,
          path: `/v1/images/${p.segments}`,
          query: p.query,
          contentType: undefined,
          headers: p.tricks.headers,
          body: undefined,
          shortLength: undefined,
        };
        const id = decodeSegment(p.segments);
        const ok = id !== undefined && IMAGE_ID_SEGMENT.test(id);
        const expect =
          routed(p.method, 'GET', p.segments === '' ? 'other' : 'exact', p.segments) ??
          (!ok ? invalid(400, 404) : known.has(imageIdOf(id)) ? found(req) : invalid(404));
        return {
          req,
          expect,
          verify: (res) => {
            if (res.status !== 200 || p.method !== 'GET') return;
            const record = ImageRecordSchema.parse(jsonOf(res));
            assert.equal(record.imageId, imageIdOf(id!));
            assert.ok(res.headers.etag);
          },
        };
      },
    );
  },
};

export const getPatientFuzz: RouteFuzz = {
  route: 'GET /v1/patients/{patientId}/images',
  cases: (rig) => {
    const known = new Set(rig.patientIds);
    return getParts(patientIdSegment(rig.patientIds), ['pageSize'], ['1']).map((p): FuzzCase => {
      const req: FuzzRequest = {
        method: p.method,
        path: `/v1/patients/${p.segments}/images`,
        query: p.query,
        contentType: undefined,
        headers: p.tricks.headers,
        body: undefined,
        shortLength: undefined,
      };
      const raw = decodeSegment(p.segments);
      // Only 1..8 decimal digits are a patient id (leading zeros allowed, as in the 2017 file); not '1e3'.
      const n = raw === undefined || !/^\d{1,8}$/.test(raw) ? Number.NaN : Number(raw);
      const ok = Number.isInteger(n) && n >= 1 && n <= 99_999_999;
      const expect =
        routed(p.method, 'GET', p.segments === '' ? 'other' : 'exact', p.segments) ??
        (!ok ? invalid(400, 404) : known.has(n) ? found(req) : invalid(404));
      return {
        req,
        expect,
        verify: (res) => {
          if (res.status !== 200 || p.method !== 'GET') return;
          const body = jsonOf(res) as {
            patientId: number;
            images: { patientId: number; followUp: number }[];
          };
          assert.equal(body.patientId, n);
          assert.ok(body.images.length > 0);
          for (const im of body.images) assert.equal(im.patientId, n);
          const f = body.images.map((im) => im.followUp);
          assert.deepEqual(
            f,
            [...f].sort((a, b) => a - b),
          );
        },
      };
    });
  },
};

export const batchGetFuzz: RouteFuzz = {
  route: 'POST /v1/images:batchGet',
  cases: (rig) => {
    const known = new Set(rig.imageIds);
    const ids = imageIdBatches(rig.imageIds, { unknownSuffix: '000', maxLength: 40, max: MAX_BATCH_IDS });
    const goodBody = ids.map((imageIds) => ({ imageIds }));
    return postParts('/v1/images:batchGet', goodBody).map((p): FuzzCase => {
      const req = toRequest(p);
      let expect = routed(p.method, 'POST', p.path.variant);
      let requested: string[] | undefined;
      if (!expect) {
        const m = modelJsonBody(req);
        if ('outcome' in m) expect = m.outcome;
        else {
          const v = m.value as { imageIds?: unknown } | null;
          if (Array.isArray(v?.imageIds) && v.imageIds.length > MAX_BATCH_IDS) expect = invalid(413);
          else {
            const r = BatchGetBodySchema.safeParse(m.value);
            expect = r.success ? found(req) : invalid(400);
            if (r.success) requested = [...new Set(r.data.imageIds.map(String))];
          }
        }
      }
      return {
        req,
        expect,
        verify: (res) => {
          if (res.status !== 200 || !requested) return;
          const body = jsonOf(res) as { images: { imageId: string }[]; missing: string[] };
          const got = body.images.map((x) => x.imageId);
          assert.deepEqual(
            got,
            requested.filter((x) => known.has(x)),
          );
          assert.deepEqual(
            body.missing,
            requested.filter((x) => !known.has(x)),
          );
        },
      };
    });
  },
};
