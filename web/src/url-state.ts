/** The page's state in its address: `?filter=<JSON>&image=<imageId>`, so a cohort (or an image) is a link. */
export interface UrlState {
  filter: unknown;
  image: string | undefined;
  /** Set when `filter` was not valid JSON: the page says so and starts from the whole dataset. */
  invalid?: string;
}

export function readUrl(url: URL): UrlState {
  const text = url.searchParams.get('filter');
  const image = url.searchParams.get('image') ?? undefined;
  if (!text) return { filter: {}, image };
  try {
    return { filter: JSON.parse(text) as unknown, image };
  } catch {
    return { filter: {}, image, invalid: text };
  }
}

export function urlFor(filter: unknown, image: string | undefined, base: URL): URL {
  const url = new URL(base.pathname, base.origin);
  const empty = !filter || (typeof filter === 'object' && Object.keys(filter).length === 0);
  if (!empty) url.searchParams.set('filter', JSON.stringify(filter));
  if (image) url.searchParams.set('image', image);
  return url;
}
