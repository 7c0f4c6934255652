import * as z from 'zod';

/** Thrown at start-up when the environment is not a valid configuration. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Reads and validates configuration once, from a plain object (process.env by default). */
export function loadConfig<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): z.output<S> {
  const r = schema.safeParse(env);
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`);
  throw new ConfigError(`Invalid configuration:\n  ${lines.join('\n  ')}`);
}

/** Empty strings count as unset, so `FOO=` in a .env file falls back to the default. */
export const envString = () =>
  z.preprocess((v) => (v === '' ? undefined : v), z.string().optional()) as z.ZodType<
    string | undefined,
    unknown
  >;

export const envInt = (def: number, min: number, max: number) =>
  z.preprocess((v) => (v === '' || v === undefined ? def : v), z.coerce.number().int().min(min).max(max));

export const envList = () =>
  z.preprocess(
    (v) =>
      typeof v === 'string' && v.trim() !== ''
        ? v
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : [],
    z.array(z.string()),
  );
