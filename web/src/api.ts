/** The page's one way to the API: the typed client, with the gateway key when one is given. */
import {
  ApiError,
  type CohortQueryRequest,
  type CohortSummaryRequest,
  NihCxrClient,
} from '../../client/index.ts';
import { byId, h } from './dom.ts';

/** A cohort filter as the API takes it; the form builds it from the schema and the API validates it. */
export type Filter = NonNullable<CohortQueryRequest['filter']>;

/** A cohort: the filter and the dataset-building options (onePerPatient, sample, ...) sent beside it. */
export interface Cohort {
  filter: Filter;
  options: Omit<CohortSummaryRequest, 'filter'>;
}

const KEY_STORAGE = 'nih-cxr-api-key';

/**
 * The API key for API Gateway: taken once from `?key=` (then dropped from the address bar, so shared links
 * never carry it) or typed in the settings, and kept for this tab only (sessionStorage). Locally none is needed.
 */
export function initialApiKey(url: URL): string {
  const fromUrl = url.searchParams.get('key');
  if (fromUrl) {
    sessionStorage.setItem(KEY_STORAGE, fromUrl);
    url.searchParams.delete('key');
    history.replaceState(history.state, '', url);
    return fromUrl;
  }
  return sessionStorage.getItem(KEY_STORAGE) ?? '';
}

export function storeApiKey(key: string): void {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
}

export function createClient(apiKey: string): NihCxrClient {
  return new NihCxrClient(location.origin, apiKey ? { apiKey } : {});
}

/** An error as the API described it (problem+json: title, detail, each bad field), or as it was thrown. */
export function problemView(err: unknown): HTMLElement {
  if (err instanceof ApiError && typeof err.problem?.title === 'string') {
    const p = err.problem;
    const key =
      err.status === 401 || err.status === 403
        ? h('p', {}, 'This deployment needs an API key: enter it under "API key" at the top of the page.')
        : null;
    return h(
      'div',
      { class: 'problem', role: 'alert', 'data-status': err.status },
      h('strong', {}, `${p.status} ${p.title ?? ''}`),
      p.detail ? h('p', {}, p.detail) : null,
      p.errors?.length
        ? h(
            'ul',
            {},
            p.errors.map((e) => h('li', {}, h('code', {}, e.path), ` ${e.message}`)),
          )
        : null,
      key,
    );
  }
  const message = err instanceof Error ? err.message : String(err);
  const status = err instanceof ApiError ? err.status : undefined;
  return h(
    'div',
    { class: 'problem', role: 'alert', 'data-status': status },
    h('strong', {}, 'The request failed'),
    h('p', {}, message),
    status === 401 || status === 403
      ? h('p', {}, 'This deployment needs an API key: enter it under "API key" at the top of the page.')
      : null,
  );
}

export { ApiError, type NihCxrClient };

/**
 * The local server answers 503 (Retry-After 2) on its data routes while it loads the data, a few minutes for
 * the real files: the page waits and asks again, saying so, rather than showing an error.
 */
export async function retrying<T>(work: () => Promise<T>, attempts = 150): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await work();
    } catch (err) {
      if (
        !(err instanceof ApiError) ||
        err.status !== 503 ||
        !/loading/i.test(err.problem?.detail ?? '') ||
        i >= attempts
      )
        throw err;
      byId('summary-status').textContent = 'The server is still loading its data; retrying…';
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}
