/**
 * A STAND-IN for the BigQuery REST API whose SQL engine is Google's ZetaSQL reference evaluator (the local
 * service of @fivetrandevelopers/zetasql: EvaluateQuery, EvaluateModify). It implements the calls the cohort
 * store makes (jobs.query, jobs.insert, jobs.get, jobs.getQueryResults, jobs.cancel, tables.insert,
 * tables.delete, NDJSON load uploads) on tables held here, so the store's own SQL texts, parameters and row
 * decoding run end to end against GoogleSQL semantics. Every SQL text is first analysed as sent (full
 * `project`.`dataset`.`table` names); the evaluator only sees tables at the root of a catalog with contents,
 * so the text it evaluates differs from the one sent by that table prefix alone.
 *
 * Two statement kinds the reference evaluator refuses are emulated and counted (see `emulated`):
 * - MERGE (ON the key, WHEN MATCHED UPDATE SET every other column = S's, WHEN NOT MATCHED INSERT every
 *   column from S; the stand-in checks that shape) replaces each matched row by its source row and inserts
 *   the rest: it runs as DELETE of the matched rows (the MERGE's own ON condition) and INSERT of the
 *   source rows (its own INSERT list), in the same transaction. UPDATE ... FROM is refused by the evaluator
 *   too, and an UPDATE with correlated subqueries brought its server down;
 * - TRUNCATE TABLE runs as DELETE ... WHERE TRUE.
 * BEGIN TRANSACTION / COMMIT TRANSACTION scripts run statement by statement on a copy that replaces the
 * tables only if every statement succeeded.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import type { BigQueryTransport, RestRequest } from '../../shared/cohorts/bigquery-transport.ts';
import { type BigQueryField, bigQueryTableSchema, COHORT_TABLES } from '../../shared/cohorts/schema.ts';
import { fieldType, startZetaSql, type ZetaSqlServer } from './zetasql.ts';

type Js = string | number | boolean | null | Js[];
interface Table {
  fields: BigQueryField[];
  /** Primary key column indexes: what EvaluateModify reports changed rows by. */
  key: number[];
  rows: Js[][];
}
interface ValueProtoOut {
  value?: string;
  int64Value?: { toString(): string };
  stringValue?: string;
  boolValue?: boolean;
  doubleValue?: number;
  arrayValue?: { element: ValueProtoOut[] };
}
interface TypeOut {
  typeKind: number | string;
  arrayType?: { elementType: TypeOut } | null;
}
interface RestParam {
  name: string;
  parameterType: { type: string; arrayType?: { type: string } };
  parameterValue: { value?: string; arrayValues?: { value: string }[] };
}
interface Result {
  fields: { name: string; type: string; mode: string }[];
  rows: { f: { v: unknown }[] }[];
}

const KEYS: Record<string, string[]> = {
  cohort_images: ['image_id'],
  cohort_readers: ['image_id', 'study', 'reader_id', 'label'],
};
const REST_TYPE: Record<string, string> = { '2': 'INTEGER', '5': 'BOOLEAN', '7': 'FLOAT', '8': 'STRING' };
const TYPE_KIND: Record<string, number> = { TYPE_INT64: 2, TYPE_BOOL: 5, TYPE_DOUBLE: 7, TYPE_STRING: 8 };

function toValue(type: string, v: Js): object {
  if (v === null || v === undefined) return {};
  if (Array.isArray(v)) return { arrayValue: { element: v.map((x) => toValue(type, x)) } };
  switch (type) {
    case 'STRING':
      return { stringValue: String(v) };
    case 'INTEGER':
    case 'INT64':
      return { int64Value: String(v) };
    case 'FLOAT':
    case 'FLOAT64':
      return { doubleValue: Number(v) };
    case 'BOOLEAN':
    case 'BOOL':
      return { boolValue: v === true || v === 'true' };
    default:
      throw new Error(`stand-in: no value for type ${type}`);
  }
}

function fromValue(v: ValueProtoOut): Js {
  switch (v.value) {
    case 'int64Value':
      return Number(v.int64Value!.toString());
    case 'stringValue':
      return v.stringValue!;
    case 'boolValue':
      return v.boolValue!;
    case 'doubleValue':
      return v.doubleValue!;
    case 'arrayValue':
      return v.arrayValue!.element.map(fromValue);
    case undefined:
      return null;
    default:
      throw new Error(`stand-in: unexpected ZetaSQL value ${v.value}`);
  }
}

/** A result cell in REST form: every scalar a string, arrays as [{v}]. */
function restCell(v: Js): unknown {
  if (v === null) return null;
  if (Array.isArray(v)) return v.map((x) => ({ v: restCell(x) }));
  return String(v);
}

class RestError extends Error {
  readonly code: number;
  readonly errors: { reason: string; message: string }[];
  constructor(code: number, message: string, errors: { reason: string; message: string }[]) {
    super(message);
    this.code = code;
    this.errors = errors;
  }
}
const invalid = (err: unknown) =>
  new RestError(400, String((err as Error).message), [
    { reason: 'invalidQuery', message: String((err as Error).message) },
  ]);

export interface ZetaSqlBigQuery {
  transport: BigQueryTransport;
  /** Distinct SQL texts the store sent (queries and script statements) and how many evaluations ran. */
  evaluated: { texts: Set<string>; queries: number; statements: number };
  /** Milliseconds spent per job label `operation` (query, summary, export, stats, upsert, load). */
  time: Map<string, number>;
  /** Statement kinds the reference evaluator lacks and the stand-in emulated, with counts. */
  emulated: Map<string, number>;
  /** A table's rows as plain values keyed by column name. */
  rows(tableId: string): Record<string, Js>[];
  stop(): Promise<void>;
}

export async function startZetaSqlBigQuery(o: {
  project: string;
  dataset: string;
}): Promise<ZetaSqlBigQuery> {
  const zs: ZetaSqlServer = await startZetaSql({ project: o.project, dataset: o.dataset, tables: [] });
  const prefix = `\`${o.project}\`.\`${o.dataset}\`.`;
  let tables = new Map<string, Table>();
  for (const t of COHORT_TABLES) tables.set(t.id, newTable(t.id, bigQueryTableSchema(t.id).fields));
  const jobs = new Map<string, Result>();
  const evaluated = { texts: new Set<string>(), queries: 0, statements: 0 };
  const emulated = new Map<string, number>();
  const time = new Map<string, number>();
  const timed = async <T>(op: string | undefined, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      const k = op ?? 'other';
      time.set(k, (time.get(k) ?? 0) + performance.now() - t0);
    }
  };
  let catalogs: { evalId: unknown; analyzeId: unknown; of: Map<string, Table>; shape: string } | null = null;
  let dirty = true;
  let nextJob = 0;

  function newTable(id: string, fields: BigQueryField[]): Table {
    const base = id.startsWith('staging_images_')
      ? 'cohort_images'
      : id.startsWith('staging_readers_')
        ? 'cohort_readers'
        : id;
    const key = (KEYS[base] ?? []).map((k) => fields.findIndex((f) => f.name === k));
    return { fields, key, rows: [] };
  }

  const tableProto = (id: string, t: Table, keyed: boolean) => ({
    name: id,
    primaryKeyColumnIndex: keyed ? t.key : [],
    column: t.fields.map((f) => ({ name: f.name, type: fieldType(f) })),
  });

  /** (Re-)registers the two catalogs of the current tables: nested names to analyse, root tables with contents to evaluate. */
  /**
   * The catalogs of `state` for one statement: the evaluation catalog carries the contents of the tables
   * the statement names only (registering contents is most of the stand-in's time), with or without keys.
   */
  async function catalogsOf(state: Map<string, Table>, sql: string, keyed = true) {
    const used = [...state.keys()].filter((id) => sql.includes(`\`${id}\``));
    const shape = `${keyed}:${used.join(',')}`;
    if (!dirty && catalogs?.of === state && catalogs.shape === shape) return catalogs;
    if (catalogs) {
      for (const id of [catalogs.evalId, catalogs.analyzeId]) {
        await zs.rpc('unregisterCatalog', { registeredId: id });
      }
    }
    const builtin = { languageOptions: zs.languageOptions };
    const protos = [...state].map(([id, t]) => tableProto(id, t, keyed));
    const analyze = await zs.rpc<{ registeredId: unknown }>('registerCatalog', {
      simpleCatalog: {
        name: 'root',
        builtinFunctionOptions: builtin,
        catalog: [{ name: o.project, catalog: [{ name: o.dataset, table: protos }] }],
      },
    });
    const evaluate = await zs.rpc<{ registeredId: unknown }>('registerCatalog', {
      simpleCatalog: { name: 'root', builtinFunctionOptions: builtin, table: protos },
      tableContent: Object.fromEntries(
        [...state]
          .filter(([id]) => used.includes(id))
          .map(([id, t]) => [
            id,
            {
              tableData: {
                row: t.rows.map((r) => ({ cell: r.map((v, i) => toValue(t.fields[i]!.type, v)) })),
              },
            },
          ]),
      ),
    });
    catalogs = { evalId: evaluate.registeredId, analyzeId: analyze.registeredId, of: state, shape };
    dirty = false;
    return catalogs;
  }

  function params(list: RestParam[] = []) {
    const types = list.map((p) => {
      const t = p.parameterType;
      const scalar = (n: string) => ({
        typeKind: `TYPE_${{ INT64: 'INT64', STRING: 'STRING', BOOL: 'BOOL' }[n]}`,
      });
      return {
        name: p.name,
        type:
          t.type === 'ARRAY'
            ? { typeKind: 'TYPE_ARRAY', arrayType: { elementType: scalar(t.arrayType!.type) } }
            : scalar(t.type),
      };
    });
    const values = list.map((p) => ({
      name: p.name,
      value:
        p.parameterType.type === 'ARRAY'
          ? toValue(
              p.parameterType.arrayType!.type,
              (p.parameterValue.arrayValues ?? []).map((x) => x.value),
            )
          : toValue(p.parameterType.type, p.parameterValue.value ?? null),
    }));
    return { types, values };
  }

  const options = (types: unknown[] = []) => ({
    languageOptions: zs.languageOptions,
    parameterMode: 'PARAMETER_NAMED',
    queryParameters: types,
  });

  async function analyze(sql: string, types: unknown[], state: Map<string, Table>) {
    const c = await catalogsOf(state, sql);
    try {
      await zs.rpc('analyze', {
        registeredCatalogId: c.analyzeId,
        sqlStatement: sql,
        options: options(types),
      });
    } catch (err) {
      throw invalid(err);
    }
  }

  const local = (sql: string) => sql.replaceAll(prefix, '');

  async function query(sql: string, restParams: RestParam[] | undefined): Promise<Result> {
    const p = params(restParams);
    evaluated.texts.add(sql);
    await analyze(sql, p.types, tables);
    const c = await catalogsOf(tables, sql);
    let res: {
      content: { tableData: { row: { cell: ValueProtoOut[] }[] } };
      prepared: { columns: { name: string; type: TypeOut }[] };
    };
    try {
      res = await zs.rpc('evaluateQuery', {
        sql: local(sql),
        registeredCatalogId: c.evalId,
        options: options(p.types),
        params: p.values,
      });
    } catch (err) {
      throw invalid(err);
    }
    evaluated.queries++;
    const kind = (t: TypeOut) => String(TYPE_KIND[String(t.typeKind)] ?? t.typeKind);
    const fields = res.prepared.columns.map((col) => {
      const array = kind(col.type) === '16';
      const t = array ? kind(col.type.arrayType!.elementType) : kind(col.type);
      return { name: col.name, type: REST_TYPE[t] ?? `KIND_${t}`, mode: array ? 'REPEATED' : 'NULLABLE' };
    });
    const rows = (res.content.tableData?.row ?? []).map((r) => ({
      f: r.cell.map((cell) => ({ v: restCell(fromValue(cell)) })),
    }));
    return { fields, rows };
  }

  const rowKey = (t: Table, row: Js[]) => JSON.stringify(t.key.map((i) => row[i]));

  /** One DML statement on `state` (a copy): evaluated, and its changed rows applied. */
  async function modify(sql: string, state: Map<string, Table>) {
    evaluated.texts.add(sql);
    await analyze(sql, [], state);
    const merge =
      /^MERGE (\S+) AS T\nUSING (\S+) AS S\nON (.+)\nWHEN MATCHED THEN UPDATE SET (.+)\nWHEN NOT MATCHED THEN INSERT \((.+)\) VALUES \((.+)\)$/s.exec(
        sql,
      );
    const truncate = /^TRUNCATE TABLE (\S+)$/.exec(sql);
    let run: string[];
    if (merge) {
      const [, target, source, on, set, cols, vals] = merge;
      emulated.set('MERGE', (emulated.get('MERGE') ?? 0) + 1);
      // The evaluator refuses UPDATE ... FROM, and its UPDATE with correlated subqueries brings the server
      // down; a MERGE whose SET copies every non-key column from S and whose INSERT copies every column
      // replaces each matched row by its source row, which is what DELETE matched + INSERT all means.
      const t = state.get(String(target).split('.').at(-1)!.replaceAll('`', ''));
      const names = t?.fields.map((f) => f.name) ?? [];
      const key = names.filter((n) => !String(set).includes(`${n} = S.${n}`));
      assert.deepEqual(
        String(set).split(', '),
        names.filter((n) => !key.includes(n)).map((n) => `${n} = S.${n}`),
        'stand-in: the MERGE SET list copies every non-key column from the source',
      );
      assert.equal(cols, names.join(', '), 'stand-in: the MERGE inserts every column');
      assert.equal(vals, names.map((n) => `S.${n}`).join(', '), 'stand-in: ... from the source row');
      assert.equal(on, key.map((n) => `T.${n} = S.${n}`).join(' AND '), 'stand-in: ON is the key');
      run = [
        `DELETE FROM ${target} AS T WHERE EXISTS (SELECT 1 FROM ${source} AS S WHERE ${on})`,
        `INSERT INTO ${target} (${cols}) SELECT ${vals} FROM ${source} AS S`,
      ];
    } else if (truncate) {
      emulated.set('TRUNCATE', (emulated.get('TRUNCATE') ?? 0) + 1);
      run = [`DELETE FROM ${truncate[1]} WHERE TRUE`];
    } else if (/^(BEGIN|COMMIT)\b/.test(sql)) {
      throw new Error(`stand-in: ${sql} is not a DML statement`);
    } else run = [sql];
    for (const stmt of run) {
      if (process.env.STANDIN_DEBUG) console.error(`stand-in: ${local(stmt)}`);
      dirty = true;
      // Changed rows come back by primary key (a DELETE names none without one), but an INSERT into a
      // table with a primary key brings the server down: INSERTs run on the same tables without keys.
      const keyed = !/^INSERT\b/.test(stmt);
      const c = await catalogsOf(state, stmt, keyed);
      let res: {
        tableName: string;
        content: { operation: number | string; cell: ValueProtoOut[]; oldPrimaryKey: ValueProtoOut[] }[];
      };
      try {
        res = await zs.rpc('evaluateModify', {
          sql: local(stmt),
          registeredCatalogId: c.evalId,
          options: options(),
        });
      } catch (err) {
        throw invalid(err);
      }
      evaluated.statements++;
      const t = state.get(res.tableName);
      if (!t) throw new Error(`stand-in: modified unknown table ${res.tableName}`);
      const byKey = new Map(t.rows.map((r, i) => [rowKey(t, r), i]));
      const drop = new Set<number>();
      for (const change of res.content) {
        const op = String(change.operation);
        const old = JSON.stringify(change.oldPrimaryKey.map(fromValue));
        const cells = change.cell.map(fromValue);
        if (op === '1' || op === 'INSERT') t.rows.push(cells);
        else if (op === '2' || op === 'DELETE') drop.add(byKey.get(old)!);
        else if (op === '3' || op === 'UPDATE') t.rows[byKey.get(old)!] = cells;
        else throw new Error(`stand-in: unknown row operation ${op}`);
      }
      t.rows = t.rows.filter((_, i) => !drop.has(i));
      const keys = new Set(t.rows.map((r) => rowKey(t, r)));
      assert.equal(keys.size, t.rows.length, `stand-in: ${res.tableName} has duplicate keys after: ${stmt}`);
      dirty = true;
    }
  }

  /** Statements that succeed together or not at all: run on a copy that replaces the tables at the end. */
  async function atomically(statements: string[]) {
    const copy = new Map([...tables].map(([id, t]) => [id, { ...t, rows: t.rows.map((r) => [...r]) }]));
    for (const stmt of statements) await modify(stmt, copy);
    tables = copy;
    dirty = true;
  }

  /** A query job's SQL: a query, one DML statement, or a BEGIN TRANSACTION ... COMMIT TRANSACTION script. */
  async function execute(sql: string, restParams: RestParam[] | undefined): Promise<Result> {
    if (/^(SELECT|WITH)\b/.test(sql)) return query(sql, restParams);
    if (!sql.startsWith('BEGIN TRANSACTION')) await atomically([sql]);
    else {
      const parts = sql.split(';\n');
      if (parts[0] !== 'BEGIN TRANSACTION' || parts.at(-1) !== 'COMMIT TRANSACTION;') {
        throw new Error('stand-in: only BEGIN TRANSACTION; ...; COMMIT TRANSACTION; scripts');
      }
      await atomically(parts.slice(1, -1));
    }
    return { fields: [], rows: [] };
  }

  function page(id: string, r: Result, maxResults: number, offset: number) {
    const rows = r.rows.slice(offset, offset + maxResults);
    const more = offset + maxResults < r.rows.length;
    return {
      kind: 'bigquery#getQueryResultsResponse',
      jobReference: { projectId: o.project, jobId: id, location: 'US' },
      jobComplete: true,
      schema: { fields: r.fields },
      totalRows: String(r.rows.length),
      rows,
      ...(more ? { pageToken: String(offset + maxResults) } : {}),
    };
  }

  async function request(req: RestRequest): Promise<unknown> {
    const path = req.path;
    const body = req.body as Record<string, unknown> | undefined;
    if (req.method === 'POST' && path === '/queries') {
      const b = body as {
        query: string;
        queryParameters?: RestParam[];
        maxResults: number;
        jobCreationMode?: string;
      };
      const r = await query(b.query, b.queryParameters);
      if (r.rows.length <= b.maxResults && b.jobCreationMode === 'JOB_CREATION_OPTIONAL') {
        const { jobReference: _none, ...rest } = page('', r, b.maxResults, 0);
        return { ...rest, kind: 'bigquery#queryResponse', queryId: `stand-in-${++nextJob}` };
      }
      const id = `job_standin_${++nextJob}`;
      jobs.set(id, r);
      return { ...page(id, r, b.maxResults, 0), jobCreationReason: { code: 'LARGE_RESULTS' } };
    }
    if (req.method === 'POST' && path === '/jobs') {
      const b = body as {
        jobReference: { jobId: string };
        configuration: { query: { query: string; queryParameters?: RestParam[] } };
      };
      const id = b.jobReference.jobId;
      if (jobs.has(id))
        throw new RestError(409, `Already Exists: Job ${id}`, [{ reason: 'duplicate', message: id }]);
      const sql = b.configuration.query.query;
      jobs.set(id, await execute(sql, b.configuration.query.queryParameters));
      return { kind: 'bigquery#job', jobReference: b.jobReference, status: { state: 'DONE' } };
    }
    let m = /^\/queries\/([\w-]+)$/.exec(path);
    if (req.method === 'GET' && m) {
      const r = jobs.get(m[1]!);
      if (!r) throw new RestError(404, `Not found: Job ${m[1]}`, [{ reason: 'notFound', message: m[1]! }]);
      return page(m[1]!, r, Number(req.query?.maxResults ?? 1e9), Number(req.query?.pageToken ?? 0));
    }
    m = /^\/jobs\/([\w-]+)$/.exec(path);
    if (req.method === 'GET' && m) return { jobReference: { jobId: m[1] }, status: { state: 'DONE' } };
    if (req.method === 'POST' && /^\/jobs\/[\w-]+\/cancel$/.test(path))
      return { kind: 'bigquery#jobCancelResponse' };
    if (req.method === 'POST' && path === `/datasets/${o.dataset}/tables`) {
      const b = body as { tableReference: { tableId: string }; schema: { fields: BigQueryField[] } };
      const id = b.tableReference.tableId;
      if (tables.has(id))
        throw new RestError(409, `Already Exists: Table ${id}`, [{ reason: 'duplicate', message: id }]);
      tables.set(id, newTable(id, b.schema.fields));
      dirty = true;
      return { kind: 'bigquery#table', tableReference: b.tableReference };
    }
    m = new RegExp(`^/datasets/${o.dataset}/tables/(\\w+)$`).exec(path);
    if (req.method === 'DELETE' && m) {
      tables.delete(m[1]!);
      dirty = true;
      return undefined;
    }
    throw new Error(`stand-in: no route for ${req.method} ${path}`);
  }

  async function upload(job: unknown, data: Readable): Promise<unknown> {
    const j = job as {
      jobReference: { jobId: string };
      configuration: {
        load: { destinationTable: { tableId: string }; writeDisposition: string; createDisposition: string };
      };
    };
    const load = j.configuration.load;
    let text = '';
    for await (const chunk of Readable.from(data)) text += chunk;
    const id = load.destinationTable.tableId;
    const t = tables.get(id);
    if (!t) throw new RestError(404, `Not found: Table ${id}`, [{ reason: 'notFound', message: id }]);
    const rows = text
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const obj = JSON.parse(line) as Record<string, Js>;
        return t.fields.map((f) => obj[f.name] ?? (f.mode === 'REPEATED' ? [] : null));
      });
    t.rows = load.writeDisposition === 'WRITE_TRUNCATE' ? rows : [...t.rows, ...rows];
    dirty = true;
    jobs.set(j.jobReference.jobId, { fields: [], rows: [] });
    return { kind: 'bigquery#job', jobReference: j.jobReference, status: { state: 'DONE' } };
  }

  return {
    transport: {
      request: (req) => {
        const b = req.body as {
          labels?: { operation?: string };
          configuration?: { labels?: { operation?: string } };
        };
        return timed(b?.labels?.operation ?? b?.configuration?.labels?.operation ?? req.method, () =>
          request(req),
        );
      },
      upload: (job, data) => timed('load', () => upload(job, data)),
    },
    time,
    evaluated,
    emulated,
    rows(tableId) {
      const t = tables.get(tableId);
      if (!t) throw new Error(`no table ${tableId}`);
      return t.rows.map((r) => Object.fromEntries(t.fields.map((f, i) => [f.name, r[i] ?? null])));
    },
    stop: () => zs.stop(),
  };
}
