/** Fuzzers of the signer routes (HMAC signer) and of the meta routes (attribution, OpenAPI, health). */
import assert from 'node:assert/strict';
import { parse as parseQuery } from 'node:querystring';
import fc from 'fast-check';
import { CONTENT_EXPIRES_SECONDS, MAX_IDS, SignUrlsBodySchema } from '../../functions/signer/schemas.ts';
import { AttributionSchema, HealthSchema } from '../../shared/http/meta-schemas.ts';
import { headerTricks, imageIdBatches, queryString } from './arbitraries.ts';
import { decodeSegment, type FuzzRequest, invalid, modelJsonBody, type Outcome, valid } from './check.ts';
import { IMAGE_ID_SEGMENT, imageIdOf, imageIdSegment, methodFor, pathVariant } from './paths.ts';
import { BILLING_PROJECT } from './rig.ts';
import {
  type FuzzCase,
  getParts,
  jsonOf,
  postParts,
  type RouteFuzz,
  routed,
  toRequest,
} from './route-fuzz.ts';
import { assertDatasetUrl } from './signed-urls.ts';

export const signUrlsFuzz: RouteFuzz = {
  route: 'POST /v1/images:signUrls',
  cases: (rig) => {
    const ids = imageIdBatches(rig.imageIds, { unknownSuffix: '999', maxLength: 30, max: MAX_IDS });
    const body = fc.record(
      {
        imageIds: ids,
        format: fc.constantFrom('png', 'dicom'),
        expiresInSeconds: fc.oneof(
          fc.integer({ min: 1, max: 604_800 }),
          fc.constantFrom(0, 604_801, 1.5, 2 ** 53),
        ),
      },
      { requiredKeys: ['imageIds'] },
    );
    return postParts('/v1/images:signUrls', body).map((p): FuzzCase => {
      const req = toRequest(p);
      let expect: Outcome | undefined = routed(p.method, 'POST', p.path.variant);
      let data: ReturnType<typeof SignUrlsBodySchema.parse> | undefined;
      if (!expect) {
        const m = modelJsonBody(req);
        if ('outcome' in m) expect = m.outcome;
        else {
          const v = m.value as { imageIds?: unknown } | null;
          if (Array.isArray(v?.imageIds) && v.imageIds.length > MAX_IDS) expect = invalid(413);
          else {
            const r = SignUrlsBodySchema.safeParse(m.value);
            expect = r.success ? valid(200) : invalid(400);
            data = r.success ? r.data : undefined;
          }
        }
      }
      return {
        req,
        expect,
        verify: (res) => {
          if (res.status !== 200 || !data) return;
          const out = jsonOf(res) as { urls: { imageId: string; url: string }[]; billingProject: string };
          assert.equal(out.billingProject, BILLING_PROJECT);
          assert.equal(out.urls.length, data.imageIds.length);
          out.urls.forEach((u, i) => {
            assert.equal(u.imageId, data.imageIds[i]);
            // Without expiresInSeconds a signed URL lives 3600 s (the rig's SIGNED_URL_MAX_SECONDS is not shorter).
            assertDatasetUrl(u.url, u.imageId, data.format, data.expiresInSeconds ?? 3600, {
              verifySignature: i < 20,
            });
          });
        },
      };
    });
  },
};

export const contentFuzz: RouteFuzz = {
  route: 'GET /v1/images/{imageId}/content',
  cases: (rig) =>
    getParts(imageIdSegment(rig.imageIds), ['format'], ['png', 'dicom', 'DICOM', 'dcm']).map(
      (p): FuzzCase => {
        const req: FuzzRequest = {
          method: p.method,
          path: `/v1/images/${p.segments}/content`,
          query: p.query,
          contentType: undefined,
          headers: p.tricks.headers,
          body: undefined,
          shortLength: undefined,
        };
        const id = decodeSegment(p.segments);
        // Express parses the query string with node:querystring ('simple'); repeated keys become arrays.
        const format = parseQuery(p.query.slice(1)).format ?? 'png';
        const ok = id !== undefined && IMAGE_ID_SEGMENT.test(id) && (format === 'png' || format === 'dicom');
        const expect = routed(p.method, 'GET', 'exact', p.segments) ?? (ok ? valid(302) : invalid(400, 404));
        return {
          req,
          expect,
          verify: (res) => {
            if (res.status !== 302) return;
            assert.equal(res.headers['cache-control'], 'no-store');
            assertDatasetUrl(
              res.headers.location ?? '',
              imageIdOf(id!),
              format as 'png' | 'dicom',
              CONTENT_EXPIRES_SECONDS,
            );
          },
        };
      },
    ),
};

function metaFuzz(path: string, check: (body: unknown) => void): RouteFuzz {
  return {
    route: `GET ${path}`,
    cases: () =>
      fc
        .record({
          method: methodFor('GET'),
          path: pathVariant(path),
          query: queryString(['format', 'callback', 'v'], ['json', 'x', '1']),
          tricks: headerTricks,
        })
        .map((p): FuzzCase => {
          const req: FuzzRequest = {
            method: p.method,
            path: p.path.path,
            query: p.query,
            contentType: undefined,
            headers: p.tricks.headers,
            body: undefined,
            shortLength: undefined,
          };
          return {
            req,
            // Express answers If-None-Match: * with 304 (RFC 9110: any current representation matches).
            expect:
              routed(p.method, 'GET', p.path.variant) ??
              valid(req.headers['if-none-match'] === '*' ? 304 : 200),
            verify: (res) => {
              if (res.status === 200 && p.method === 'GET') check(jsonOf(res));
            },
          };
        }),
  };
}

export const metaFuzzers: RouteFuzz[] = [
  metaFuzz('/v1/attribution', (b) => AttributionSchema.parse(b)),
  metaFuzz('/v1/openapi.json', (b) => assert.match((b as { openapi: string }).openapi, /^3\.1/)),
  metaFuzz('/v1/healthz', (b) => assert.equal(HealthSchema.parse(b).status, 'ok')),
];
