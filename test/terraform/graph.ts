/**
 * The dependency graph Terraform builds from a configuration, rebuilt from the parsed HCL: a node per resource,
 * data source, ephemeral resource, local, variable and output of each module instance, an edge per reference
 * and per depends_on. Module calls are expanded (`module.labels.google_cloudfunctions2_function.this`); a
 * module's variables depend on what its call passes, and every resource inside depends on the call's
 * depends_on, as in Terraform.
 */
import { type Body, strings, type TfConfig, type TfModule } from './hcl.ts';

export interface Node {
  /** Full address: `google_x.name`, `data.google_x.name`, `module.labels.google_x.this`, `local.x`, ... */
  address: string;
  kind: 'resource' | 'data' | 'ephemeral' | 'local' | 'var' | 'output';
  /** Resource type (resources, data and ephemeral nodes). */
  type?: string;
  body: Body;
  /** Module call prefix ('' at the root, 'module.labels.' inside). */
  prefix: string;
  /** Addresses this node depends on directly. */
  deps: Set<string>;
}

export interface Graph {
  nodes: Map<string, Node>;
}

const REF =
  /(?<![\w.-])(?:(data|ephemeral)\.([\w-]+)\.([\w-]+)|(module)\.([\w-]+)(?:\.([\w-]+))?|(local|var)\.([\w-]+)|((?:google|random|time)_\w+)\.([\w-]+))/g;

/** Addresses referenced by the strings of a value, resolved in module instance `prefix` of module `m`. */
function references(value: unknown, prefix: string, m: TfModule, graph: Graph): string[] {
  const out: string[] = [];
  for (const [, s] of strings(value)) {
    for (const r of s.matchAll(REF)) {
      if (r[1]) out.push(`${prefix}${r[1]}.${r[2]}.${r[3]}`);
      else if (r[4]) {
        // module.X.output: the output alone, as Terraform does; module.X: everything X outputs.
        const outputs = [...graph.nodes.values()].filter(
          (n) => n.kind === 'output' && n.prefix === `${prefix}module.${r[5]}.`,
        );
        for (const o of outputs) if (!r[6] || o.address.endsWith(`.output.${r[6]}`)) out.push(o.address);
      } else if (r[7]) out.push(`${prefix}${r[7]}.${r[8]}`);
      else if (r[9] && m.resources[r[9]]?.[r[10]!]) out.push(`${prefix}${r[9]}.${r[10]}`);
    }
  }
  return out;
}

interface Pending {
  m: TfModule;
  prefix: string;
  call?: { body: Body; callerPrefix: string; caller: TfModule };
}

/** Registers the nodes of module `m` at `prefix` and of every module it calls; edges come later. */
function addNodes(c: TfConfig, p: Pending, graph: Graph, pending: Pending[]): void {
  const { m, prefix } = p;
  pending.push(p);
  const add = (n: Omit<Node, 'deps' | 'prefix'>) =>
    graph.nodes.set(n.address, { ...n, prefix, deps: new Set() });
  for (const [kind, byType] of [
    ['resource', m.resources],
    ['data', m.data],
    ['ephemeral', m.ephemeral],
  ] as const) {
    for (const [type, named] of Object.entries(byType)) {
      for (const [name, body] of Object.entries(named)) {
        const local = kind === 'resource' ? `${type}.${name}` : `${kind}.${type}.${name}`;
        add({ address: `${prefix}${local}`, kind, type, body });
      }
    }
  }
  for (const [name, value] of Object.entries(m.locals))
    add({ address: `${prefix}local.${name}`, kind: 'local', body: { value } });
  for (const [name, body] of Object.entries(m.variables))
    add({ address: `${prefix}var.${name}`, kind: 'var', body });
  for (const [name, body] of Object.entries(m.outputs))
    add({ address: `${prefix}output.${name}`, kind: 'output', body });
  for (const [name, body] of Object.entries(m.modules)) {
    const child = c.modules[normalizePath(m.path, String(body.source))];
    if (child) {
      addNodes(
        c,
        { m: child, prefix: `${prefix}module.${name}.`, call: { body, callerPrefix: prefix, caller: m } },
        graph,
        pending,
      );
    }
  }
}

/** The edges of one module instance's nodes. */
function addEdges({ m, prefix, call }: Pending, graph: Graph): void {
  const callDependsOn = call
    ? references(call.body.depends_on ?? [], call.callerPrefix, call.caller, graph)
    : [];
  for (const n of graph.nodes.values()) {
    if (n.prefix !== prefix) continue;
    if (n.kind === 'var') {
      // A module's variable is what its call passes (nothing at the root: given by the user).
      const name = n.address.slice(prefix.length + 'var.'.length);
      if (call && name in call.body) {
        for (const d of references(call.body[name], call.callerPrefix, call.caller, graph)) n.deps.add(d);
      }
      continue;
    }
    for (const d of references(n.body, prefix, m, graph)) if (d !== n.address) n.deps.add(d);
    if (n.kind === 'resource' || n.kind === 'data' || n.kind === 'ephemeral')
      for (const d of callDependsOn) n.deps.add(d);
  }
}

function normalizePath(from: string, source: string): string {
  const parts = from === '.' ? [] : from.split('/');
  for (const p of source.split('/')) {
    if (p === '..') parts.pop();
    else if (p !== '.' && p !== '') parts.push(p);
  }
  return parts.join('/') || '.';
}

/** The graph of the root module with every module call expanded (examples are deployments, not part of it). */
export function buildGraph(c: TfConfig): Graph {
  const graph: Graph = { nodes: new Map() };
  const pending: Pending[] = [];
  addNodes(c, { m: c.modules['.']!, prefix: '' }, graph, pending);
  for (const p of pending) addEdges(p, graph);
  return graph;
}

/** Every address `address` depends on, directly or not. */
export function closure(graph: Graph, address: string): Set<string> {
  const seen = new Set<string>();
  const stack = [...(graph.nodes.get(address)?.deps ?? [])];
  while (stack.length > 0) {
    const a = stack.pop()!;
    if (seen.has(a)) continue;
    seen.add(a);
    for (const d of graph.nodes.get(a)?.deps ?? []) stack.push(d);
  }
  return seen;
}

/** One cycle of the graph as a list of addresses, if there is any (Terraform refuses such a configuration). */
export function findCycle(graph: Graph): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (a: string): string[] | undefined => {
    if (state.get(a) === 'done') return undefined;
    if (state.get(a) === 'open') return [...path.slice(path.indexOf(a)), a];
    state.set(a, 'open');
    path.push(a);
    for (const d of graph.nodes.get(a)?.deps ?? []) {
      const cycle = visit(d);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(a, 'done');
    return undefined;
  };
  for (const a of graph.nodes.keys()) {
    const cycle = visit(a);
    if (cycle) return cycle;
  }
  return undefined;
}
