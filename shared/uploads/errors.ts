import { FileFormatError } from '../parsers/types.ts';

/**
 * The upload itself is unusable (unknown content, a broken PNG, a truncated gzip...): reported, quarantined
 * and acknowledged, never retried. `offset` is the byte position of the first problem, when there is one.
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

/** True for errors in the input (acknowledged); anything else is treated as retryable and thrown. */
export function isInputError(err: unknown): err is UploadRejection | FileFormatError {
  return err instanceof UploadRejection || err instanceof FileFormatError;
}
