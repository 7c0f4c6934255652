import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import * as z from 'zod';
import { allRoutes, exportedRequestSchemas, publicOpenApiDocument } from '../../scripts/api/catalogue.ts';
import { OPENAPI_FILE, renderOpenApi } from '../../scripts/gen-openapi.ts';
import type { Route } from '../../shared/http/router.ts';
import { checkRouteSpecs } from '../../shared/openapi/check.ts';

describe('OpenAPI document', () => {
  it('is valid OpenAPI 3.1 according to @seriousme/openapi-schema-validator', async () => {
    const v = new Validator();
    const res = await v.validate(structuredClone(await publicOpenApiDocument()) as never);
    assert.deepEqual(res.errors ?? [], []);
    assert.equal(res.valid, true);
    assert.equal(v.version, '3.1');
  });

  it('the validator rejects a broken document, so the check can fail', async () => {
    const doc = structuredClone(await publicOpenApiDocument()) as unknown as Record<string, unknown>;
    delete doc.info;
    const res = await new Validator().validate(doc as never);
    assert.equal(res.valid, false);
  });

  it('has every route of every function and the meta routes', async () => {
    const doc = await publicOpenApiDocument();
    const ops = Object.entries(doc.paths).flatMap(([p, m]) =>
      Object.keys(m).map((k) => `${k.toUpperCase()} ${p}`),
    );
    for (const want of [
      'GET /v1/images/{imageId}',
      'POST /v1/images:batchGet',
      'GET /v1/patients/{patientId}/images',
      'POST /v1/cohorts:query',
      'POST /v1/cohorts:summary',
      'POST /v1/cohorts:export',
      'POST /v1/images:signUrls',
      'GET /v1/images/{imageId}/content',
      'GET /v1/attribution',
      'GET /v1/openapi.json',
      'GET /v1/healthz',
    ]) {
      assert.ok(ops.includes(want), `missing ${want}`);
    }
  });

  it('shared/openapi/openapi.json is current (run npm run gen:openapi)', async () => {
    assert.equal(readFileSync(OPENAPI_FILE, 'utf8'), await renderOpenApi());
  });
});

describe('routes and schemas agree', () => {
  it('every route carries its schemas and every exported request schema has a route', async () => {
    assert.deepEqual(checkRouteSpecs(await allRoutes(), await exportedRequestSchemas()), []);
  });

  const ok = { 200: { description: 'ok' } };
  const cases: [string, Route, Record<string, z.ZodType>, RegExp][] = [
    [
      'a path parameter without a params schema',
      {
        method: 'GET',
        path: '/v1/x/{id}',
        handler: () => ({ body: {} }),
        spec: { operationId: 'a', summary: '', responses: ok },
      },
      {},
      /path parameters \{id\}/,
    ],
    [
      'a POST without a body schema',
      {
        method: 'POST',
        path: '/v1/x',
        handler: () => ({ body: {} }),
        spec: { operationId: 'b', summary: '', responses: ok },
      },
      {},
      /POST route without a body schema/,
    ],
    [
      'an exported request schema no route uses',
      {
        method: 'GET',
        path: '/v1/y',
        handler: () => ({ body: {} }),
        spec: { operationId: 'c', summary: '', responses: ok },
      },
      { 'x/OrphanBodySchema': z.object({}) },
      /OrphanBodySchema is exported as a request schema but no route uses it/,
    ],
  ];
  for (const [name, route, exported, expected] of cases) {
    it(`reports ${name}`, () => {
      const problems = checkRouteSpecs([route], exported);
      assert.ok(
        problems.some((p) => expected.test(p)),
        problems.join('\n'),
      );
    });
  }
});
