/**
 * The cohort explorer: a filter built from the OpenAPI schema, a live summary, a keyset-paged image table,
 * an image's detail and exports, all through the typed client (client/index.ts) and the public API.
 */
import type { NihCxrClient } from '../../client/index.ts';
import { createAgreement } from './agreement.ts';
import {
  type Cohort,
  createClient,
  type Filter,
  initialApiKey,
  problemView,
  retrying,
  storeApiKey,
} from './api.ts';
import { createImageDetail } from './detail.ts';
import { byId, h } from './dom.ts';
import { createExport } from './export.ts';
import { buildField, filterSchemaOf, optionsSchemaOf } from './form.ts';
import { renderCharts, renderTotals } from './summary.ts';
import { createImageTable } from './table.ts';
import { readUrl, type UrlState, urlFor } from './url-state.ts';

const DEBOUNCE_MS = 250;

let apiKey = initialApiKey(new URL(location.href));
let client = createClient(apiKey);
const api = (): NihCxrClient => client;

async function main(): Promise<void> {
  // A region that scrolls sideways must take focus, or a keyboard cannot scroll it (WCAG 2.1.1).
  const scroll = byId('images-scroll');
  scroll.tabIndex = 0;
  scroll.setAttribute('role', 'region');
  scroll.setAttribute('aria-label', 'Images of the cohort');
  setUpKey();
  void showAttribution();
  void showDataset();
  const state = readUrl(new URL(location.href));
  let cohort: Cohort = { filter: state.filter as Filter, options: state.dataset as Cohort['options'] };
  let image = state.image;
  const updateUrl = () => {
    const url = urlFor({ filter: cohort.filter, dataset: cohort.options, image }, new URL(location.href));
    history.replaceState(null, '', url);
  };
  const summary = createSummary();
  const table = createImageTable({
    client: api,
    onOpen: (id, opener) => {
      image = id;
      updateUrl();
      void detail.open(id, opener);
    },
  });
  const detail = createImageDetail({
    client: api,
    apiKey: () => apiKey,
    onClose: () => {
      image = undefined;
      updateUrl();
    },
  });
  // The first summary and table page need no schema: asked for at once, beside the schema itself.
  const first = Promise.all([summary.load(cohort), table.load(cohort)]);
  const ready = async () => {
    await first;
    performance.mark('nih:first-render');
    document.body.dataset.ready = 'true';
  };
  let openapi: unknown;
  try {
    openapi = await retrying(() => api().openapi());
  } catch (err) {
    byId('filter-form').replaceChildren(problemView(err));
    await ready();
    return;
  }
  const forms = mountForms(openapi, state);
  const read = forms.read;
  createExport({ client: api, cohort: () => cohort, openapi });
  const agreement = createAgreement({ client: api, cohort: () => cohort, openapi });

  const refresh = () => {
    cohort = read();
    updateUrl();
    void summary.load(cohort);
    void table.load(cohort);
    agreement.cohortChanged();
  };
  watchForms(forms, refresh);

  await ready();
  // A link the form reads differently (parts it has no control for, another key order) shows what the form holds.
  if (JSON.stringify(read()) !== JSON.stringify(cohort)) refresh();
  if (image) void detail.open(image);
}

interface Forms {
  read(): Cohort;
  clear(): void;
}

/** The filter and dataset-building forms, generated from the OpenAPI document and set from the link. */
function mountForms(openapi: unknown, state: UrlState): Forms {
  const form = buildField('filter', [], filterSchemaOf(openapi));
  const dataset = buildField('dataset', ['dataset'], optionsSchemaOf(openapi));
  byId('filter-form').replaceChildren(form.el);
  byId('dataset-form').replaceChildren(dataset.el);
  form.write(state.filter);
  dataset.write(state.dataset);
  if (state.invalid.length > 0) {
    const what = state.invalid.join(' and ');
    byId('summary-error').replaceChildren(
      problemView(new Error(`The link's ${what} is not JSON; it is ignored.`)),
    );
  }
  return {
    read: () => ({
      filter: (form.read() ?? {}) as Filter,
      options: (dataset.read() ?? {}) as Cohort['options'],
    }),
    clear() {
      form.write({});
      dataset.write({});
    },
  };
}

/** Any change to the forms refreshes the page once the user pauses (debounced); so do Clear and a new key. */
function watchForms(forms: Forms, refresh: () => void): void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const onChange = () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, DEBOUNCE_MS);
  };
  for (const id of ['filter-form', 'dataset-form']) {
    byId(id).addEventListener('change', onChange);
    byId(id).addEventListener('input', onChange);
  }
  byId('filter-reset').addEventListener('click', () => {
    forms.clear();
    refresh();
  });
  byId('key-form').addEventListener('submit', (e) => {
    e.preventDefault();
    refresh();
  });
}

/** Totals and charts; a newer filter wins over a slower older answer. */
function createSummary() {
  let seq = 0;
  const region = byId('summary');
  return {
    async load(cohort: Cohort): Promise<void> {
      const mine = ++seq;
      region.setAttribute('aria-busy', 'true');
      byId('summary-status').textContent = 'Updating…';
      try {
        const sm = await retrying(() => api().summarizeCohort({ filter: cohort.filter, ...cohort.options }));
        if (mine !== seq) return;
        byId('summary-error').replaceChildren();
        byId('totals').replaceChildren(...renderTotals(sm));
        byId('charts').replaceChildren(...renderCharts(sm));
        byId('summary-status').textContent = '';
        region.dataset.filter = JSON.stringify(cohort.filter);
        region.dataset.options = JSON.stringify(cohort.options);
      } catch (err) {
        if (mine !== seq) return;
        byId('summary-error').replaceChildren(problemView(err));
        byId('summary-status').textContent = 'The summary could not be updated.';
      } finally {
        if (mine === seq) region.setAttribute('aria-busy', 'false');
      }
    },
  };
}

function setUpKey(): void {
  const input = byId<HTMLInputElement>('api-key');
  input.value = apiKey;
  byId('key-form').addEventListener('submit', (e) => {
    e.preventDefault();
    apiKey = input.value.trim();
    storeApiKey(apiKey);
    client = createClient(apiKey);
  });
}

async function showAttribution(): Promise<void> {
  try {
    const a = await api().attribution();
    byId('attribution-notice').textContent = a.notice;
    byId('citations').replaceChildren(...a.citations.map((c) => h('li', {}, c)));
  } catch {
    // The attribution built into the page stays; it is the same text.
  }
}

async function showDataset(): Promise<void> {
  try {
    const health = await api().health();
    if (health.dataset)
      byId('dataset').textContent =
        health.dataset === 'synthetic'
          ? `Synthetic sample (${health.images ?? '?'} images): set NIH_DATA_DIR for the real data`
          : `NIH ChestX-ray14 (${(health.images ?? 0).toLocaleString('en-US')} images)`;
  } catch {
    // Not every deployment says what it loaded.
  }
}

void main();
