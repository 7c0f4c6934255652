/** The image table: one page of the cohort at a time, keyset-paged with the API's nextPageToken. */
import type { CohortQueryResponse, NihCxrClient } from '../../client/index.ts';
import { type Cohort, problemView, retrying } from './api.ts';
import { byId, fmt, h } from './dom.ts';

type Row = CohortQueryResponse['images'][number];

export interface ImageTable {
  /** Shows the first page of this cohort. */
  load(cohort: Cohort): Promise<void>;
}

export function createImageTable(o: {
  client: () => NihCxrClient;
  onOpen: (imageId: string, opener: HTMLElement) => void;
}): ImageTable {
  const body = byId('table-body');
  const status = byId('table-status');
  const prev = byId<HTMLButtonElement>('page-prev');
  const next = byId<HTMLButtonElement>('page-next');
  const size = byId<HTMLSelectElement>('page-size');
  const error = byId('table-error');
  let cohort: Cohort = { filter: {}, options: {} };
  // tokens[i] fetches page i (tokens[0] is undefined: the first page); the next page's token is pushed.
  let tokens: (string | undefined)[] = [undefined];
  let page = 0;
  let nextToken: string | null = null;
  let seq = 0;

  async function show(i: number): Promise<void> {
    const mine = ++seq;
    byId('table-region').setAttribute('aria-busy', 'true');
    prev.disabled = true;
    next.disabled = true;
    error.replaceChildren();
    try {
      const token = tokens[i];
      const res = await retrying(() =>
        o.client().queryCohort({
          filter: cohort.filter,
          ...cohort.options,
          pageSize: Number(size.value),
          ...(token ? { pageToken: token } : {}),
        }),
      );
      if (mine !== seq) return;
      page = i;
      nextToken = res.nextPageToken;
      tokens = tokens.slice(0, i + 1);
      if (nextToken) tokens.push(nextToken);
      render(res);
    } catch (err) {
      if (mine !== seq) return;
      body.replaceChildren();
      error.replaceChildren(problemView(err));
      status.textContent = '';
    } finally {
      if (mine === seq) byId('table-region').setAttribute('aria-busy', 'false');
    }
  }

  function render(res: CohortQueryResponse): void {
    body.replaceChildren(...res.images.map(row));
    const first = page * Number(size.value) + 1;
    const last = first + res.images.length - 1;
    status.textContent =
      res.images.length === 0
        ? 'No images match this filter.'
        : `Images ${fmt(first)}-${fmt(last)} of ${fmt(res.totalImages)} (page ${page + 1})`;
    status.dataset.page = String(page + 1);
    prev.disabled = page === 0;
    next.disabled = !nextToken;
  }

  function row(r: Row): HTMLTableRowElement {
    const open = h('button', { type: 'button', class: 'link', 'data-image': r.imageId }, r.imageId);
    open.addEventListener('click', () => o.onOpen(r.imageId, open));
    return h(
      'tr',
      { 'data-image': r.imageId },
      h('th', { scope: 'row' }, open),
      h('td', {}, r.patientId),
      h('td', {}, r.followUp),
      h('td', {}, r.patientAge ?? 'unknown'),
      h('td', {}, r.patientSex),
      h('td', {}, r.viewPosition),
      h('td', {}, r.split === 'train_val' ? 'train/val' : r.split),
      h('td', {}, r.findings.length ? r.findings.join(', ').replace(/_/g, ' ') : 'No Finding'),
    );
  }

  prev.addEventListener('click', () => void show(Math.max(0, page - 1)));
  next.addEventListener('click', () => void show(page + 1));
  size.addEventListener('change', () => {
    tokens = [undefined];
    void show(0);
  });

  return {
    load(c) {
      cohort = c;
      tokens = [undefined];
      return show(0);
    },
  };
}
