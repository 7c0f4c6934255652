/**
 * Every block of the configuration checked against the providers' published schemas (provider-schema.json,
 * extracted by scripts/gen-provider-schema.ts): unknown resource types, unknown arguments and blocks, missing
 * required arguments and blocks, references to attributes a type does not have, and module calls whose
 * arguments the module does not declare or whose required variables they leave out.
 */
import { readFileSync } from 'node:fs';
import { join, normalize } from 'node:path';
import type { BlockSchema, SchemaFile, TypeSchema } from '../../scripts/gen-provider-schema.ts';
import { type Body, expr, strings, type TfConfig, type TfModule } from './hcl.ts';

/**
 * The 7.0.0 breaking changes (the provider's version_7_upgrade guide) to the types we use, applied on top of
 * the 6.50.0 schema the CDKTF packages describe, so that the check holds the configuration to what the
 * pinned 7.x provider accepts. Minor 7.x releases only add. docs/deploy.md lists the same differences.
 */
export const SCHEMA_7_CHANGES: {
  provider: string;
  type: string;
  /** Block path inside the type, then the argument. */
  path: string[];
  argument: string;
  change: 'required' | 'removed';
}[] = ['google', 'google-beta'].flatMap((provider) => [
  {
    provider,
    type: 'google_cloudfunctions2_function',
    path: ['event_trigger'],
    argument: 'event_type',
    change: 'required' as const,
  },
  {
    provider,
    type: 'google_cloudfunctions2_function',
    path: ['service_config'],
    argument: 'service',
    change: 'removed' as const,
  },
]);

export function loadProviderSchema(): SchemaFile {
  const schema = JSON.parse(
    readFileSync(join(import.meta.dirname, 'provider-schema.json'), 'utf8'),
  ) as SchemaFile;
  for (const c of SCHEMA_7_CHANGES) {
    let b: BlockSchema | undefined = schema.providers[c.provider]?.resources[c.type];
    for (const p of c.path) b = b?.blocks[p];
    if (!b || !(c.argument in b.attributes))
      throw new Error(`7.x change ${JSON.stringify(c)} matches nothing`);
    if (c.change === 'required') b.attributes[c.argument] = true;
    else delete b.attributes[c.argument];
  }
  return schema;
}

/** Terraform's own arguments of every resource and data block; the provider's schema does not list them. */
const META = new Set([
  'count',
  'for_each',
  'depends_on',
  'provider',
  'lifecycle',
  'provisioner',
  'connection',
]);
const MODULE_META = new Set(['source', 'version', 'providers', 'count', 'for_each', 'depends_on']);

const isBlockValue = (v: unknown): v is Body[] =>
  Array.isArray(v) && v.every((x) => x !== null && typeof x === 'object' && !Array.isArray(x));

/** Problems of one body against its schema; `where` names it in messages. */
function checkBody(body: Body, schema: BlockSchema, where: string, problems: string[]): void {
  const present = new Set<string>();
  for (const [key, value] of Object.entries(body)) {
    if (key === 'dynamic') {
      for (const [name, dyn] of Object.entries((value ?? {}) as Record<string, Body[]>)) {
        const nested = schema.blocks[name];
        if (!nested) {
          problems.push(`${where}: unknown block ${name} (dynamic)`);
          continue;
        }
        present.add(name);
        for (const d of dyn) {
          for (const content of (d.content ?? []) as Body[])
            checkBody(content, nested, `${where}.${name}`, problems);
        }
      }
      continue;
    }
    present.add(key);
    const nested = schema.blocks[key];
    if (nested) {
      if (!isBlockValue(value)) {
        problems.push(`${where}: ${key} is a block, but is set as an argument`);
        continue;
      }
      if (!nested.list && value.length > 1)
        problems.push(`${where}: block ${key} is written ${value.length} times (at most 1)`);
      for (const b of value) checkBody(b, nested, `${where}.${key}`, problems);
    } else if (!(key in schema.attributes)) {
      problems.push(`${where}: unknown ${isBlockValue(value) ? 'block' : 'argument'} ${key}`);
    }
  }
  for (const [name, required] of Object.entries(schema.attributes)) {
    if (required && !present.has(name)) problems.push(`${where}: missing required argument ${name}`);
  }
  for (const [name, b] of Object.entries(schema.blocks)) {
    if (b.required && !present.has(name)) problems.push(`${where}: missing required block ${name}`);
  }
}

/** Provider (local name) of a resource: its `provider` argument, else the prefix of its type. */
function providerOf(type: string, body: Body): string {
  const p = expr(body.provider);
  return p ? p.split('.')[0]! : type.split('_')[0]!;
}

type Kind = 'resource' | 'data' | 'ephemeral';

function typeSchema(
  schema: SchemaFile,
  provider: string,
  kind: Kind,
  type: string,
): { schema?: TypeSchema; problem?: string } {
  const p = schema.providers[provider];
  if (!p) return { problem: `no schema for provider ${provider}` };
  // An ephemeral resource has no binding of its own: it takes the arguments of the resource of its name.
  const isData = kind === 'data';
  const known = isData ? p.dataTypes : p.resourceTypes;
  if (!known.includes(type))
    return {
      problem: `unknown ${isData ? 'data source' : 'resource'} type ${type} (${provider} ${p.providerVersion})`,
    };
  const s = (isData ? p.data : p.resources)[type];
  if (!s)
    return { problem: `${type} is not in provider-schema.json; run node scripts/gen-provider-schema.ts` };
  return { schema: s };
}

/** References `type.name.attr` / `data.type.name[key].attr` whose attribute the type does not export. */
function checkReferences(m: TfModule, schema: SchemaFile, problems: string[]): number {
  let checked = 0;
  const ref = /(?<![\w.-])(data\.)?((?:google|random|time)_\w+)\.(\w+)(?:\[[^\]]*\])?\.(\w+)/g;
  for (const [path, value] of strings({
    resource: m.resources,
    data: m.data,
    module: m.modules,
    locals: m.locals,
    output: m.outputs,
    ephemeral: m.ephemeral,
  })) {
    for (const hit of value.matchAll(ref)) {
      const [, data, type, name, attr] = hit as unknown as [
        string,
        string | undefined,
        string,
        string,
        string,
      ];
      const kind: Kind = data ? 'data' : m.ephemeral[type]?.[name] ? 'ephemeral' : 'resource';
      const declared = (data ? m.data : kind === 'ephemeral' ? m.ephemeral : m.resources)[type]?.[name];
      const where = `${m.path}:${path}`;
      checked++;
      if (!declared) {
        problems.push(`${where}: refers to ${data ?? ''}${type}.${name}, which is not declared`);
        continue;
      }
      const { schema: s } = typeSchema(schema, providerOf(type, declared), kind, type);
      if (kind === 'ephemeral') continue; // the ephemeral's result attribute is not in the resource binding's list
      if (s && !s.exported.includes(attr)) problems.push(`${where}: ${type} has no attribute ${attr}`);
    }
  }
  return checked;
}

/** `var.x`, `local.x` and `module.m.out` references to names the module (or the called module) does not declare. */
function checkNames(c: TfConfig, m: TfModule, problems: string[]): number {
  let checked = 0;
  const scope = {
    resource: m.resources,
    data: m.data,
    ephemeral: m.ephemeral,
    module: m.modules,
    locals: m.locals,
    output: m.outputs,
    provider: m.providers,
    validation: Object.fromEntries(Object.entries(m.variables).map(([k, v]) => [k, v.validation])),
  };
  const ref = /(?<![\w.-])(var|local|module)\.([\w-]+)(?:\.([\w-]+))?/g;
  for (const [path, value] of strings(scope)) {
    for (const hit of value.matchAll(ref)) {
      const [, kind, name, attr] = hit as unknown as [string, string, string, string | undefined];
      checked++;
      const where = `${m.path}:${path}`;
      if (kind === 'var' && !(name in m.variables)) problems.push(`${where}: var.${name} is not declared`);
      else if (kind === 'local' && !(name in m.locals))
        problems.push(`${where}: local.${name} is not declared`);
      else if (kind === 'module') {
        const call = m.modules[name];
        const target = call ? c.modules[normalize(join(m.path, String(call.source)))] : undefined;
        if (!call) problems.push(`${where}: module.${name} is not declared`);
        else if (target && attr && !(attr in target.outputs)) {
          problems.push(`${where}: module.${name} has no output ${attr}`);
        }
      }
    }
  }
  return checked;
}

export interface SchemaCheck {
  problems: string[];
  /** Resource, data, ephemeral, provider and module blocks checked. */
  blocks: number;
  /** Attribute references checked. */
  references: number;
}

export function checkProviderSchema(c: TfConfig, schema: SchemaFile): SchemaCheck {
  const problems: string[] = [];
  let blocks = 0;
  let references = 0;
  for (const m of Object.values(c.modules)) {
    const groups: [Kind, Record<string, Record<string, Body>>][] = [
      ['resource', m.resources],
      ['data', m.data],
      ['ephemeral', m.ephemeral],
    ];
    for (const [kind, byType] of groups) {
      for (const [type, named] of Object.entries(byType)) {
        for (const [name, body] of Object.entries(named)) {
          blocks++;
          const where = `${m.path}: ${kind === 'resource' ? '' : `${kind}.`}${type}.${name}`;
          const { schema: s, problem } = typeSchema(schema, providerOf(type, body), kind, type);
          if (problem) {
            problems.push(`${where}: ${problem}`);
            continue;
          }
          checkBody(
            Object.fromEntries(Object.entries(body).filter(([k]) => !META.has(k))),
            s!,
            where,
            problems,
          );
        }
      }
    }
    for (const [name, body] of Object.entries(m.providers)) {
      blocks++;
      const p = schema.providers[name]?.provider;
      if (!p) problems.push(`${m.path}: provider ${name} has no schema`);
      else
        checkBody(
          Object.fromEntries(Object.entries(body).filter(([k]) => k !== 'alias')),
          p,
          `${m.path}: provider ${name}`,
          problems,
        );
    }
    for (const [call, body] of Object.entries(m.modules)) {
      blocks++;
      const target = c.modules[normalize(join(m.path, String(body.source)))];
      if (!target) {
        problems.push(
          `${m.path}: module ${call}: source ${String(body.source)} is not a module of this configuration`,
        );
        continue;
      }
      for (const key of Object.keys(body)) {
        if (!MODULE_META.has(key) && !(key in target.variables)) {
          problems.push(
            `${m.path}: module ${call}: unknown argument ${key} (${target.path} has no such variable)`,
          );
        }
      }
      for (const [v, decl] of Object.entries(target.variables)) {
        if (!('default' in decl) && !(v in body))
          problems.push(`${m.path}: module ${call}: missing required argument ${v}`);
      }
    }
    references += checkReferences(m, schema, problems) + checkNames(c, m, problems);
  }
  return { problems, blocks, references };
}
