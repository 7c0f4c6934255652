/**
 * Fail fast while Firestore is known to be down. Without this, every request during an outage holds its
 * connection (and, under load, makes the platform start more instances) for the full read deadline before
 * its 503. After a read fails with "unavailable", reads fail at once for `openMs`; then one read goes through
 * as a probe (the others still fail fast) and its outcome closes or reopens the breaker. Only unavailability
 * opens it: RESOURCE_EXHAUSTED (a quota, which one heavy caller can use up) fails that read alone, so one
 * caller's load never blocks everyone's reads on the instance.
 */
import { isStoreUnavailable, LabelStoreUnavailableError } from './errors.ts';
import type { LabelRepo } from './repo.ts';

export interface CircuitBreakerOptions {
  /** How long reads fail fast after Firestore was found unavailable; default 5 s (the 503's Retry-After). */
  openMs?: number;
  now?: () => number;
}

const RESOURCE_EXHAUSTED = 8;

/** Firestore answered "over quota" (gRPC RESOURCE_EXHAUSTED), directly or as the cause of a wrapped error. */
export function isQuotaExhausted(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; e !== null && typeof e === 'object' && depth < 8; depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === RESOURCE_EXHAUSTED || code === 'RESOURCE_EXHAUSTED') return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

export function withCircuitBreaker(repo: LabelRepo, opts: CircuitBreakerOptions = {}): LabelRepo {
  const openMs = opts.openMs ?? 5000;
  const now = opts.now ?? Date.now;
  /** 0: closed. Otherwise open until then, and half-open (one probe at a time) after. */
  let openUntil = 0;
  let probing = false;

  const read = async <T>(work: () => Promise<T>): Promise<T> => {
    const t = now();
    if (openUntil !== 0 && (t < openUntil || probing)) {
      const wait = Math.max(openUntil - t, 1000);
      throw new LabelStoreUnavailableError('Firestore was unavailable moments ago; this read was not tried', {
        retryAfterSeconds: Math.ceil(wait / 1000),
      });
    }
    const probe = openUntil !== 0;
    if (probe) probing = true;
    try {
      const result = await work();
      openUntil = 0;
      return result;
    } catch (err) {
      // Over quota, Firestore still answers: this read fails alone (503 with Retry-After) and a probe closes.
      if (isQuotaExhausted(err)) openUntil = 0;
      else if (isStoreUnavailable(err)) openUntil = now() + openMs;
      throw err;
    } finally {
      if (probe) probing = false;
    }
  };

  return {
    getImage: (id) => read(() => repo.getImage(id)),
    getImages: (ids) => read(() => repo.getImages(ids)),
    getPatientImages: (patientId) => read(() => repo.getPatientImages(patientId)),
    // Loads have their own retries (BulkWriter) and report what failed; they are not short-circuited.
    upsertRecords: (records, loadOpts) => repo.upsertRecords(records, loadOpts),
  };
}
