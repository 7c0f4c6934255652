/**
 * What a first apply would create, read from the parsed HCL without providers: every resource address of
 * the root module with its module calls expanded, and how many instances its for_each makes with the
 * variables' defaults (counted from the literal sets, the module call arguments and the generated files the
 * locals decode). Used by `npm run deploy -- --dry-run`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildGraph } from './graph.ts';
import { type Body, expr, type TfConfig } from './hcl.ts';

export interface PlannedResource {
  address: string;
  type: string;
  /** Instances with the defaults; undefined when it depends on input this reader cannot evaluate. */
  count: number | undefined;
  /** What the count comes from: `1`, `local.apis`, `var.invokers`, ... */
  from: string;
}

/** Elements of a literal `toset([...])` / `[...]`. */
function literalSet(text: string): number | undefined {
  const m = /^(?:toset\()?\[([\s\S]*)\]\)?$/.exec(text.trim());
  if (!m) return undefined;
  return m[1]!.split(',').filter((x) => x.trim() !== '').length;
}

function readJson(c: TfConfig, file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(c.root, 'generated', file), 'utf8')) as Record<string, unknown>;
}

/** Instances a for_each expression makes, evaluated with defaults; the module call body resolves `var.x`. */
function count(c: TfConfig, forEach: string, call: Body | undefined): number | undefined {
  const root = c.modules['.']!;
  const literal = literalSet(forEach);
  if (literal !== undefined) return literal;
  // `var.enable_apis ? local.apis : toset([])`: the branch of the variable's default.
  const cond = /^var\.(\w+) \? (.+) : (.+)$/.exec(forEach);
  if (cond) {
    const def = root.variables[cond[1]!]?.default;
    return typeof def === 'boolean' ? count(c, (def ? cond[2] : cond[3])!, call) : undefined;
  }
  const local = /^local\.(\w+)$/.exec(forEach)?.[1];
  if (local) {
    const e = expr(root.locals[local]) ?? '';
    const generated = /^jsondecode\(file\("\$\{path\.module\}\/generated\/([\w.-]+)"\)\)$/.exec(e)?.[1];
    if (generated) return Object.keys(readJson(c, generated)).length;
    // The Firestore locals key the decoded file's indexes and field overrides.
    if (/\bfor i in local\.firestore\.indexes\b/.test(e))
      return (readJson(c, 'firestore-indexes.json').indexes as unknown[]).length;
    if (/\bfor o in local\.firestore\.fieldOverrides\b/.test(e))
      return (readJson(c, 'firestore-indexes.json').fieldOverrides as unknown[]).length;
    return literalSet(e);
  }
  const v = /^var\.([\w.]+)$/.exec(forEach)?.[1];
  if (v) {
    const [name, ...path] = v.split('.');
    if (call && path.length === 0 && name! in call) {
      const arg = call[name!];
      return arg && typeof arg === 'object' ? Object.keys(arg).length : undefined;
    }
    // An optional() attribute of an object variable: its default in the type, `{}` or `[]` means none.
    const type = String(root.variables[name!]?.type ?? '');
    const attr = path.at(-1);
    const opt = attr
      ? new RegExp(`${attr}\\s*=\\s*optional\\([^,]+,\\s*(\\{\\}|\\[\\])\\)`).exec(type)
      : null;
    return opt ? 0 : undefined;
  }
  return undefined;
}

export function plannedResources(c: TfConfig): PlannedResource[] {
  const graph = buildGraph(c);
  const calls = c.modules['.']!.modules;
  const out: PlannedResource[] = [];
  for (const n of graph.nodes.values()) {
    if (n.kind !== 'resource') continue;
    const forEach = expr(n.body.for_each);
    const call = n.prefix ? calls[/^module\.([\w-]+)\.$/.exec(n.prefix)?.[1] ?? ''] : undefined;
    out.push({
      address: n.address,
      type: n.type!,
      count: forEach === undefined ? 1 : count(c, forEach, call),
      from: forEach ?? '1',
    });
  }
  return out.sort((a, b) => a.address.localeCompare(b.address));
}
