import type { Request } from '@google-cloud/functions-framework';
import type { z } from 'zod';
import { BadRequestError, UnsupportedMediaTypeError, zodFieldErrors } from './errors.ts';

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
  if (!/^application\/(.+\+)?json\b/i.test(type)) {
    throw new UnsupportedMediaTypeError('Send the request body as application/json.');
  }
  return req.body;
}
