/**
 * BigQuery REST v2 shapes the cohort store sends and reads (jobs.query, jobs.insert, jobs.get,
 * jobs.getQueryResults, jobs.cancel, tables.insert), built and decoded here as plain data so that tests can
 * check them against recorded responses. They are hand-built rather than left to @google-cloud/bigquery's
 * createJob / query because those drop what the store needs: createJob counts a 409 as success only for a
 * job id it generated itself, and query() with timeoutMs loses the job it would have to cancel.
 */
import type { PlainRow } from './results.ts';
import type { BigQueryField } from './schema.ts';
import type { SqlParam } from './sql-dialect.ts';

export interface TableRef {
  projectId: string;
  datasetId: string;
  tableId: string;
}

export interface JobReference {
  projectId: string;
  jobId: string;
  location: string;
}

/** REST QueryParameter. */
export interface QueryParameter {
  name: string;
  parameterType: { type: string; arrayType?: { type: string } };
  parameterValue: { value?: string; arrayValues?: { value: string }[] };
}

/** Named query parameters in REST form: every value as a string, arrays as arrayValues. */
export function toQueryParameters(params: Record<string, SqlParam>): QueryParameter[] {
  return Object.entries(params).map(([name, p]) => {
    const array = /^ARRAY<(\w+)>$/.exec(p.type);
    if (array) {
      return {
        name,
        parameterType: { type: 'ARRAY', arrayType: { type: array[1]! } },
        parameterValue: { arrayValues: (p.value as (string | number)[]).map((v) => ({ value: String(v) })) },
      };
    }
    return { name, parameterType: { type: p.type }, parameterValue: { value: String(p.value) } };
  });
}

/** Job labels: lowercase keys and values, as BigQuery requires; they attribute cost per operation. */
export function jobLabels(operation: string): Record<string, string> {
  return { app: 'nih-cxr', component: 'cohorts', operation };
}

export interface QueryJobOptions {
  jobReference: JobReference;
  maximumBytesBilled: number;
  operation: string;
}

/**
 * The fields a query job's configuration and a jobs.query request share, in this order: parameterised
 * GoogleSQL, the query cache and the bytes cap.
 */
function queryFields(sql: string, params: Record<string, SqlParam>, maximumBytesBilled: number) {
  return {
    query: sql,
    useLegacySql: false,
    parameterMode: 'NAMED',
    queryParameters: toQueryParameters(params),
    useQueryCache: true,
    maximumBytesBilled: String(maximumBytesBilled),
  };
}

/** jobs.insert body of a parameterised GoogleSQL query job with a bytes cap, labels and the query cache. */
export function queryJob(sql: string, params: Record<string, SqlParam>, o: QueryJobOptions) {
  return {
    jobReference: o.jobReference,
    configuration: {
      labels: jobLabels(o.operation),
      query: queryFields(sql, params, o.maximumBytesBilled),
    },
  };
}

export interface JobsQueryOptions {
  maximumBytesBilled: number;
  operation: string;
  location: string;
  /** Rows in the first (and, for short queries, only) response. */
  maxResults: number;
  /** How long BigQuery may hold this call open before answering jobComplete: false. */
  timeoutMs: number;
  /** Makes the call idempotent: a retry with the same id returns the same query (BigQuery keeps it ~15 min). */
  requestId: string;
}

/**
 * jobs.query body of a short query: JOB_CREATION_OPTIONAL lets BigQuery answer without creating a job when
 * the query finishes within timeoutMs and fits one response; otherwise the answer names the job it created.
 */
export function jobsQueryRequest(sql: string, params: Record<string, SqlParam>, o: JobsQueryOptions) {
  return {
    ...queryFields(sql, params, o.maximumBytesBilled),
    labels: jobLabels(o.operation),
    location: o.location,
    maxResults: o.maxResults,
    timeoutMs: o.timeoutMs,
    requestId: o.requestId,
    jobCreationMode: 'JOB_CREATION_OPTIONAL',
  };
}

/**
 * tables.insert body of a staging table that deletes itself at `expirationTime` (ms since the epoch) even
 * if the upsert that created it never reaches its own tables.delete.
 */
export function stagingTable(ref: TableRef, schema: { fields: BigQueryField[] }, expirationTime: number) {
  return {
    tableReference: ref,
    schema,
    expirationTime: String(expirationTime),
    labels: jobLabels('upsert_staging'),
  };
}

/** jobs.insert body (metadata part) of an NDJSON load job. */
export function loadJob(
  destination: TableRef,
  schema: { fields: BigQueryField[] },
  o: { jobReference: JobReference; operation: string; create: boolean },
) {
  return {
    jobReference: o.jobReference,
    configuration: {
      labels: jobLabels(o.operation),
      load: {
        destinationTable: destination,
        schema,
        sourceFormat: 'NEWLINE_DELIMITED_JSON',
        writeDisposition: 'WRITE_TRUNCATE',
        createDisposition: o.create ? 'CREATE_IF_NEEDED' : 'CREATE_NEVER',
        ignoreUnknownValues: false,
        maxBadRecords: 0,
      },
    },
  };
}

export interface JobStatus {
  state?: string;
  errorResult?: { reason?: string; message?: string } | null;
  errors?: { reason?: string; message?: string }[];
}
export interface JobResource {
  jobReference?: JobReference;
  status?: JobStatus;
  statistics?: { totalBytesProcessed?: string; query?: { totalBytesBilled?: string; cacheHit?: boolean } };
}

export interface ResultField {
  name: string;
  type: string;
  mode?: string;
}
export interface QueryResultsResponse {
  jobComplete?: boolean;
  /** Absent from a jobs.query answer when BigQuery ran the query without creating a job. */
  jobReference?: JobReference;
  /** jobs.query: why a job was created (JOB_CREATION_OPTIONAL), e.g. LONG_RUNNING, LARGE_RESULTS. */
  jobCreationReason?: { code?: string };
  queryId?: string;
  schema?: { fields: ResultField[] };
  rows?: { f: { v: unknown }[] }[];
  pageToken?: string;
  totalRows?: string;
}

function scalar(type: string, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  switch (type) {
    case 'INTEGER':
    case 'INT64':
    case 'FLOAT':
    case 'FLOAT64':
      return Number(v);
    case 'BOOLEAN':
    case 'BOOL':
      return v === 'true' || v === true;
    case 'STRING':
      return String(v);
    default:
      throw new Error(`unexpected BigQuery result type ${type}`);
  }
}

/** Decodes getQueryResults rows (`{f: [{v}]}`, values as strings) into plain rows by the result schema. */
export function decodeRows(res: QueryResultsResponse): PlainRow[] {
  const fields = res.schema?.fields ?? [];
  return (res.rows ?? []).map((row) => {
    const out: PlainRow = {};
    fields.forEach((field, i) => {
      const v = row.f[i]?.v;
      out[field.name] =
        field.mode === 'REPEATED'
          ? ((v ?? []) as { v: unknown }[]).map((x) => scalar(field.type, x.v))
          : scalar(field.type, v);
    });
    return out;
  });
}
