/** A value created on first use and shared; see `lazy`. */
export interface Lazy<T> {
  (): Promise<T>;
  /** Forgets the value, so that the next call creates a new one; returns what it forgot. */
  reset(): Promise<T> | undefined;
}

/**
 * Google's "lazy initialization of globals": `create` runs on the first call, once per instance, and every
 * later call shares its promise (concurrent first callers included). A failed creation is forgotten, so the
 * next call tries again instead of every call getting the same failure.
 */
export function lazy<T>(create: () => Promise<T>): Lazy<T> {
  let value: Promise<T> | undefined;
  const get = (() => {
    if (value) return value;
    const created = create().catch((err: unknown) => {
      if (value === created) value = undefined;
      throw err;
    });
    value = created;
    return created;
  }) as Lazy<T>;
  get.reset = () => {
    const forgotten = value;
    value = undefined;
    return forgotten;
  };
  return get;
}
