/** The live summary: totals and charts of the cohort the filter selects. */
import type { CohortSummaryResponse } from '../../client/index.ts';
import { type Bar, barChart, histogram } from './charts.ts';
import { fmt, h, humanize } from './dom.ts';

const entries = (o: Record<string, number>): Bar[] =>
  Object.entries(o).map(([k, v]) => ({ label: humanize(k), value: v, key: k }));

const SEX: Record<string, string> = { M: 'Male', F: 'Female' };
const SPLIT: Record<string, string> = { train_val: 'train/val', test: 'test' };

export function renderTotals(summary: { totalImages: number; totalPatients: number }): HTMLElement[] {
  return [
    h(
      'div',
      { class: 'total' },
      h(
        'span',
        { class: 'number', id: 'total-images', 'data-value': summary.totalImages },
        fmt(summary.totalImages),
      ),
      h('span', { class: 'unit' }, ' images'),
    ),
    h(
      'div',
      { class: 'total' },
      h(
        'span',
        { class: 'number', id: 'total-patients', 'data-value': summary.totalPatients },
        fmt(summary.totalPatients),
      ),
      h('span', { class: 'unit' }, ' patients'),
    ),
  ];
}

export function renderCharts(sm: CohortSummaryResponse): HTMLElement[] {
  const findings = Object.entries(sm.findings)
    .map(([k, v]) => ({ label: k.replace(/_/g, ' '), value: v, key: k }))
    .sort((a, b) => b.value - a.value);
  const breakdown: Bar[] = [
    ...Object.entries(sm.patientSex).map(([k, v]) => ({ label: `Sex: ${SEX[k] ?? k}`, value: v })),
    ...Object.entries(sm.viewPosition).map(([k, v]) => ({ label: `View: ${k}`, value: v })),
    ...Object.entries(sm.split).map(([k, v]) => ({ label: `Split: ${SPLIT[k] ?? k}`, value: v })),
  ];
  const charts = [
    barChart('chart-findings', 'Images per NIH finding', findings),
    histogram(
      'chart-age',
      'Images per age (10-year bins)',
      sm.age.map((b) => ({ label: `${b.from}-${b.to}`, value: b.count })),
    ),
    barChart('chart-breakdown', 'Sex, view position and split', breakdown),
  ];
  const expert = sm.expert;
  if (expert) {
    const quality: Bar[] = [
      ...entries(expert.fourFindings.disputed).map((b) => ({ ...b, label: `${b.label}: disputed` })),
      ...entries(expert.fourFindings.hedged).map((b) => ({ ...b, label: `${b.label}: hedged` })),
    ];
    charts.push(barChart('chart-four-quality', 'Four findings: reads that disagree or hedge', quality));
    const all = entries(expert.allFindings.disputed)
      .filter((b) => b.value > 0)
      .sort((a, b) => b.value - a.value);
    charts.push(
      all.length > 0
        ? barChart('chart-all-quality', 'All findings: labels whose five reads disagree', all)
        : h(
            'p',
            { class: 'hint', id: 'chart-all-quality' },
            'All findings: no disputed reads in this cohort.',
          ),
    );
  }
  return charts;
}
