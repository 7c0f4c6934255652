/**
 * The page's state in its address: `?filter=<JSON>&dataset=<JSON>&image=<imageId>`, so a cohort (or an
 * image of it) is a link. `dataset` holds the dataset-building options (onePerPatient, sample, ...).
 */
export interface UrlState {
  filter: unknown;
  dataset: unknown;
  image: string | undefined;
  /** The parameters that were not valid JSON: the page says so and ignores them. */
  invalid: string[];
}

export function readUrl(url: URL): UrlState {
  const invalid: string[] = [];
  const json = (name: string): unknown => {
    const text = url.searchParams.get(name);
    if (!text) return {};
    try {
      return JSON.parse(text) as unknown;
    } catch {
      invalid.push(name);
      return {};
    }
  };
  return {
    filter: json('filter'),
    dataset: json('dataset'),
    image: url.searchParams.get('image') ?? undefined,
    invalid,
  };
}

const isEmpty = (v: unknown): boolean => !v || (typeof v === 'object' && Object.keys(v).length === 0);

export function urlFor(
  state: { filter: unknown; dataset: unknown; image: string | undefined },
  base: URL,
): URL {
  const url = new URL(base.pathname, base.origin);
  if (!isEmpty(state.filter)) url.searchParams.set('filter', JSON.stringify(state.filter));
  if (!isEmpty(state.dataset)) url.searchParams.set('dataset', JSON.stringify(state.dataset));
  if (state.image) url.searchParams.set('image', state.image);
  return url;
}
