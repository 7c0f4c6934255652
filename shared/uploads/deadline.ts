/** A bound on one attempt at an upload: whatever it waits for, it fails in time and stops its later steps. */
import { UploadAttemptTimeout } from './errors.ts';

/**
 * `work(signal)`, or an UploadAttemptTimeout once `ms` have passed. On the timeout `signal` aborts (with that
 * error as its reason), so what is still running of the work stops at its next `throwIfAborted()`; what it
 * has in flight ends by its own bounds. The timer does not keep the process alive.
 */
export async function withinAttemptTime<T>(
  ms: number,
  what: string,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const ac = new AbortController();
  const overrun = new Promise<never>((_, reject) => {
    ac.signal.addEventListener('abort', () => reject(ac.signal.reason), { once: true });
  });
  const timer = setTimeout(() => {
    ac.abort(new UploadAttemptTimeout(`${what} did not finish within ${ms / 1000} s; given up for a retry`));
  }, ms);
  timer.unref();
  try {
    return await Promise.race([work(ac.signal), overrun]);
  } finally {
    clearTimeout(timer);
  }
}
