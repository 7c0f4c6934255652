/**
 * Google's ZetaSQL analyzer (the GoogleSQL front end BigQuery uses), run as the local gRPC server that
 * @fivetrandevelopers/zetasql ships, on a free port; stopped by stop(). Tables are registered from the
 * declared BigQuery schema, so SQL is checked against exactly what Terraform creates.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { ZetaSQLClient } from '@fivetrandevelopers/zetasql';
import type { BigQueryField } from '../../shared/cohorts/schema.ts';
import type { ParamType } from '../../shared/cohorts/sql-dialect.ts';

const require = createRequire(import.meta.url);

/** The server binary for this platform, as the package's own runServer picks it. */
export function zetaSqlBinary(): string {
  const lib = dirname(require.resolve('@fivetrandevelopers/zetasql'));
  const ext = (process.arch.startsWith('arm') ? '_arm' : '') + (process.platform === 'darwin' ? '' : '.so');
  return join(lib, 'zetasql', `remote_server${ext}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

type TypeProto = { typeKind: string; arrayType?: { elementType: TypeProto } };

const SCALAR: Record<string, string> = {
  STRING: 'TYPE_STRING',
  INTEGER: 'TYPE_INT64',
  INT64: 'TYPE_INT64',
  FLOAT: 'TYPE_DOUBLE',
  FLOAT64: 'TYPE_DOUBLE',
  BOOLEAN: 'TYPE_BOOL',
  BOOL: 'TYPE_BOOL',
};

function scalar(t: string): TypeProto {
  const k = SCALAR[t];
  if (!k) throw new Error(`no ZetaSQL type for ${t}`);
  return { typeKind: k };
}

export function fieldType(f: Pick<BigQueryField, 'type' | 'mode'>): TypeProto {
  return f.mode === 'REPEATED'
    ? { typeKind: 'TYPE_ARRAY', arrayType: { elementType: scalar(f.type) } }
    : scalar(f.type);
}

export function paramType(t: ParamType): TypeProto {
  const m = /^ARRAY<(\w+)>$/.exec(t);
  return m ? { typeKind: 'TYPE_ARRAY', arrayType: { elementType: scalar(m[1]!) } } : scalar(t);
}

const KIND_NAMES: Record<number, string> = { 2: 'INT64', 5: 'BOOL', 7: 'FLOAT64', 8: 'STRING', 16: 'ARRAY' };

interface ResolvedType {
  typeKind: number;
  arrayType?: { elementType: ResolvedType } | null;
}
function typeName(t: ResolvedType): string {
  if (t.typeKind === 16 && t.arrayType) return `ARRAY<${typeName(t.arrayType.elementType)}>`;
  return KIND_NAMES[t.typeKind] ?? `KIND_${t.typeKind}`;
}

export interface OutputColumn {
  name: string;
  type: string;
}

export interface ZetaSqlServer {
  port: number;
  /** The language options every call uses (current GoogleSQL features, external product mode). */
  languageOptions: LanguageOptions;
  /** Any unary RPC of the local service (zetasql.local_service.ZetaSqlLocalService), by its method name. */
  rpc<T = unknown>(method: string, request: unknown): Promise<T>;
  /** Analyzes one GoogleSQL statement; resolves its output columns (query) or [] (DML); rejects when invalid. */
  analyze(sql: string, params: Record<string, { type: ParamType }>): Promise<OutputColumn[]>;
  stop(): Promise<void>;
}

export interface LanguageOptions {
  productMode: 'PRODUCT_EXTERNAL';
  enabledLanguageFeatures: unknown[];
  supportedStatementKinds: string[];
}

export interface CatalogTables {
  project: string;
  dataset: string;
  tables: { id: string; schema: { fields: BigQueryField[] } }[];
}

export async function startZetaSql(catalog: CatalogTables): Promise<ZetaSqlServer> {
  const port = await freePort();
  const child: ChildProcess = spawn(zetaSqlBinary(), ['localhost', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  };
  try {
    ZetaSQLClient.init(port);
    const client = ZetaSQLClient.getInstance();
    if (!(await client.testConnection()))
      throw new Error(`ZetaSQL server did not answer on ${port}: ${output}`);
    const current = await client.getLanguageOptions({ languageVersion: 'VERSION_CURRENT' });
    const languageOptions: LanguageOptions = {
      productMode: 'PRODUCT_EXTERNAL',
      // BigQuery has window functions (ROW_NUMBER() OVER, ...); ZetaSQL leaves that feature to the product.
      enabledLanguageFeatures: [...(current?.enabledLanguageFeatures ?? []), 'FEATURE_ANALYTIC_FUNCTIONS'],
      supportedStatementKinds: [
        'RESOLVED_QUERY_STMT',
        'RESOLVED_MERGE_STMT',
        'RESOLVED_DELETE_STMT',
        'RESOLVED_INSERT_STMT',
        'RESOLVED_TRUNCATE_STMT',
        'RESOLVED_UPDATE_STMT',
      ],
    };
    const simpleCatalog = {
      name: 'root',
      builtinFunctionOptions: { languageOptions },
      catalog: [
        {
          name: catalog.project,
          catalog: [
            {
              name: catalog.dataset,
              table: catalog.tables.map((t) => ({
                name: t.id,
                column: t.schema.fields.map((f) => ({ name: f.name, type: fieldType(f) })),
              })),
            },
          ],
        },
      ],
    };
    const reg = await client.registerCatalog({ simpleCatalog: simpleCatalog as never });
    const registeredCatalogId = reg?.registeredId;
    const api = ZetaSQLClient.API as unknown as Record<
      string,
      (req: unknown, cb: (err: Error | null, res: unknown) => void) => void
    >;
    return {
      port,
      stop,
      languageOptions,
      rpc: <T>(method: string, request: unknown) =>
        new Promise<T>((resolve, reject) => {
          const fn = api[method];
          if (!fn) return reject(new Error(`no ZetaSQL RPC ${method}`));
          fn.call(api, request, (err, res) => (err ? reject(err) : resolve(res as T)));
        }),
      async analyze(sql, params) {
        const r = await client.analyze({
          registeredCatalogId: registeredCatalogId as never,
          sqlStatement: sql,
          options: {
            languageOptions: languageOptions as never,
            queryParameters: Object.entries(params).map(([name, p]) => ({
              name,
              type: paramType(p.type) as never,
            })),
            parameterMode: 'PARAMETER_NAMED',
          },
        });
        const q = (r?.resolvedStatement as { resolvedQueryStmtNode?: unknown } | null)
          ?.resolvedQueryStmtNode as
          | { outputColumnList: { name: string; column: { type: ResolvedType } }[] }
          | undefined;
        if (!q) return [];
        return q.outputColumnList.map((o) => ({ name: o.name, type: typeName(o.column.type) }));
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
