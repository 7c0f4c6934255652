/** IAM grants of the configuration, normalised to `role on scope` per identity. */
import { isDeepStrictEqual } from 'node:util';
import { fnModule, functionDeployments, memberOf, refName } from './checks.ts';
import { type Body, block, expr, type TfConfig } from './hcl.ts';

/** The role of a grant: a predefined role, or a custom role of the configuration with its permissions. */
function roleOf(c: TfConfig, body: Body): string {
  const custom = /^google_project_iam_custom_role\.(\w+)\.(name|id)$/.exec(expr(body.role) ?? '')?.[1];
  if (!custom) return String(body.role);
  const def = c.modules['.']?.resources.google_project_iam_custom_role?.[custom];
  const permissions = Array.isArray(def?.permissions) ? [...(def.permissions as string[])].sort() : [];
  return `custom role ${custom} (${permissions.join(', ')})`;
}

/** Scope of a grant, with its IAM condition's expression when it has one. */
function scopeOf(type: string, body: Body): string {
  const condition = block(body, 'condition')?.expression;
  const scope = baseScopeOf(type, body);
  return condition === undefined ? scope : `${scope} if ${String(condition)}`;
}

function baseScopeOf(type: string, body: Body): string {
  switch (type) {
    case 'google_endpoints_service_iam_member':
      return expr(body.service_name) === 'google_api_gateway_api.this.managed_service'
        ? 'api managed service'
        : `service ${String(body.service_name)}`;
    case 'google_project_iam_member': {
      const p = expr(body.project);
      return p === 'var.project_id'
        ? 'project'
        : p === 'local.billing_project'
          ? 'billing project'
          : `project ${p}`;
    }
    case 'google_bigquery_dataset_iam_member':
      return `dataset ${refName(body.dataset_id)}`;
    case 'google_storage_bucket_iam_member':
      return `bucket ${refName(body.bucket)}`;
    case 'google_service_account_iam_member':
      return `service account ${/^google_service_account\.functions\["(\w+)"\]/.exec(expr(body.service_account_id) ?? '')?.[1] ?? refName(body.service_account_id)}`;
    case 'google_secret_manager_secret_iam_member':
      return `secret ${refName(body.secret_id)}`;
    case 'google_cloud_run_v2_service_iam_member':
      return `function ${refName(body.name)}`;
    default:
      return `unchecked ${type}`;
  }
}

/** Every grant of the configuration as `member -> ["role on scope", ...]`, plus problems found collecting them. */
export function grants(c: TfConfig): { byMember: Record<string, string[]>; problems: string[] } {
  const byMember: Record<string, string[]> = {};
  const problems: string[] = [];
  const add = (member: string, grant: string) => {
    byMember[member] ??= [];
    byMember[member].push(grant);
  };
  for (const m of Object.values(c.modules)) {
    for (const [type, named] of Object.entries(m.resources)) {
      if (/_iam_(binding|policy)$/.test(type))
        problems.push(`${m.path}: ${type} is authoritative; use *_iam_member`);
      if (!type.endsWith('_iam_member')) continue;
      for (const [name, body] of Object.entries(named)) {
        if (m.path === 'modules/function') {
          const viaModule =
            type === 'google_cloud_run_v2_service_iam_member' && expr(body.member) === 'each.value';
          if (!viaModule || expr(body.for_each) !== 'var.invokers') {
            problems.push(`modules/function: ${type}.${name} grants something other than var.invokers`);
          }
          continue;
        }
        // The API's consumers, one grant per entry of var.api.consumers.
        const consumers = expr(body.member) === 'each.value' && expr(body.for_each) === 'var.api.consumers';
        add(
          consumers ? 'api consumers' : memberOf(body.member),
          `${roleOf(c, body)} on ${scopeOf(type, body)}`,
        );
      }
    }
  }
  // run.invoker grants made by modules/function for each call's `invokers`.
  const invoker = fnModule(c)?.resources.google_cloud_run_v2_service_iam_member;
  const invokerRole = Object.values(invoker ?? {})[0]?.role;
  for (const d of functionDeployments(c)) {
    for (const member of Object.values((d.body.invokers ?? {}) as Record<string, unknown>)) {
      add(memberOf(member), `${String(invokerRole)} on function ${d.call}`);
    }
  }
  for (const list of Object.values(byMember)) list.sort();
  return { byMember, problems };
}

/** Each identity holds exactly the expected grants, and no other identity holds any. */
export function checkServiceAccountRoles(c: TfConfig, expected: Record<string, readonly string[]>): string[] {
  const { byMember, problems } = grants(c);
  for (const member of new Set([...Object.keys(expected), ...Object.keys(byMember)])) {
    const want = [...(expected[member] ?? [])].sort();
    const got = byMember[member] ?? [];
    if (!isDeepStrictEqual(got, want)) {
      const extra = got.filter((g) => !want.includes(g));
      const missing = want.filter((g) => !got.includes(g));
      problems.push(
        `${member}: ${extra.length ? `unexpected ${extra.join('; ')}` : ''}${extra.length && missing.length ? '; ' : ''}${missing.length ? `missing ${missing.join('; ')}` : ''}`,
      );
    }
  }
  return problems;
}
