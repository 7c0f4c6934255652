/** Retrying the Cloud Storage writes of an upload, and the unref'd sleep it waits with. */
import { isTransient } from './errors.ts';

/**
 * Retries a Cloud Storage write a few times on a connection reset or a 429/5xx: both writes here (the
 * quarantine copy, the report) overwrite with identical content, so repeating them is safe.
 */
export async function retried<T>(fn: () => Promise<T>, attempts = 3): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (!isTransient(err) || i >= attempts) throw err;
      await sleep(100 * i);
    }
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());
