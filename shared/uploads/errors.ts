import { LabelStoreUnavailableError } from '../labels/errors.ts';
import { FileFormatError } from '../parsers/types.ts';

/**
 * The upload itself is unusable (unknown content, a broken PNG, a truncated gzip, past a limit...): reported,
 * quarantined and acknowledged, never retried. `offset` is the byte position of the first problem, if any.
 */
export class UploadRejection extends Error {
  override readonly name = 'UploadRejection';
  readonly offset: number | undefined;

  constructor(reason: string, offset?: number, opts?: { cause?: unknown }) {
    super(reason, opts);
    this.offset = offset;
  }
}

/** Another attempt holds the lease on this object generation: the platform should redeliver later. */
export class UploadBusyError extends Error {
  override readonly name = 'UploadBusyError';
}

/**
 * One attempt ran out of time (UploadProcessorDeps.attemptMs), e.g. with Firestore out of reach while the
 * SDK retried: the event is redelivered, and the attempt's own remaining steps stop at the next check.
 */
export class UploadAttemptTimeout extends Error {
  override readonly name = 'UploadAttemptTimeout';
}

/** True for errors in the input (acknowledged); anything else is treated as retryable and thrown. */
export function isInputError(err: unknown): err is UploadRejection | FileFormatError {
  return err instanceof UploadRejection || err instanceof FileFormatError;
}

/** Connection-level failures (Node, the Storage client's download check). */
const TRANSPORT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ERR_STREAM_PREMATURE_CLOSE',
  'CONTENT_DOWNLOAD_MISMATCH',
]);
/** gRPC CANCELLED, UNKNOWN, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNAVAILABLE. */
const TRANSIENT_GRPC = new Set([1, 2, 4, 8, 10, 13, 14]);

/**
 * True for transport and availability errors, the only ones a redelivery can cure: a connection reset,
 * HTTP 408, 429 or 5xx, a transient gRPC status; looked for along the `cause` chain too.
 */
export function isTransient(err: unknown): boolean {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    if (e instanceof UploadBusyError || e instanceof UploadAttemptTimeout) return true;
    if (e instanceof LabelStoreUnavailableError) return true;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && TRANSPORT_CODES.has(code)) return true;
    if (typeof code === 'number') {
      if (code < 100) return TRANSIENT_GRPC.has(code);
      return code === 408 || code === 429 || code >= 500;
    }
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** The object generation is gone (HTTP 404 while reading it): nothing to retry, nothing to report. */
export function isGone(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 404;
}

/**
 * What an error raised while reading and parsing the content (before anything is written) means: transport
 * faults and a vanished object pass through; anything else was caused by the bytes themselves (a parser
 * limit, a RangeError, a malformed structure) and becomes an UploadRejection, never a retry.
 */
export function contentFault(err: unknown): unknown {
  if (err instanceof UploadRejection) return err;
  if (isTransient(err) || isGone(err)) return err;
  if (err instanceof FileFormatError) return new UploadRejection(err.message, undefined, { cause: err });
  const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return new UploadRejection(`the content could not be processed (${what.slice(0, 500)})`, undefined, {
    cause: err,
  });
}
