/** The DuckDB store's connections (local-only, like the store): a few idle ones are kept for reuse. */
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';

/** Idle connections kept; one released beyond these is closed. */
const MAX_IDLE = 8;

export interface DuckDbPool {
  /** An idle connection, or a new one. A caller that does not give it back closes it. */
  acquire(): Promise<DuckDBConnection>;
  /** Runs `fn` on a connection and gives the connection back afterwards, also when `fn` throws. */
  withConnection<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T>;
  /** Closes the idle connections. */
  closeIdle(): void;
}

export function createDuckDbPool(instance: DuckDBInstance): DuckDbPool {
  const idle: DuckDBConnection[] = [];
  const acquire = async () => idle.pop() ?? (await instance.connect());
  const release = (c: DuckDBConnection) => {
    if (idle.length < MAX_IDLE) idle.push(c);
    else c.closeSync();
  };
  return {
    acquire,
    async withConnection(fn) {
      const c = await acquire();
      try {
        return await fn(c);
      } finally {
        release(c);
      }
    },
    closeIdle() {
      for (const c of idle.splice(0)) c.closeSync();
    },
  };
}
