/**
 * Ordering rules of a first apply on an empty project, checked on the dependency graph rebuilt from the
 * parsed HCL (graph.ts). docs/deploy.md states the same rules in words.
 */
import { buildGraph, closure, findCycle, type Node } from './graph.ts';
import { type Body, block, expr, type TfConfig } from './hcl.ts';

/** The APIs the deployment uses (issue 13): each must be enabled by google_project_service.apis. */
export const REQUIRED_APIS = [
  'cloudresourcemanager.googleapis.com',
  'iam.googleapis.com',
  'iamcredentials.googleapis.com',
  'serviceusage.googleapis.com',
  'eventarc.googleapis.com',
  'pubsub.googleapis.com',
  'run.googleapis.com',
  'cloudfunctions.googleapis.com',
  'cloudbuild.googleapis.com',
  'artifactregistry.googleapis.com',
  'storage.googleapis.com',
  'firestore.googleapis.com',
  'bigquery.googleapis.com',
  'secretmanager.googleapis.com',
  'apigateway.googleapis.com',
  'servicemanagement.googleapis.com',
  'servicecontrol.googleapis.com',
  'apikeys.googleapis.com',
] as const;

/** Service agents the Eventarc storage trigger needs created explicitly (google_project_service_identity). */
export const REQUIRED_SERVICE_AGENTS = ['eventarc.googleapis.com', 'pubsub.googleapis.com'] as const;

/**
 * The APIs each resource type calls when it is created, per Google's API for that type. A type missing here
 * is a problem: a new resource must say what it needs. Types that call no Google API map to [].
 */
export const TYPE_APIS: Record<string, readonly string[]> = {
  google_project_service: ['serviceusage.googleapis.com'],
  google_project_service_identity: ['serviceusage.googleapis.com'],
  google_service_account: ['iam.googleapis.com'],
  google_service_account_iam_member: ['iam.googleapis.com'],
  google_project_iam_member: ['cloudresourcemanager.googleapis.com'],
  google_project_iam_custom_role: ['iam.googleapis.com'],
  google_storage_bucket: ['storage.googleapis.com'],
  google_storage_bucket_object: ['storage.googleapis.com'],
  google_storage_bucket_iam_member: ['storage.googleapis.com'],
  google_storage_project_service_account: ['storage.googleapis.com'],
  google_firestore_database: ['firestore.googleapis.com'],
  google_firestore_index: ['firestore.googleapis.com'],
  google_firestore_field: ['firestore.googleapis.com'],
  google_bigquery_dataset: ['bigquery.googleapis.com'],
  google_bigquery_table: ['bigquery.googleapis.com'],
  google_bigquery_dataset_iam_member: ['bigquery.googleapis.com'],
  google_secret_manager_secret: ['secretmanager.googleapis.com'],
  google_secret_manager_secret_version: ['secretmanager.googleapis.com'],
  google_secret_manager_secret_iam_member: ['secretmanager.googleapis.com'],
  google_cloudfunctions2_function: [
    'cloudfunctions.googleapis.com',
    'run.googleapis.com',
    'cloudbuild.googleapis.com',
    'artifactregistry.googleapis.com',
    'eventarc.googleapis.com',
    'pubsub.googleapis.com',
  ],
  google_cloud_run_v2_service_iam_member: ['run.googleapis.com'],
  google_api_gateway_api: ['apigateway.googleapis.com', 'servicemanagement.googleapis.com'],
  google_api_gateway_api_config: ['apigateway.googleapis.com', 'servicemanagement.googleapis.com'],
  google_api_gateway_gateway: ['apigateway.googleapis.com', 'servicecontrol.googleapis.com'],
  google_endpoints_service_iam_member: ['servicemanagement.googleapis.com'],
  google_apikeys_key: ['apikeys.googleapis.com'],
  time_sleep: [],
  random_password: [],
};

const APIS = 'google_project_service.apis';

/** Service names a set-valued local or for_each lists: `toset(["a", "b"])`. */
function listed(value: unknown): string[] {
  return [...(expr(value) ?? '').matchAll(/"([a-z0-9.-]+\.googleapis\.com)"/g)].map((m) => m[1]!);
}

const isBlock = (n: Node) => n.kind === 'resource' || n.kind === 'data' || n.kind === 'ephemeral';

/** Literal values of a for_each over a local or a literal set. */
function forEachValues(c: TfConfig, body: Body): string[] {
  const e = expr(body.for_each) ?? '';
  const local = /^local\.(\w+)$/.exec(e)?.[1];
  return listed(local ? c.modules['.']!.locals[local] : body.for_each);
}

/** The service account (and for_each key) an expression names: `google_service_account.functions["x"]`. */
function serviceAccountOf(value: unknown): string | undefined {
  const m = /google_service_account\.(\w+)(\["[^"]+"\])?/.exec(expr(value) ?? '');
  return m ? `${m[1]}${m[2] ?? ''}` : undefined;
}

/** A module variable resolved to the expression its call passes (`var.x` inside `module.c.`). */
function resolve(n: Node, value: unknown): unknown {
  const v = /^var\.(\w+)$/.exec(expr(value) ?? '')?.[1];
  if (!v || n.prefix === '') return value;
  return callBodies.get(n.prefix.slice(0, -1))?.[v] ?? value;
}
/** Module call bodies by address (`module.labels`), for resolving module variables. */
const callBodies = new Map<string, Body>();

export interface OrderCheck {
  problems: string[];
  /** Resource, data and ephemeral blocks of the expanded graph. */
  blocks: number;
  /** Rule applications (one per block and rule it falls under). */
  assertions: number;
}

export function checkOrdering(c: TfConfig): OrderCheck {
  const graph = buildGraph(c);
  const root = c.modules['.']!;
  callBodies.clear();
  for (const [name, body] of Object.entries(root.modules)) callBodies.set(`module.${name}`, body);
  const problems: string[] = [];
  let assertions = 0;
  const nodes = [...graph.nodes.values()];
  const blocks = nodes.filter(isBlock);
  const deps = new Map(blocks.map((n) => [n.address, closure(graph, n.address)]));

  // 0. Terraform refuses a cycle; the rules below mean nothing on one.
  const cycle = findCycle(graph);
  if (cycle)
    return { problems: [`dependency cycle: ${cycle.join(' -> ')}`], blocks: blocks.length, assertions: 1 };

  // 1. Every API we use is enabled, and every block that calls one waits for the enablement.
  const enabled = listed(root.locals.apis);
  for (const api of REQUIRED_APIS) {
    assertions++;
    if (!enabled.includes(api)) problems.push(`${api} is not enabled (local.apis)`);
  }
  for (const n of blocks) {
    assertions++;
    const needs = TYPE_APIS[n.type!];
    if (!needs) {
      problems.push(
        `${n.address}: resource type ${n.type} has no entry in TYPE_APIS (which APIs does it call?)`,
      );
      continue;
    }
    for (const api of needs)
      if (!enabled.includes(api)) problems.push(`${n.address}: needs ${api}, which is not enabled`);
    if (needs.length > 0 && n.address !== APIS && !deps.get(n.address)!.has(APIS)) {
      problems.push(
        `${n.address} does not wait for ${APIS} (depends_on or a reference to something that does)`,
      );
    }
  }

  // 2. Service agents exist, are granted, and have propagated before the event trigger.
  const identities = blocks.filter((n) => n.type === 'google_project_service_identity');
  const agents = identities.flatMap((n) => forEachValues(c, n.body).concat(listed(n.body.service)));
  for (const a of REQUIRED_SERVICE_AGENTS) {
    assertions++;
    if (!agents.includes(a)) problems.push(`no google_project_service_identity for ${a}`);
  }
  const agentAddresses = new Set([
    ...identities.map((n) => n.address),
    ...blocks.filter((n) => n.type === 'google_storage_project_service_account').map((n) => n.address),
  ]);
  const agentGrants = blocks.filter(
    (n) => n.type?.endsWith('_iam_member') && [...n.deps].some((d) => agentAddresses.has(d)),
  );
  const triggered = blocks.filter(
    (n) =>
      n.type === 'google_cloudfunctions2_function' &&
      (n.body.event_trigger !== undefined ||
        // modules/function writes event_trigger as a dynamic block over the call's event_trigger
        (block(n.body.dynamic as Body, 'event_trigger') !== undefined &&
          (callBodies.get(n.prefix.slice(0, -1))?.event_trigger ?? null) !== null)),
  );
  assertions++;
  if (triggered.length === 0) problems.push('no function has an event trigger');
  for (const f of triggered) {
    assertions++;
    const fDeps = deps.get(f.address)!;
    const trigger =
      block(f.body, 'event_trigger') ?? block(block(f.body.dynamic as Body, 'event_trigger'), 'content');
    const triggerSa = serviceAccountOf(resolveTriggerSa(f, trigger));
    const triggerGrants = blocks.filter(
      (n) =>
        n.type?.endsWith('_iam_member') &&
        n.prefix === '' &&
        triggerSa &&
        serviceAccountOf(n.body.member) === triggerSa,
    );
    const waits = blocks.filter((n) => n.type === 'time_sleep' && fDeps.has(n.address));
    const wanted = [
      ...agentAddresses,
      ...agentGrants.map((n) => n.address),
      ...triggerGrants.map((n) => n.address),
    ];
    const covered = waits.find((w) => wanted.every((a) => deps.get(w.address)!.has(a)));
    if (waits.length === 0) problems.push(`${f.address}: its event trigger does not wait for a time_sleep`);
    else if (!covered) {
      const missing = wanted.filter((a) => !waits.some((w) => deps.get(w.address)!.has(a)));
      problems.push(`${f.address}: the wait before its trigger does not come after ${missing.join(', ')}`);
    }
    if (agentGrants.length === 0) problems.push('no IAM grant to a service agent (Eventarc, Cloud Storage)');
    if (triggerGrants.length === 0)
      problems.push(`${f.address}: the trigger's service account ${triggerSa} has no grant`);
  }

  // 3. A function's service accounts (runtime and build) are not created by the function's module, and
  //    every grant to them exists before the function.
  const functions = blocks.filter((n) => n.type === 'google_cloudfunctions2_function');
  for (const f of functions) {
    const fDeps = deps.get(f.address)!;
    const runtime = resolve(f, block(f.body, 'service_config')?.service_account_email);
    const build = resolve(f, block(f.body, 'build_config')?.service_account);
    for (const [what, value] of [
      ['runtime', runtime],
      ['build', build],
    ] as const) {
      assertions++;
      const sa = serviceAccountOf(value);
      if (!sa) {
        problems.push(
          `${f.address}: ${what} service account ${String(expr(value))} is not a google_service_account of the root`,
        );
        continue;
      }
      const grants = blocks.filter(
        (n) =>
          n.type?.endsWith('_iam_member') &&
          serviceAccountOf(n.body.member) === sa &&
          !n.address.startsWith(f.prefix || '\0'),
      );
      if (grants.length === 0) problems.push(`${f.address}: ${what} service account ${sa} has no grant`);
      for (const g of grants) {
        assertions++;
        if (!fDeps.has(g.address))
          problems.push(`${f.address} does not wait for ${g.address} (grant to its ${what} service account)`);
      }
    }
    if (f.prefix && [...graph.nodes.keys()].some((a) => a.startsWith(`${f.prefix}google_service_account.`))) {
      problems.push(
        `${f.prefix}: creates its own service account; its grants cannot come before the function`,
      );
    }
  }

  // 4. The gateway's managed service is enabled only once its config exists.
  const configs = blocks.filter((n) => n.type === 'google_api_gateway_api_config').map((n) => n.address);
  for (const n of blocks.filter(
    (x) => x.type === 'google_project_service' && /managed_service/.test(expr(x.body.service) ?? ''),
  )) {
    assertions++;
    const missing = configs.filter((a) => !deps.get(n.address)!.has(a));
    if (configs.length === 0 || missing.length > 0)
      problems.push(`${n.address} is enabled before the gateway config ${missing.join(', ')}`);
  }
  assertions++;
  if (
    !blocks.some(
      (x) => x.type === 'google_project_service' && /managed_service/.test(expr(x.body.service) ?? ''),
    )
  ) {
    problems.push("the gateway's managed service is never enabled");
  }
  return { problems, blocks: blocks.length, assertions };
}

/** The trigger's service_account_email as the root writes it (through the module call's event_trigger). */
function resolveTriggerSa(f: Node, trigger: Body | undefined): unknown {
  const e = expr(trigger?.service_account_email) ?? '';
  const m = /^event_trigger\.value\.(\w+)$/.exec(e);
  if (!m) return trigger?.service_account_email;
  const arg = callBodies.get(f.prefix.slice(0, -1))?.event_trigger as Body | undefined;
  return arg?.[m[1]!];
}
