/** Terraform configurations parsed with @cdktf/hcl2json, one merged object per module folder. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse } from '@cdktf/hcl2json';

// hcl2json gives every block as an array of bodies; attributes as JSON values or "${expression}" strings.
export type Body = Record<string, unknown>;

export interface TfModule {
  /** Folder relative to the configuration root: '.', 'modules/function', 'examples/basic'. */
  path: string;
  variables: Record<string, Body>;
  outputs: Record<string, Body>;
  locals: Body;
  /** type -> name -> body */
  resources: Record<string, Record<string, Body>>;
  data: Record<string, Record<string, Body>>;
  ephemeral: Record<string, Record<string, Body>>;
  /** Provider configurations, by local name (an aliased second configuration is not supported). */
  providers: Record<string, Body>;
  modules: Record<string, Body>;
  /** Raw text of every .tf file, by file name. */
  text: Record<string, string>;
}

export interface TfConfig {
  root: string;
  modules: Record<string, TfModule>;
}

const first = (v: unknown): Body => (Array.isArray(v) ? (v[0] as Body) : (v as Body));

function mergeNamed(into: Record<string, Body>, blocks: unknown): void {
  for (const [name, bodies] of Object.entries((blocks ?? {}) as Record<string, unknown>)) {
    if (into[name]) throw new Error(`duplicate block ${name}`);
    into[name] = first(bodies);
  }
}

function mergeTyped(into: Record<string, Record<string, Body>>, blocks: unknown): void {
  for (const [type, named] of Object.entries((blocks ?? {}) as Record<string, unknown>)) {
    into[type] ??= {};
    mergeNamed(into[type], named);
  }
}

async function loadModule(root: string, dir: string): Promise<TfModule> {
  const m: TfModule = {
    path: relative(root, dir) || '.',
    variables: {},
    outputs: {},
    locals: {},
    resources: {},
    data: {},
    ephemeral: {},
    providers: {},
    modules: {},
    text: {},
  };
  for (const f of readdirSync(dir)
    .filter((x) => x.endsWith('.tf'))
    .sort()) {
    const text = readFileSync(join(dir, f), 'utf8');
    m.text[f] = text;
    const json = (await parse(f, text)) as Record<string, unknown>;
    mergeNamed(m.variables, json.variable);
    mergeNamed(m.outputs, json.output);
    mergeNamed(m.modules, json.module);
    mergeTyped(m.resources, json.resource);
    mergeTyped(m.data, json.data);
    mergeTyped(m.ephemeral, json.ephemeral);
    mergeNamed(m.providers, json.provider);
    for (const l of (json.locals ?? []) as Body[]) Object.assign(m.locals, l);
  }
  return m;
}

/** Parses the root folder, every modules/<name> and every examples/<name>. */
export async function loadTerraform(root: string): Promise<TfConfig> {
  const dirs = [root];
  for (const group of ['modules', 'examples']) {
    const g = join(root, group);
    if (!existsSync(g)) continue;
    for (const d of readdirSync(g, { withFileTypes: true })) if (d.isDirectory()) dirs.push(join(g, d.name));
  }
  const modules: Record<string, TfModule> = {};
  for (const d of dirs) {
    const m = await loadModule(root, d);
    modules[m.path] = m;
  }
  return { root, modules };
}

/** Every string inside a value (attribute values and nested blocks), with a path for messages. */
export function* strings(value: unknown, path = ''): Generator<[string, string]> {
  if (typeof value === 'string') yield [path, value];
  else if (Array.isArray(value)) for (const [i, v] of value.entries()) yield* strings(v, `${path}[${i}]`);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) yield* strings(v, path ? `${path}.${k}` : k);
  }
}

/** The single nested block `name` of a body (hcl2json wraps blocks in arrays). */
export function block(body: Body | undefined, name: string): Body | undefined {
  const v = body?.[name];
  return v === undefined ? undefined : first(v);
}

/** "${expr}" -> "expr"; a literal stays itself. */
export function expr(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const m = /^\$\{([\s\S]*)\}$/.exec(v);
  return m ? m[1]!.trim() : v;
}
