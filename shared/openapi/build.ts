import * as z from 'zod';
import { COMMON_ERROR_RESPONSES, ProblemSchema } from '../http/problem.ts';
import type { Route } from '../http/router.ts';
import { attribution } from '../model/attribution.ts';

type JsonSchema = Record<string, unknown>;
export interface OpenApiDocument {
  openapi: '3.1.0';
  info: Record<string, unknown>;
  servers: { url: string; description?: string }[];
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, JsonSchema>; responses: Record<string, unknown> };
}

/** JSON Schema 2020-12 (what OpenAPI 3.1 uses) of the input side of a zod schema. */
function toSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const js = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as JsonSchema;
  delete js.$schema;
  return js;
}

/** Names of `{param}` segments of a route path. */
export function pathParamNames(path: string): string[] {
  return [...path.matchAll(/\{([a-zA-Z]+)\}/g)].map((m) => m[1]!);
}

function objectProps(schema: z.ZodType): Record<string, JsonSchema> {
  const js = toSchema(schema, 'input');
  return (js.properties ?? {}) as Record<string, JsonSchema>;
}

function requiredOf(schema: z.ZodType): string[] {
  return (toSchema(schema, 'input').required ?? []) as string[];
}

/** The problem+json body, generated from the zod schema the error mapper's type follows. */
const PROBLEM_SCHEMA: JsonSchema = {
  description: 'RFC 9457 problem details',
  ...toSchema(ProblemSchema, 'output'),
};

/** The OpenAPI 3.1 document of the given routes, built from the same zod schemas that validate requests. */
export function buildOpenApiDocument(
  routes: readonly Route[],
  opts: { serverUrl?: string } = {},
): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {};
  for (const r of routes) {
    const op: Record<string, unknown> = { operationId: r.spec.operationId, summary: r.spec.summary };
    const parameters: unknown[] = [];
    if (r.spec.params) {
      for (const [name, schema] of Object.entries(objectProps(r.spec.params))) {
        parameters.push({ name, in: 'path', required: true, schema });
      }
    }
    if (r.spec.query) {
      const req = new Set(requiredOf(r.spec.query));
      for (const [name, schema] of Object.entries(objectProps(r.spec.query))) {
        parameters.push({ name, in: 'query', required: req.has(name), schema });
      }
    }
    if (parameters.length) op.parameters = parameters;
    if (r.spec.body) {
      op.requestBody = {
        required: true,
        content: { 'application/json': { schema: toSchema(r.spec.body, 'input') } },
      };
    }
    const responses: Record<string, unknown> = {};
    for (const [status, resp] of Object.entries(r.spec.responses)) {
      const entry: Record<string, unknown> = { description: resp.description };
      if (resp.schema) {
        entry.content = {
          [resp.contentType ?? 'application/json']: { schema: toSchema(resp.schema, 'output') },
        };
      } else if (resp.contentType) {
        entry.content = { [resp.contentType]: {} };
      }
      responses[status] = entry;
    }
    for (const status of Object.keys(COMMON_ERROR_RESPONSES)) {
      responses[status] ??= { $ref: `#/components/responses/Problem${status}` };
    }
    op.responses = responses;
    paths[r.path] ??= {};
    paths[r.path]![r.method.toLowerCase()] = op;
  }
  const a = attribution();
  return {
    openapi: '3.1.0',
    info: {
      title: 'nih-cxr API',
      version: '1.0.0',
      description: `Find, label-check and download NIH ChestX-ray14 images.\n\n${a.notice}\n\nCite: ${a.citations.join('\n\nCite: ')}`,
      license: { name: 'Data: see the NIH Clinical Center terms', url: a.source },
    },
    servers: [{ url: opts.serverUrl ?? 'http://localhost:8080', description: 'local server (npm start)' }],
    paths,
    components: {
      schemas: { Problem: PROBLEM_SCHEMA },
      responses: Object.fromEntries(
        Object.entries(COMMON_ERROR_RESPONSES).map(([s, d]) => [
          `Problem${s}`,
          {
            description: d,
            content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
          },
        ]),
      ),
    },
  };
}
