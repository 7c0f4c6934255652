/**
 * Checks of the parsed Terraform configuration. Each returns the problems it finds (empty = pass), so the
 * tests can show that the real configuration passes and that deliberately broken copies do not.
 */
import { type Body, block, expr, strings, type TfConfig, type TfModule } from './hcl.ts';

export const FUNCTION_MODULE_SOURCE = './modules/function';
export const RUNTIME = 'nodejs24';
export const UPLOAD_EVENT = 'google.cloud.storage.object.v1.finalized';

const rootOf = (c: TfConfig): TfModule => c.modules['.']!;
export const fnModule = (c: TfConfig): TfModule | undefined => c.modules['modules/function'];

/** Name of the resource or module an expression refers to: `module.signer.x` -> signer, `google_x.hmac.id` -> hmac. */
export function refName(value: unknown): string | undefined {
  const e = expr(value);
  return e ? /^(?:data\.)?(?:module|google_\w+)\.(\w+)/.exec(e)?.[1] : undefined;
}

/** A module-internal attribute as the module call sets it: `var.x` resolves to the call's x or its default. */
export function resolveInModule(value: unknown, call: Body, mod: TfModule): unknown {
  const e = expr(value);
  const v = e ? /^var\.(\w+)$/.exec(e)?.[1] : undefined;
  if (!v) return value;
  if (v in call) return call[v];
  return mod.variables[v]?.default;
}

export interface FunctionDeployment {
  /** Module call name in the root module. */
  call: string;
  body: Body;
  /** Function folder whose bundle the call deploys (from source_archive.object). */
  folder: string | undefined;
  entryPoint: unknown;
  runtime: unknown;
  eventTrigger: Body | undefined;
}

/** Every function the root deploys: module calls of modules/function, and direct function resources. */
export function functionDeployments(c: TfConfig): FunctionDeployment[] {
  const root = rootOf(c);
  const mod = fnModule(c);
  const out: FunctionDeployment[] = [];
  const folderOf = (v: unknown) => /google_storage_bucket_object\.source\["([^"]+)"\]/.exec(String(v))?.[1];
  for (const [call, body] of Object.entries(root.modules)) {
    if (body.source !== FUNCTION_MODULE_SOURCE || !mod) continue;
    const fn = mod.resources.google_cloudfunctions2_function?.this;
    const build = block(fn, 'build_config');
    out.push({
      call,
      body,
      folder: folderOf((body.source_archive as Body | undefined)?.object),
      entryPoint: resolveInModule(build?.entry_point, body, mod),
      runtime: resolveInModule(build?.runtime, body, mod),
      eventTrigger: (body.event_trigger ?? undefined) as Body | undefined,
    });
  }
  for (const [name, body] of Object.entries(root.resources.google_cloudfunctions2_function ?? {})) {
    const build = block(body, 'build_config');
    const storage = block(block(build, 'source'), 'storage_source');
    out.push({
      call: `google_cloudfunctions2_function.${name}`,
      body,
      folder: folderOf(storage?.object),
      entryPoint: build?.entry_point,
      runtime: build?.runtime,
      eventTrigger: block(body, 'event_trigger'),
    });
  }
  return out;
}

/** Entry points registered by each folder's bundle: name -> 'http' | 'cloudevent'. */
export type Registrations = Record<string, Record<string, string>>;

/** Every folder has exactly one function, running nodejs24, whose entry point its bundle registers. */
export function checkFunctions(c: TfConfig, folders: readonly string[], registered: Registrations): string[] {
  const problems: string[] = [];
  const deployments = functionDeployments(c);
  for (const folder of folders) {
    const mine = deployments.filter((d) => d.folder === folder);
    if (mine.length !== 1) {
      problems.push(`functions/${folder}: ${mine.length} function resources deploy it (want exactly 1)`);
      continue;
    }
    const d = mine[0]!;
    if (d.runtime !== RUNTIME) problems.push(`${d.call}: runtime is ${String(d.runtime)}, want ${RUNTIME}`);
    const type = typeof d.entryPoint === 'string' ? registered[folder]?.[d.entryPoint] : undefined;
    const names = Object.keys(registered[folder] ?? {}).join(', ') || 'nothing';
    if (!type) {
      problems.push(
        `${d.call}: entry point ${String(d.entryPoint)} is not registered by its bundle (registers ${names})`,
      );
    } else if (type !== (d.eventTrigger ? 'cloudevent' : 'http')) {
      problems.push(
        `${d.call}: ${String(d.entryPoint)} registers as ${type} but the function is ${d.eventTrigger ? 'event' : 'HTTP'}-triggered`,
      );
    }
  }
  for (const d of deployments) {
    if (!d.folder || !folders.includes(d.folder)) problems.push(`${d.call}: deploys no folder of functions/`);
  }
  const mod = fnModule(c);
  const fn = mod?.resources.google_cloudfunctions2_function?.this;
  if (mod && expr(block(fn, 'service_config')?.service_account_email) !== 'var.service_account_email') {
    problems.push('modules/function: the function does not run as the service account its call passes');
  }
  // Each call passes the root's service account for its own folder: google_service_account.functions["<folder>"].
  for (const d of deployments) {
    if (!mod || !d.folder || d.call.startsWith('google_')) continue;
    const want = `google_service_account.functions["${d.folder}"].email`;
    if (expr(d.body.service_account_email) !== want) {
      problems.push(`${d.call}: runs as ${String(expr(d.body.service_account_email))}, want ${want}`);
    }
  }
  const ids = deployments.map((d) => expr(d.body.service_account_email)).filter((x) => x !== undefined);
  if (new Set(ids).size !== ids.length) problems.push('two functions share a service account');
  return problems;
}

const PRIMITIVE = /roles\/(owner|editor|viewer)(?![\w.])/;
const PUBLIC = /\b(allUsers|allAuthenticatedUsers)\b/;

/** Strings of everything that configures resources (not variable validations, which name what they forbid). */
function* configStrings(m: TfModule): Generator<[string, string]> {
  yield* strings(m.resources, `${m.path}:resource`);
  yield* strings(m.data, `${m.path}:data`);
  yield* strings(m.modules, `${m.path}:module`);
  yield* strings(m.locals, `${m.path}:locals`);
  for (const [name, v] of Object.entries(m.variables))
    yield* strings(v.default, `${m.path}:variable.${name}.default`);
}

/** Every configuring string that matches `pattern`, as a problem naming `what` it is. */
function scan(c: TfConfig, pattern: RegExp, what: string): string[] {
  const problems: string[] = [];
  for (const m of Object.values(c.modules)) {
    for (const [path, s] of configStrings(m)) {
      const hit = pattern.exec(s);
      if (hit) problems.push(`${path}: ${what} ${hit[0]}`);
    }
  }
  return problems;
}

export const checkNoPrimitiveRoles = (c: TfConfig): string[] => scan(c, PRIMITIVE, 'basic role');
export const checkNoPublicAccess = (c: TfConfig): string[] => scan(c, PUBLIC, 'public member');

/** Who holds a grant: a function's module call, a google_service_account, or a Google service agent. */
export function memberOf(value: unknown): string {
  const e = expr(value) ?? '';
  const m =
    /^google_service_account\.functions\["(\w+)"\]\.member$/.exec(e) ??
    /^module\.(\w+)\.service_account_member$/.exec(e) ??
    /^google_service_account\.(\w+)\.member$/.exec(e) ??
    /^serviceAccount:\$\{google_service_account\.(\w+)\.email\}$/.exec(e);
  if (m) return m[1]!;
  if (e === 'data.google_storage_project_service_account.gcs.member') return 'gcs service agent';
  const agent = /^google_project_service_identity\.\w+\["(\w+)\.googleapis\.com"\]\.member$/.exec(e)?.[1];
  if (agent) return `${agent} service agent`;
  return `unrecognised member ${e}`;
}

/** Every variable of every module, example included, has a type and a description. */
export function checkVariables(c: TfConfig): string[] {
  const problems: string[] = [];
  for (const m of Object.values(c.modules)) {
    for (const [name, v] of Object.entries(m.variables)) {
      if (typeof v.type !== 'string' || v.type.trim() === '')
        problems.push(`${m.path}: variable ${name} has no type`);
      if (typeof v.description !== 'string' || v.description.trim() === '') {
        problems.push(`${m.path}: variable ${name} has no description`);
      }
    }
  }
  return problems;
}

/** The upload function alone is event-triggered: finalized objects of the uploads bucket, explicit retries. */
export function checkUploadTrigger(c: TfConfig, uploadFolder: string): string[] {
  const problems: string[] = [];
  const root = rootOf(c);
  const triggered = functionDeployments(c).filter((d) => d.eventTrigger);
  const upload = triggered.find((d) => d.folder === uploadFolder);
  for (const d of triggered)
    if (d !== upload) problems.push(`${d.call}: event trigger on a function other than uploads`);
  if (!upload?.eventTrigger) return [...problems, `functions/${uploadFolder}: no event trigger`];
  const t = upload.eventTrigger;
  if (t.event_type !== UPLOAD_EVENT)
    problems.push(`trigger event_type is ${String(t.event_type)}, want ${UPLOAD_EVENT}`);
  if (t.retry_policy !== 'RETRY_POLICY_RETRY') {
    problems.push(`trigger retry_policy is ${String(t.retry_policy)}; set RETRY_POLICY_RETRY explicitly`);
  }
  const bucket = expr((t.filters as Body | undefined)?.bucket);
  if (bucket !== 'google_storage_bucket.uploads.name')
    problems.push(`trigger bucket filter is ${bucket}, want the uploads bucket`);
  if (!root.resources.google_storage_bucket?.uploads) problems.push('no google_storage_bucket.uploads');
  const sa = refName(t.service_account_email);
  const invokers = Object.values((upload.body.invokers ?? {}) as Record<string, unknown>).map(memberOf);
  if (!sa || !invokers.includes(sa))
    problems.push(`trigger service account ${sa} cannot invoke the upload function`);
  // The module must pass the caller's retry policy and filters through to the resource.
  const content = block(
    block(fnModule(c)?.resources.google_cloudfunctions2_function?.this, 'dynamic'),
    'event_trigger',
  );
  const inner = block(content, 'content');
  if (expr(inner?.retry_policy) !== 'event_trigger.value.retry_policy') {
    problems.push('modules/function: event_trigger.retry_policy is not taken from the caller');
  }
  if (!block(block(inner, 'dynamic'), 'event_filters'))
    problems.push('modules/function: event filters are not set');
  return problems;
}

/** Compares generated files with what the generator produces now. */
export function checkGenerated(actual: Record<string, string>, expected: Record<string, string>): string[] {
  const problems: string[] = [];
  for (const [name, content] of Object.entries(expected)) {
    if (actual[name] === undefined)
      problems.push(`terraform/generated/${name} is missing; run npm run gen:terraform`);
    else if (actual[name] !== content)
      problems.push(`terraform/generated/${name} is stale; run npm run gen:terraform`);
  }
  for (const name of Object.keys(actual)) {
    if (!(name in expected))
      problems.push(`terraform/generated/${name} has no source; run npm run gen:terraform`);
  }
  return problems;
}
