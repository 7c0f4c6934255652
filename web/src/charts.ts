/**
 * Bar charts as plain SVG (no charting library: the page stays small). Each chart is a figure with a
 * caption, an SVG the screen reader skips (role=img with one label), and the same numbers as a list for
 * assistive technology.
 */
import { fmt, h, s } from './dom.ts';

export interface Bar {
  label: string;
  value: number;
  /** Set on bars the user can click to filter by. */
  key?: string;
}

const ROW = 20;
const LABEL_W = 172;
const VALUE_W = 64;

/** The root attributes of a chart: scales to its box, an image named by its figure's title. */
function svgAttributes(id: string, width: number, height: number) {
  return {
    viewBox: `0 0 ${width} ${height}`,
    width: '100%',
    role: 'img',
    'aria-labelledby': `${id}-title`,
    class: 'chart',
  };
}

/** Horizontal bars, one row each, with the label at the left and the count at the right. */
export function barChart(id: string, title: string, bars: Bar[], width = 420): HTMLElement {
  const max = Math.max(1, ...bars.map((b) => b.value));
  const plot = width - LABEL_W - VALUE_W;
  const height = bars.length * ROW + 4;
  const svg = s(
    'svg',
    svgAttributes(id, width, height),
    bars.map((b, i) => {
      const y = i * ROW + 2;
      const w = b.value === 0 ? 0 : Math.max(1, (b.value / max) * plot);
      return s(
        'g',
        { class: 'bar', 'data-label': b.label, 'data-value': b.value },
        s('title', {}, `${b.label}: ${fmt(b.value)}`),
        s('text', { x: LABEL_W - 6, y: y + ROW / 2 + 4, 'text-anchor': 'end', class: 'label' }, b.label),
        s('rect', { x: LABEL_W, y: y + 2, width: w.toFixed(1), height: ROW - 5, rx: 2 }),
        s('text', { x: LABEL_W + w + 4, y: y + ROW / 2 + 4, class: 'value' }, fmt(b.value)),
      );
    }),
  );
  return figure(id, title, svg, bars);
}

/** Vertical bars of adjacent bins (the age histogram). */
export function histogram(id: string, title: string, bins: Bar[], width = 420): HTMLElement {
  const height = 150;
  const base = height - 22;
  const max = Math.max(1, ...bins.map((b) => b.value));
  const step = width / Math.max(1, bins.length);
  const svg = s(
    'svg',
    svgAttributes(id, width, height),
    s('line', { x1: 0, x2: width, y1: base + 0.5, y2: base + 0.5, class: 'axis' }),
    bins.map((b, i) => {
      const hgt = b.value === 0 ? 0 : Math.max(1, (b.value / max) * (base - 16));
      const x = i * step;
      return s(
        'g',
        { class: 'bar', 'data-label': b.label, 'data-value': b.value },
        s('title', {}, `${b.label}: ${fmt(b.value)}`),
        s('rect', {
          x: (x + 2).toFixed(1),
          y: (base - hgt).toFixed(1),
          width: (step - 4).toFixed(1),
          height: hgt,
        }),
        s(
          'text',
          { x: (x + step / 2).toFixed(1), y: height - 6, 'text-anchor': 'middle', class: 'label' },
          b.label.split('-')[0] ?? b.label,
        ),
        b.value > 0
          ? s(
              'text',
              {
                x: (x + step / 2).toFixed(1),
                y: (base - hgt - 3).toFixed(1),
                'text-anchor': 'middle',
                class: 'value small',
              },
              compact(b.value),
            )
          : null,
      );
    }),
  );
  return figure(id, title, svg, bins);
}

const compact = (n: number): string => (n >= 10_000 ? `${Math.round(n / 1000)}k` : fmt(n));

function figure(id: string, title: string, svg: SVGElement, bars: Bar[]): HTMLElement {
  return h(
    'figure',
    { class: 'figure', id },
    h('figcaption', { id: `${id}-title` }, title),
    svg,
    h(
      'ul',
      { class: 'visually-hidden' },
      bars.map((b) => h('li', {}, `${b.label}: ${fmt(b.value)}`)),
    ),
  );
}
