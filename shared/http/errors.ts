import type * as z from 'zod';

export interface FieldError {
  path: string;
  message: string;
}

/** An error with an HTTP status that is safe to show to the caller. */
export class AppError extends Error {
  readonly status: number;
  readonly title: string;
  readonly errors: FieldError[] | undefined;
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    title: string,
    detail: string,
    opts: { errors?: FieldError[]; cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(detail, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AppError';
    this.status = status;
    this.title = title;
    this.errors = opts.errors;
    this.headers = opts.headers ?? {};
  }
}

export class BadRequestError extends AppError {
  constructor(detail: string, errors?: FieldError[]) {
    super(400, 'Bad Request', detail, errors ? { errors } : {});
  }
}
export class NotFoundError extends AppError {
  constructor(detail: string) {
    super(404, 'Not Found', detail);
  }
}
export class MethodNotAllowedError extends AppError {
  constructor(detail: string, allow: string[]) {
    super(405, 'Method Not Allowed', detail, { headers: { Allow: allow.join(', ') } });
  }
}
export class PayloadTooLargeError extends AppError {
  constructor(detail: string, errors?: FieldError[]) {
    super(413, 'Content Too Large', detail, errors ? { errors } : {});
  }
}
export class UnsupportedMediaTypeError extends AppError {
  constructor(detail: string) {
    super(415, 'Unsupported Media Type', detail);
  }
}
/** A dependency (Firestore, BigQuery, signBlob) is down; the caller may retry. */
export class ServiceUnavailableError extends AppError {
  constructor(detail: string, opts: { cause?: unknown; retryAfterSeconds?: number } = {}) {
    super(503, 'Service Unavailable', detail, {
      cause: opts.cause,
      headers: { 'Retry-After': String(opts.retryAfterSeconds ?? 5) },
    });
  }
}

/** Formats a zod path as `imageIds[3]` / `filter.age.min`, prefixed by where the value came from. */
export function formatPath(where: string, path: readonly PropertyKey[]): string {
  let out = where;
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out || '(root)';
}

export function zodFieldErrors(where: string, error: z.ZodError): FieldError[] {
  return error.issues.map((i) => ({ path: formatPath(where, i.path), message: i.message }));
}
