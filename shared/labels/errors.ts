/** gRPC status codes (google-gax Status) for which the caller should retry later. */
const RETRYABLE_CODES: ReadonlySet<number> = new Set([
  4, // DEADLINE_EXCEEDED
  8, // RESOURCE_EXHAUSTED
  14, // UNAVAILABLE
]);

/** Firestore did not answer in time or said it is unavailable; nothing is wrong with the request. */
export class LabelStoreUnavailableError extends Error {
  override readonly name = 'LabelStoreUnavailableError';
  /** When to try again, if known (e.g. the rest of a circuit breaker's open window). */
  readonly retryAfterSeconds: number | undefined;
  constructor(message: string, opts: { cause?: unknown; retryAfterSeconds?: number } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.retryAfterSeconds = opts.retryAfterSeconds;
  }
}

/** True for errors that mean "Firestore is unavailable right now" rather than a bug or bad data. */
export function isStoreUnavailable(err: unknown): boolean {
  if (err instanceof LabelStoreUnavailableError) return true;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' && RETRYABLE_CODES.has(code);
}

/** Rejects with LabelStoreUnavailableError when `work` takes longer than `ms`. */
export async function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new LabelStoreUnavailableError(`${what} took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } catch (err) {
    if (isStoreUnavailable(err) && !(err instanceof LabelStoreUnavailableError)) {
      throw new LabelStoreUnavailableError(`${what} failed: Firestore is unavailable`, { cause: err });
    }
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
