import * as z from 'zod';
import { envInt, envList, loadConfig } from '../config.ts';

/** HTTP settings shared by every HTTP function: CORS allow-list and request body limit. */
export const HttpConfigSchema = z
  .object({
    /** Comma-separated origins allowed to call from a browser; `*` for any; empty: no CORS headers. */
    CORS_ORIGINS: envList(),
    /** Largest request body in bytes; larger ones get 413. 1 MiB holds a 1,000-id batch many times over. */
    MAX_BODY_BYTES: envInt(1024 * 1024, 1024, 32 * 1024 * 1024),
  })
  .transform((e) => ({ corsOrigins: e.CORS_ORIGINS, maxBodyBytes: e.MAX_BODY_BYTES }));
export type HttpConfig = z.output<typeof HttpConfigSchema>;

export function loadHttpConfig(env: Record<string, string | undefined> = process.env): HttpConfig {
  return loadConfig(HttpConfigSchema, env);
}
