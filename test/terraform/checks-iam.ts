/** IAM grants of the configuration, normalised to `role on scope` per identity. */
import { isDeepStrictEqual } from 'node:util';
import { fnModule, functionDeployments, memberOf, refName } from './checks.ts';
import { type Body, expr, type TfConfig } from './hcl.ts';

function scopeOf(type: string, body: Body): string {
  switch (type) {
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
      return `service account ${refName(body.service_account_id)}`;
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
        add(memberOf(body.member), `${String(body.role)} on ${scopeOf(type, body)}`);
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
