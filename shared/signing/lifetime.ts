import { BadRequestError } from '../http/errors.ts';

/**
 * The lifetime to sign with: the one asked for, refused with a 400 past the deployment's maximum (never
 * clamped: a caller that asked for a week must not get an hour without knowing), or by default `preferred`
 * cut to the maximum.
 */
export function urlLifetime(
  asked: number | undefined,
  maxSeconds: number,
  field: string,
  preferred = 3600,
): number {
  if (asked === undefined) return Math.min(preferred, maxSeconds);
  if (asked > maxSeconds) {
    const message = `must be at most ${maxSeconds} seconds on this deployment (SIGNED_URL_MAX_SECONDS)`;
    throw new BadRequestError(`Signed URLs live at most ${maxSeconds} seconds here.`, [
      { path: field, message },
    ]);
  }
  return asked;
}
