import * as z from 'zod';
import { AppError, type FieldError } from './errors.ts';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: FieldError[];
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Maps any thrown value to an RFC 9457 problem; unknown errors become a generic 500 without internals. */
export function toProblem(err: unknown): { problem: Problem; headers: Record<string, string> } {
  if (err instanceof AppError) {
    const problem: Problem = {
      type: `https://github.com/nih-cxr/nih-cxr/blob/main/docs/errors.md#${err.status}`,
      title: err.title,
      status: err.status,
      detail: err.message,
    };
    if (err.errors?.length) problem.errors = err.errors;
    return { problem, headers: err.headers };
  }
  return {
    problem: {
      type: 'about:blank',
      title: 'Internal Server Error',
      status: 500,
      detail: 'An unexpected error occurred; it has been logged.',
    },
    headers: {},
  };
}

/** The problem body as a zod schema, for route specs (OpenAPI). */
export const ProblemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.int(),
  detail: z.string(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});

/** A RouteSpec response entry for an error status. */
export function problemResponse(description: string) {
  return { description, schema: ProblemSchema, contentType: PROBLEM_CONTENT_TYPE };
}

/**
 * The error responses every route can give (the router's 404/405, the body limit and type, validation,
 * a backing service down): the OpenAPI document declares them on every operation from here, beside any a
 * route declares itself with problemResponse.
 */
export const COMMON_ERROR_RESPONSES: Record<number, string> = {
  400: 'Invalid input; `errors` names each bad field.',
  404: 'Unknown image, patient or route.',
  405: 'Method not allowed on this path.',
  413: 'Batch or body too large.',
  415: 'Body is not application/json.',
  503: 'A backing service is unavailable or not configured; retry after `Retry-After` seconds.',
};
