/**
 * Label quality of the cohort (POST /v1/cohorts:agreement): the NIH label, or each expert reader, against
 * the adjudicated expert label. Its settings (finding, reference, compare) are generated from the route's
 * schema; the answer is shown as the 2x2 matrix and the estimates with their 95% intervals.
 */
import type { CohortAgreementRequest, CohortAgreementResponse, NihCxrClient } from '../../client/index.ts';
import { type Cohort, problemView } from './api.ts';
import { byId, fmt, h } from './dom.ts';
import { buildField, requestBodySchema } from './form.ts';

interface Estimate {
  estimate: number | null;
  lower: number | null;
  upper: number | null;
}
interface Matrix {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}
const MEASURES = ['sensitivity', 'specificity', 'ppv', 'npv', 'kappa'] as const;
const NAMES: Record<string, string> = {
  sensitivity: 'Sensitivity',
  specificity: 'Specificity',
  ppv: 'PPV',
  npv: 'NPV',
  kappa: "Cohen's kappa",
};

const num = (v: number | null | undefined): string => (v === null || v === undefined ? 'n/a' : v.toFixed(3));
const interval = (e: Estimate | undefined): string =>
  e ? `${num(e.estimate)} (${num(e.lower)} to ${num(e.upper)})` : 'n/a';

export interface Agreement {
  /** Recomputes for a changed cohort, if a result is on the page. */
  cohortChanged(): void;
}

export function createAgreement(o: {
  client: () => NihCxrClient;
  cohort: () => Cohort;
  openapi: unknown;
}): Agreement {
  const body = requestBodySchema(o.openapi, '/v1/cohorts:agreement');
  const section = byId('agreement');
  if (!body?.properties) {
    section.hidden = true;
    return { cohortChanged() {} };
  }
  const { filter: _filter, ...settingsProps } = body.properties;
  const cohortKeys = new Set(
    Object.keys(requestBodySchema(o.openapi, '/v1/cohorts:summary')?.properties ?? {}),
  );
  const own = Object.fromEntries(Object.entries(settingsProps).filter(([k]) => !cohortKeys.has(k)));
  const settings = buildField('agreement', ['agreement'], { type: 'object', properties: own });
  settings.write({ finding: 'pneumothorax', reference: 'fourFindings', compare: 'nih' });
  const button = h('button', { type: 'button', id: 'agreement-run' }, 'Compute agreement');
  const result = byId('agreement-result');
  let seq = 0;
  let shown = false;
  button.addEventListener('click', () => void run());
  byId('agreement-controls').replaceChildren(settings.el, button);

  async function run(): Promise<void> {
    const mine = ++seq;
    section.setAttribute('aria-busy', 'true');
    result.replaceChildren(h('p', { role: 'status' }, 'Computing…'));
    try {
      const { filter, options } = o.cohort();
      const shared = Object.fromEntries(Object.entries(options).filter(([k]) => k in body!.properties!));
      const req = { filter, ...shared, ...(settings.read() as object) } as CohortAgreementRequest;
      const res = await o.client().cohortAgreement(req);
      if (mine !== seq) return;
      result.replaceChildren(...render(res));
      result.dataset.done = 'true';
      shown = true;
    } catch (err) {
      if (mine !== seq) return;
      result.replaceChildren(problemView(err));
    } finally {
      if (mine === seq) section.setAttribute('aria-busy', 'false');
    }
  }
  return {
    cohortChanged() {
      if (shown) void run();
    },
  };
}

function matrixTable(m: Matrix, test: string): HTMLElement {
  return h(
    'table',
    { class: 'matrix', id: 'agreement-matrix' },
    h('caption', {}, `${test} against the adjudicated label`),
    h(
      'thead',
      {},
      h('tr', {}, h('td', {}), h('th', { scope: 'col' }, 'Truth YES'), h('th', { scope: 'col' }, 'Truth NO')),
    ),
    h(
      'tbody',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'row' }, `${test} YES`),
        h('td', { 'data-cell': 'tp' }, fmt(m.tp)),
        h('td', { 'data-cell': 'fp' }, fmt(m.fp)),
      ),
      h(
        'tr',
        {},
        h('th', { scope: 'row' }, `${test} NO`),
        h('td', { 'data-cell': 'fn' }, fmt(m.fn)),
        h('td', { 'data-cell': 'tn' }, fmt(m.tn)),
      ),
    ),
  );
}

function render(res: CohortAgreementResponse): HTMLElement[] {
  const r = res as unknown as Record<string, unknown> & { images: number; compare: string };
  const head = h(
    'p',
    { id: 'agreement-images', 'data-value': r.images },
    `${fmt(r.images)} images of the cohort carry the reference label.`,
  );
  return r.compare === 'nih' ? [head, ...renderNih(r)] : [head, ...renderReaders(r)];
}

type Answer = Record<string, unknown>;

/** The NIH label against the adjudicated one: the 2x2 matrix, then each estimate with its interval. */
function renderNih(r: Answer): HTMLElement[] {
  const stats = MEASURES.filter((k) => r[k]).map((k) => [NAMES[k] ?? k, interval(r[k] as Estimate)]);
  return [
    h('div', { class: 'scroll' }, matrixTable(r.matrix as Matrix, 'NIH label')),
    h(
      'table',
      { class: 'stats' },
      h('caption', { class: 'visually-hidden' }, 'Estimates with 95% intervals'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { scope: 'col' }, 'Measure'),
          h('th', { scope: 'col' }, 'Estimate (95% interval)'),
        ),
      ),
      h(
        'tbody',
        {},
        stats.map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, v))),
      ),
    ),
  ];
}

/** Each reader against the adjudicated label, one row each, and Fleiss' kappa across them. */
function renderReaders(r: Answer): HTMLElement[] {
  const readers = (r.readers ?? []) as (Record<string, unknown> & { readerId: string; matrix: Matrix })[];
  const fleiss = r.fleiss as { kappa: number | null; images: number } | undefined;
  const cols = MEASURES.filter((k) => readers.some((x) => x[k]));
  return [
    h(
      'div',
      { class: 'scroll', tabindex: 0, role: 'region', 'aria-label': 'Agreement of each reader' },
      h(
        'table',
        { id: 'agreement-readers' },
        h('caption', { class: 'visually-hidden' }, 'Each reader against the adjudicated label'),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['Reader', 'Images', 'Hedged', 'TP', 'FP', 'FN', 'TN', ...cols.map((k) => NAMES[k] ?? k)].map(
              (c) => h('th', { scope: 'col' }, c),
            ),
          ),
        ),
        h(
          'tbody',
          {},
          readers.map((x) =>
            h(
              'tr',
              { 'data-reader': x.readerId },
              h('th', { scope: 'row' }, x.readerId),
              [x.images, x.hedged, x.matrix.tp, x.matrix.fp, x.matrix.fn, x.matrix.tn].map((v) =>
                h('td', {}, typeof v === 'number' ? fmt(v) : ''),
              ),
              cols.map((k) => h('td', {}, interval(x[k] as Estimate | undefined))),
            ),
          ),
        ),
      ),
    ),
    fleiss
      ? h(
          'p',
          {},
          `Fleiss' kappa across the readers: ${num(fleiss.kappa)} (${fmt(fleiss.images)} images with two or more reads).`,
        )
      : h('span', {}),
  ];
}
