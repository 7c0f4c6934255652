import { AppError, ServiceUnavailableError } from '../http/errors.ts';
import type { BigQueryErrorLike } from './bigquery-transport.ts';

/**
 * BigQuery failures as the API reports them: anything a retry or an operator can fix (outage, quota, rate,
 * permissions, missing table, bytes cap) is a 503; a request BigQuery calls invalid is our bug (a 500).
 */
export function mapBigQueryError(err: unknown): Error {
  if (err instanceof AppError) return err;
  const e = (err ?? {}) as BigQueryErrorLike;
  const reasons = (e.errors ?? []).map((x) => x.reason ?? '');
  if (reasons.includes('bytesBilledLimitExceeded')) {
    return new ServiceUnavailableError(
      'The cohort query would bill more bytes than this deployment allows (BQ_MAX_BYTES_BILLED).',
      { cause: err },
    );
  }
  const invalid = reasons.includes('invalidQuery') || reasons.includes('invalid') || e.code === 400;
  if (invalid)
    return new Error(`BigQuery rejected a request: ${e.message ?? reasons.join(', ')}`, { cause: err });
  return new ServiceUnavailableError('The cohort store (BigQuery) is unavailable; retry shortly.', {
    cause: err,
  });
}
