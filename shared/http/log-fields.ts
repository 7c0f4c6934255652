/** Query parameters that carry credentials: API Gateway's `key`, OAuth tokens, signatures. */
const SECRET_PARAM =
  /^(key|api_?key|access_token|id_token|token|sig|signature|x-goog-signature|x-goog-credential)$/i;

/**
 * The request URL as it may be logged: credential-like query parameters masked (callers may pass their API
 * key as `?key=`, which API Gateway forwards), the rest kept for debugging.
 */
export function loggableUrl(url: string | undefined): string {
  if (!url) return '';
  const q = url.indexOf('?');
  if (q === -1) return url;
  const params = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq === -1 ? pair : pair.slice(0, eq);
      let decoded = name;
      try {
        decoded = decodeURIComponent(name);
      } catch {
        // keep the raw name
      }
      return SECRET_PARAM.test(decoded) ? `${name}=[REDACTED]` : pair;
    });
  return `${url.slice(0, q)}?${params.join('&')}`;
}
