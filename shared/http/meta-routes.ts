import { attribution } from '../model/attribution.ts';
import { AttributionSchema, type Health, HealthSchema } from './meta-schemas.ts';
import type { Route } from './router.ts';

export interface MetaDeps {
  /** The OpenAPI document served at /v1/openapi.json. */
  openapi: () => unknown | Promise<unknown>;
  /** Liveness and what is loaded; `status: starting` answers 503. */
  health: () => Promise<Health> | Health;
}

/** `/v1/attribution`, `/v1/openapi.json`, `/v1/healthz`: served by every deployment that has them. */
export function createMetaRoutes(deps: MetaDeps): Route[] {
  return [
    {
      method: 'GET',
      path: '/v1/attribution',
      spec: {
        operationId: 'getAttribution',
        summary: 'Citations and links required wherever the data is served or exported',
        responses: { 200: { description: 'attribution', schema: AttributionSchema } },
      },
      handler: () => ({ body: attribution(), headers: { 'Cache-Control': 'public, max-age=86400' } }),
    },
    {
      method: 'GET',
      path: '/v1/openapi.json',
      spec: {
        operationId: 'getOpenApi',
        summary: 'This OpenAPI 3.1 document',
        responses: { 200: { description: 'OpenAPI 3.1 document', contentType: 'application/json' } },
      },
      handler: async () => ({
        body: await deps.openapi(),
        headers: { 'Cache-Control': 'public, max-age=300' },
      }),
    },
    {
      method: 'GET',
      path: '/v1/healthz',
      spec: {
        operationId: 'getHealth',
        summary: 'Readiness: 200 once the data is loaded and every backing service answers',
        responses: {
          200: { description: 'ready', schema: HealthSchema },
          503: { description: 'starting', schema: HealthSchema },
        },
      },
      handler: async () => {
        const h = await deps.health();
        return { status: h.status === 'ok' ? 200 : 503, body: h, headers: { 'Cache-Control': 'no-store' } };
      },
    },
  ];
}
