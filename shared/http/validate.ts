import type { Request } from '@google-cloud/functions-framework';
import type * as z from 'zod';
import {
  BadRequestError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  zodFieldErrors,
} from './errors.ts';

export type Where = 'body' | 'query' | 'path' | '';

/** Validates `value` with `schema`, or throws a 400 naming every bad field. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, where: Where): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const errors = zodFieldErrors(where, r.error);
  const first = errors[0];
  throw new BadRequestError(
    first ? `Invalid ${first.path}: ${first.message}` : `Invalid ${where || 'input'}`,
    errors,
  );
}

/** The JSON body of a POST: must be `application/json` and an object. */
export function jsonBody(req: Request): unknown {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    throw new UnsupportedMediaTypeError('Send the request body as application/json.');
  }
  return req.body;
}

/** A batch that is merely too large is 413, not 400 (the API contract), so it is checked before the schema. */
export function rejectOversizedArray(body: unknown, field: string, max: number, what = 'items'): void {
  const list = (body as Record<string, unknown> | null)?.[field];
  if (Array.isArray(list) && list.length > max) {
    const message = `must hold at most ${max} ${what} (got ${list.length})`;
    throw new PayloadTooLargeError(`Invalid body.${field}: ${message}`, [{ path: `body.${field}`, message }]);
  }
}
