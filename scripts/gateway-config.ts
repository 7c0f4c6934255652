/**
 * API Gateway speaks OpenAPI 2.0 (Swagger). This derives its config from the OpenAPI 3.1 document of each
 * HTTP function: same paths, methods, operation ids and parameters, plus the gateway's own extensions: the
 * backend of each operation, API-key security and a quota, and an OPTIONS operation per path for CORS
 * preflights (no key, no quota). Bodies are described, not validated: the functions validate them with the
 * zod schemas the 3.1 document shows.
 */
import type { OpenApiDocument } from '../shared/openapi/build.ts';

/** Name of the metric every operation costs 1 of, and of its per-minute limit. */
export const QUOTA_METRIC = 'api-requests';
export const QUOTA_LIMIT = 'api-requests-per-minute';
/** Default limit; Terraform replaces it with var.api.quota_requests_per_minute. */
export const DEFAULT_QUOTA_PER_MINUTE = 600;
/** How long the gateway waits for a function (cohort exports stream for a while). */
export const BACKEND_DEADLINE_SECONDS = 300;

/** The Terraform template variable that holds a function's URL. */
export const backendVariable = (fn: string): string => `backend_${fn}`;

type Json = Record<string, unknown>;
const SWAGGER_TYPES = new Set(['string', 'integer', 'number', 'boolean']);

/** A Swagger 2.0 non-body parameter from an OpenAPI 3.1 one (JSON Schema 2020-12 reduced to a simple type). */
function parameter(p: Json): Json {
  const schema = (p.schema ?? {}) as Json;
  const type = typeof schema.type === 'string' && SWAGGER_TYPES.has(schema.type) ? schema.type : 'string';
  const out: Json = { name: p.name, in: p.in, required: p.in === 'path' ? true : Boolean(p.required), type };
  if (Array.isArray(schema.enum) && schema.enum.every((v) => typeof v === type)) out.enum = schema.enum;
  if (typeof schema.description === 'string') out.description = schema.description;
  return out;
}

function responseDescription(r: Json, doc: OpenApiDocument): string {
  const ref = typeof r.$ref === 'string' ? r.$ref.replace('#/components/responses/', '') : undefined;
  const target = (ref ? doc.components.responses[ref] : r) as Json | undefined;
  return typeof target?.description === 'string' ? target.description : 'Response';
}

export interface GatewayFunction {
  /** Function folder name; its backend address is the template variable backend_<name>. */
  name: string;
  doc: OpenApiDocument;
}

/**
 * The Swagger 2.0 document for API Gateway. Backend addresses are left as Terraform template references
 * (`${backend_<name>}`) inside otherwise plain JSON values; see toTerraformTemplate.
 */
export function buildGatewayConfig(functions: readonly GatewayFunction[], title = 'nih-cxr API'): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const { name, doc } of functions) {
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, raw] of Object.entries(ops)) {
        const op = raw as Json;
        paths[path] ??= {};
        const item = paths[path];
        if (item[method]) throw new Error(`${method.toUpperCase()} ${path} is served by two functions`);
        const parameters = ((op.parameters ?? []) as Json[]).map(parameter);
        if (op.requestBody) {
          parameters.push({
            name: 'body',
            in: 'body',
            required: true,
            description:
              'JSON body; its schema is in the OpenAPI 3.1 document (GET /v1/openapi.json locally).',
            schema: { type: 'object' },
          });
        }
        const responses = Object.fromEntries(
          Object.entries((op.responses ?? {}) as Record<string, Json>).map(([status, r]) => [
            status,
            { description: responseDescription(r, doc) },
          ]),
        );
        item[method] = {
          operationId: op.operationId,
          summary: op.summary,
          ...(parameters.length ? { parameters } : {}),
          responses,
          'x-google-backend': {
            address: `\${${backendVariable(name)}}`,
            path_translation: 'APPEND_PATH_TO_ADDRESS',
            deadline: BACKEND_DEADLINE_SECONDS,
          },
          'x-google-quota': { metricCosts: { [QUOTA_METRIC]: 1 } },
        };
      }
    }
  }
  for (const [path, item] of Object.entries(paths)) addPreflight(path, item);
  return {
    swagger: '2.0',
    info: {
      title,
      description: 'NIH ChestX-ray14 labels, cohorts and signed URLs. Every call needs an API key.',
      version: '1.0.0',
    },
    schemes: ['https'],
    consumes: ['application/json'],
    produces: ['application/json'],
    securityDefinitions: {
      api_key: { type: 'apiKey', name: 'key', in: 'query' },
      api_key_header: { type: 'apiKey', name: 'x-api-key', in: 'header' },
    },
    security: [{ api_key: [] }, { api_key_header: [] }],
    'x-google-management': {
      metrics: [{ name: QUOTA_METRIC, displayName: 'API requests', valueType: 'INT64', metricKind: 'DELTA' }],
      quota: {
        limits: [
          {
            name: QUOTA_LIMIT,
            metric: QUOTA_METRIC,
            unit: '1/min/{project}',
            values: { STANDARD: DEFAULT_QUOTA_PER_MINUTE },
          },
        ],
      },
    },
    paths,
  };
}

/**
 * A CORS preflight operation for a path: browsers send OPTIONS without the API key, so it needs none and
 * costs no quota; it goes to the function that serves the path, which answers it from CORS_ORIGINS.
 */
function addPreflight(path: string, item: Record<string, Json>): void {
  const ops = Object.values(item);
  const first = ops[0];
  if (!first || item.options) return;
  const backend = first['x-google-backend'] as Json;
  if (ops.some((o) => (o['x-google-backend'] as Json).address !== backend.address)) {
    throw new Error(`${path} is served by two functions; its preflight would have no single backend`);
  }
  item.options = {
    operationId: `${String(first.operationId)}Preflight`,
    summary: `CORS preflight of ${path}`,
    security: [],
    responses: { '204': { description: 'Preflight answer (Access-Control-Allow-* for allowed origins)' } },
    'x-google-backend': backend,
  };
}

const BACKEND_REF = /(\$\{backend_[a-z0-9_]+\})/;

/**
 * JSON text for Terraform's templatefile(): literal `${` and `%{` are escaped as `$${` and `%%{`, except the
 * `${backend_<name>}` references, which Terraform fills in with the functions' URLs.
 */
export function toTerraformTemplate(value: unknown): string {
  // split() with a capturing group: references at odd indices, plain text at even ones.
  return `${JSON.stringify(value, null, 2)}\n`
    .split(BACKEND_REF)
    .map((part, i) => (i % 2 === 1 ? part : part.replaceAll('${', '$${').replaceAll('%{', '%%{')))
    .join('');
}

/** What templatefile() makes of toTerraformTemplate's text, for tests: references filled in, escapes undone. */
export function renderTerraformTemplate(template: string, vars: Record<string, string>): string {
  return template
    .replace(/(?<!\$)\$\{([a-z0-9_]+)\}/g, (_m, name: string) => {
      const v = vars[name];
      if (v === undefined) throw new Error(`template variable ${name} is not set`);
      return v;
    })
    .replaceAll('$${', '${')
    .replaceAll('%%{', '%{');
}
