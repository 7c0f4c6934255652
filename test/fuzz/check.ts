/**
 * One fuzzed request, how it is sent (supertest against the rig's server), what the input model says the
 * answer must be, and the invariants every response must keep whatever the input.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import request from 'supertest';
import { ProblemSchema } from '../../shared/http/problem.ts';
import { ALLOWED_ORIGIN, SECRETS } from './rig.ts';

/** The router's default body limit (createRouter maxBodyBytes). */
export const MAX_BODY_BYTES = 1024 * 1024;

export interface FuzzRequest {
  method: string;
  /** Path exactly as sent (already percent-encoded where wanted). */
  path: string;
  /** `?a=b...` or ''. */
  query: string;
  contentType: string | undefined;
  headers: Record<string, string>;
  body: string | undefined;
  shortLength: number | undefined;
}

/**
 * valid: the request is well formed and must succeed (statuses lists what success means here);
 * invalid: it must be refused with one of `statuses` (all 4xx); either: the model cannot tell, never 5xx.
 */
export type Outcome =
  | { kind: 'valid'; statuses: readonly number[] }
  | { kind: 'invalid'; statuses: readonly number[] }
  | { kind: 'either' };

export const INVALID_BODY = [400, 413, 415] as const;
export const invalid = (...statuses: number[]): Outcome => ({ kind: 'invalid', statuses });
export const valid = (...statuses: number[]): Outcome => ({ kind: 'valid', statuses });
export const EITHER: Outcome = { kind: 'either' };

export type Res = request.Response;

/** Sends the request; undefined when the server closed a connection whose Content-Length was short. */
export async function send(server: Server, r: FuzzRequest): Promise<Res | undefined> {
  const agent = request(server) as unknown as Record<string, (url: string) => request.Test>;
  let t = agent[r.method.toLowerCase()]!(r.path + r.query).timeout(30_000);
  if (r.contentType !== undefined) t = t.set('Content-Type', r.contentType);
  for (const [k, v] of Object.entries(r.headers)) t = t.set(k, v);
  if (r.shortLength !== undefined && r.body !== undefined) {
    t = t.set('Content-Length', String(Math.min(r.shortLength, Buffer.byteLength(r.body))));
    t = t.set('Connection', 'close');
  }
  // superagent serialises a Buffer when a JSON type is set, and invents a form type for a bare string: send a
  // string when a type is set, a Buffer when none is.
  if (r.body !== undefined) t = t.send(r.contentType ? r.body : Buffer.from(r.body, 'utf8'));
  try {
    return await t;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (r.shortLength !== undefined && (code === 'ECONNRESET' || code === 'EPIPE')) return undefined;
    throw err;
  }
}

const clip = (_: string, v: unknown) =>
  typeof v === 'string' && v.length > 300 ? `${v.slice(0, 300)}…(${v.length} chars)` : v;

/** A failure report that stays readable when the counterexample holds a megabyte of JSON. */
export function compactReport(d: {
  seed: number;
  counterexample: unknown;
  counterexamplePath: string | null;
  errorInstance: unknown;
}): string {
  const err = d.errorInstance instanceof Error ? d.errorInstance.message : String(d.errorInstance);
  return [
    `Property failed (replay: FUZZ_SEED=${d.seed}, path ${d.counterexamplePath})`,
    `Counterexample: ${JSON.stringify(d.counterexample, clip).slice(0, 4000)}`,
    `Error: ${err.slice(0, 2000)}`,
  ].join('\n');
}

const STACK = /\bat [\w.<>]+ \(|node_modules|\/work\/|file:\/\/|\.ts:\d+/;

/** What must hold for every response, valid input or not. */
export function checkEveryResponse(r: FuzzRequest, res: Res): void {
  const where = `${r.method} ${r.path}${r.query.slice(0, 200)} -> ${res.status} ${res.text?.slice(0, 300)}`;
  assert.ok(res.status < 500, `5xx: ${where}`);
  // A Content-Length shorter than the body leaves bytes that Node's HTTP parser reads as a malformed next
  // request: it may answer a bare 400 and close before the route answers. Only "no 5xx" applies then.
  if (
    r.shortLength !== undefined &&
    res.status === 400 &&
    res.headers['x-content-type-options'] === undefined
  ) {
    return;
  }
  assert.equal(res.headers['x-content-type-options'], 'nosniff', `nosniff: ${where}`);
  const origin = r.headers.origin;
  const acao = res.headers['access-control-allow-origin'];
  if (origin === ALLOWED_ORIGIN) assert.equal(acao, ALLOWED_ORIGIN, `CORS for the allowed origin: ${where}`);
  else assert.equal(acao, undefined, `no CORS for ${origin}: ${where}`);
  const text = res.text ?? '';
  for (const secret of Object.values(SECRETS)) assert.ok(!text.includes(secret), `secret in body: ${where}`);
  if (res.status >= 400) {
    assert.match(res.headers['content-type'] ?? '', /^application\/problem\+json/, `problem type: ${where}`);
    if (r.method !== 'HEAD') {
      const body = JSON.parse(text) as unknown;
      const p = ProblemSchema.safeParse(body);
      assert.ok(p.success, `problem schema: ${where}`);
      assert.equal(p.data.status, res.status, `problem status: ${where}`);
      assert.doesNotMatch(text, STACK, `no internals in a problem: ${where}`);
    }
  }
}

export function checkOutcome(r: FuzzRequest, o: Outcome, res: Res): void {
  if (o.kind === 'either' || r.shortLength !== undefined) return;
  const where = `${r.method} ${r.path}${r.query.slice(0, 200)} [${r.contentType}] ${JSON.stringify(r.headers).slice(0, 200)} body=${(r.body ?? '').slice(0, 200)} -> ${res.status} ${res.text?.slice(0, 300)}`;
  assert.ok(o.statuses.includes(res.status), `expected ${o.kind} ${o.statuses.join('/')}: ${where}`);
}

const JSON_TYPE = /^application\/json\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

/**
 * What the framework's body parsing makes of a POST body, as far as can be told without the route:
 * `{value}` when the route will see exactly that JSON value, else the outcome of the request.
 */
export function modelJsonBody(r: FuzzRequest): { value: unknown } | { outcome: Outcome } {
  if (r.body === undefined) return { outcome: EITHER };
  const bytes = Buffer.from(r.body, 'utf8');
  const sent = r.shortLength === undefined ? bytes : bytes.subarray(0, Math.min(r.shortLength, bytes.length));
  if (sent.length > MAX_BODY_BYTES) return { outcome: invalid(413) };
  const encoding = r.headers['content-encoding'];
  // A known encoding may decode junk to something (a few bytes are a valid empty brotli stream): no claim.
  if (encoding === 'gzip' || encoding === 'deflate' || encoding === 'br') return { outcome: EITHER };
  if (encoding !== undefined && encoding !== 'identity') return { outcome: invalid(...INVALID_BODY) };
  const type = r.contentType;
  if (type === undefined || !/json/i.test(type)) return { outcome: invalid(400, 415) };
  if (!JSON_TYPE.test(type.trim())) return { outcome: EITHER };
  const text = sent.toString('utf8');
  if (text.startsWith('\ufeff')) return { outcome: EITHER };
  if (text.length === 0) return { value: {} };
  const first = text.replace(/^[ \t\n\r]+/, '')[0];
  if (first !== '{' && first !== '[') return { outcome: invalid(400) };
  try {
    return { value: JSON.parse(text) };
  } catch {
    return { outcome: invalid(400) };
  }
}

/** Decodes a path segment like the router does (a segment it cannot decode is refused before routing). */
export function decodeSegment(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

/** Statuses and counts per route, printed at the end. */
export class Tally {
  readonly routes = new Map<string, { runs: number; fiveXx: number; statuses: Record<number, number> }>();
  add(route: string, status: number): void {
    const t = this.routes.get(route) ?? { runs: 0, fiveXx: 0, statuses: {} };
    t.runs++;
    if (status >= 500) t.fiveXx++;
    t.statuses[status] = (t.statuses[status] ?? 0) + 1;
    this.routes.set(route, t);
  }
  table(): string {
    const rows = [...this.routes].map(
      ([route, t]) =>
        `${route.padEnd(38)} runs ${String(t.runs).padStart(5)}  5xx ${t.fiveXx}  ${Object.entries(t.statuses)
          .map(([s, n]) => `${s}:${n}`)
          .join(' ')}`,
    );
    return rows.join('\n');
  }
}
