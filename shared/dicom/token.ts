/** Access tokens for the store: the function's own identity (ADC) for the Healthcare API, none otherwise. */
import type { DicomConfig } from './config.ts';
import type { TokenSource } from './dicomweb.ts';

const SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

/** google-auth-library is imported on the first request, so a cold start does not load it. */
export function tokenSource(auth: DicomConfig['auth']): TokenSource {
  if (auth === 'none') return async () => undefined;
  let client: Promise<{ getAccessToken(): Promise<string | null | undefined> }> | undefined;
  return async () => {
    client ??= import('google-auth-library').then((m) => new m.GoogleAuth({ scopes: [SCOPE] }));
    const token = await (await client).getAccessToken();
    if (!token) throw new Error('google-auth-library returned no access token');
    return token;
  };
}
