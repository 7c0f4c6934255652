/**
 * Least exposure (issue 20): API keys never in state or outputs, the HMAC secret mounted only where URLs are
 * signed, a quota bucket per client, CORS through the gateway, and the narrowed grants.
 */

import { QUARANTINE_PREFIX, REPORTS_PREFIX } from '../../shared/uploads/report.ts';
import { checkServiceAccountRoles } from './checks-iam.ts';
import { checkNoSecretsInState } from './checks-secrets.ts';
import { EXPECTED_GRANTS } from './expected.ts';
import { type Body, block, expr, type TfConfig } from './hcl.ts';

/**
 * Functions that sign URLs and so mount the HMAC secret: the signer, and cohorts, whose
 * `POST /v1/cohorts:export` with `urls: "signed"` signs every row's URL (with HMAC when it is configured).
 */
export const HMAC_MOUNTS = ['cohorts', 'signer'] as const;

/** The function folders whose module calls have no event trigger (HTTP functions behind the gateway). */
function httpCalls(c: TfConfig): [string, Body][] {
  return Object.entries(c.modules['.']!.modules).filter(([, b]) => b.event_trigger === undefined);
}

export function checkExposure(c: TfConfig): string[] {
  const root = c.modules['.']!;
  const problems = [...checkNoSecretsInState(c)];

  // The HMAC secret is mounted exactly where URLs are signed.
  for (const [call, body] of Object.entries(root.modules)) {
    const secrets = (body.secret_environment_variables ?? {}) as Record<string, Body>;
    const mounts = 'HMAC_SECRET' in secrets;
    const signs = (HMAC_MOUNTS as readonly string[]).includes(call);
    if (mounts && !signs) problems.push(`${call} mounts HMAC_SECRET but signs nothing`);
    if (!mounts && signs) problems.push(`${call}: HMAC_SECRET is not mounted, but ${call} signs URLs`);
    if (mounts && expr(secrets.HMAC_SECRET?.secret) !== 'google_secret_manager_secret.hmac.secret_id') {
      problems.push(`${call}: HMAC_SECRET is not the hmac secret`);
    }
  }

  // CORS: every HTTP function answers preflights from var.api.cors_origins.
  if (expr(root.locals.cors_origins) !== 'join(",", var.api.cors_origins)') {
    problems.push('local.cors_origins is not join(",", var.api.cors_origins)');
  }
  if (!/cors_origins\s*=\s*optional\(list\(string\)/.test(String(root.variables.api?.type))) {
    problems.push('var.api has no cors_origins list');
  }
  for (const [call, body] of httpCalls(c)) {
    const env = (body.environment_variables ?? {}) as Record<string, unknown>;
    if (expr(env.CORS_ORIGINS) !== 'local.cors_origins')
      problems.push(`${call}: CORS_ORIGINS is not set from var.api.cors_origins`);
  }

  // A quota bucket per client: API Gateway counts per consumer project, so clients are let enable the API
  // in their own projects (roles/servicemanagement.serviceConsumer on the managed service) and own their keys.
  const consumers = Object.values(root.resources.google_endpoints_service_iam_member ?? {}).filter(
    (b) =>
      b.role === 'roles/servicemanagement.serviceConsumer' &&
      expr(b.service_name) === 'google_api_gateway_api.this.managed_service' &&
      expr(b.for_each) === 'var.api.consumers',
  );
  if (consumers.length !== 1) {
    problems.push('no per-client quota: var.api.consumers are not granted serviceConsumer on the API');
  }

  // The upload function's write grant covers exactly the prefixes shared/uploads writes under.
  const writer = root.resources.google_storage_bucket_iam_member?.uploads_object_writer;
  const condition = String(block(writer, 'condition')?.expression ?? '');
  const prefixes = [
    ...condition.matchAll(/startsWith\("projects\/_\/buckets\/[^/]+\/objects\/([^"]*)"\)/g),
  ].map((m) => m[1]);
  if (JSON.stringify(prefixes.sort()) !== JSON.stringify([QUARANTINE_PREFIX, REPORTS_PREFIX].sort())) {
    problems.push(
      `uploads may write under ${JSON.stringify(prefixes)}, but shared/uploads writes under ${REPORTS_PREFIX} and ${QUARANTINE_PREFIX}`,
    );
  }

  problems.push(...checkServiceAccountRoles(c, EXPECTED_GRANTS));
  return problems;
}
