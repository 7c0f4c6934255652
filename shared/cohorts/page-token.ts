import { createHmac, timingSafeEqual } from 'node:crypto';
import * as z from 'zod';
import { BadRequestError } from '../http/errors.ts';
import { type CohortFilter, filterHash } from './filter.ts';

/** Local runs only; deployments must set PAGE_TOKEN_SECRET (the config refuses to start without it). */
export const DEV_PAGE_TOKEN_SECRET = 'nih-cxr-local-development-page-token-secret';
export const MAX_PAGE_TOKEN_LENGTH = 256;

const PayloadSchema = z.strictObject({
  v: z.literal(1),
  /** Last image id of the previous page. */
  a: z.string().regex(/^\d{8}_\d{3}$/),
  /** filterHash of the filter the token was issued for. */
  f: z.string().max(64),
});

/**
 * Opaque keyset cursor: `base64url(JSON {v, a: afterImageId, f: filterHash}) "." base64url(HMAC-SHA256)`.
 * Tamper-checked, and valid only with the filter it was issued for.
 */
export interface PageTokens {
  /** `scope`: a hash of anything else that shapes the cohort (onePerPatient, sample); bound like the filter. */
  issue(filter: CohortFilter, afterImageId: string, scope?: string): string;
  /** The image id to continue after; throws a 400 naming `field` when the token is not valid for `filter`. */
  read(filter: CohortFilter, token: string, field?: string, scope?: string): string;
}

export function createPageTokens(secret: string): PageTokens {
  if (secret.length < 16) throw new Error('page token secret must be at least 16 characters');
  const mac = (payload: string) => createHmac('sha256', secret).update(payload).digest();
  const bound = (filter: CohortFilter, scope: string | undefined) =>
    scope ? `${filterHash(filter)}.${scope}` : filterHash(filter);
  const bad = (field: string, message: string) =>
    new BadRequestError(`Invalid ${field}: ${message}`, [{ path: field, message }]);
  return {
    issue(filter, after, scope) {
      const payload = Buffer.from(JSON.stringify({ v: 1, a: after, f: bound(filter, scope) })).toString(
        'base64url',
      );
      return `${payload}.${mac(payload).toString('base64url')}`;
    },
    read(filter, token, field = 'body.pageToken', scope = undefined) {
      const [payload, sig, ...rest] = token.split('.');
      if (!payload || !sig || rest.length || token.length > MAX_PAGE_TOKEN_LENGTH) {
        throw bad(field, 'is not a page token issued by this service');
      }
      const given = Buffer.from(sig, 'base64url');
      const want = mac(payload);
      if (given.length !== want.length || !timingSafeEqual(given, want)) {
        throw bad(field, 'is not a page token issued by this service (signature mismatch)');
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
      } catch {
        throw bad(field, 'is not a page token issued by this service');
      }
      const r = PayloadSchema.safeParse(parsed);
      if (!r.success) throw bad(field, 'is not a page token issued by this service');
      if (r.data.f !== bound(filter, scope)) {
        throw bad(
          field,
          'was issued for a different filter or options; send the same filter, onePerPatient and sample with every page',
        );
      }
      return r.data.a;
    },
  };
}
