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
