/**
 * The cohort explorer page (issue 16): its size (the one HTML file, script and styles inline: raw and
 * gzipped, as sent) and its first render in headless Chromium against `npm start` (the real NIH files when
 * NIH_DATA_DIR is set, else the synthetic sample): time from navigation to the summary and first table page
 * shown (the page's `nih:first-render` mark), first contentful paint, and a filter change to its new totals.
 * Targets: first render under 1 s, page under 200 KB gzipped.
 */
import { NihCxrClient } from '../client/index.ts';
import { buildExplorerPage } from '../scripts/build-web.ts';
import { type Browser, launchBrowser } from '../test/harness/browser.ts';
import { startNpmStart } from '../test/harness/npm-start.ts';

const LOADS = Number(process.env.WEB_LOADS ?? 10);
const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
const ms = (n: number) => `${n.toFixed(0)} ms`;
const quantile = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;

/** One load's marks, in ms from navigation start. */
interface LoadTiming {
  render: number;
  fcp: number;
  script: number;
  sent: number;
  answers: number;
}

function reportPageSize(page: Awaited<ReturnType<typeof buildExplorerPage>>): void {
  console.log(
    `page: ${kib(page.sizes.html)} raw, ${kib(page.sizes.gzip)} gzipped (target < 200 KiB gzipped: ${page.sizes.gzip < 200 * 1024 ? 'met' : 'MISSED'})`,
  );
  console.log(
    `  of which script ${kib(page.sizes.js)} and styles ${kib(page.sizes.css)} (minified, inline); no other asset: no fonts, images or libraries`,
  );
}

/** Opens the page in a fresh tab, browser cache off, and reads its marks once it is ready. */
async function loadOnce(browser: Browser, url: string): Promise<LoadTiming> {
  const tab = await browser.newPage();
  await tab.setCacheEnabled(false);
  await tab.goto(`${url}/`);
  await tab.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
  const t = await tab.evaluate(() => ({
    render: performance.getEntriesByName('nih:first-render')[0]?.startTime ?? Number.NaN,
    fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? Number.NaN,
    script: performance.getEntriesByType('navigation')[0]?.toJSON().domInteractive ?? Number.NaN,
    sent: Math.min(
      ...performance
        .getEntriesByType('resource')
        .filter((e) => /cohorts:(summary|query)/.test(e.name))
        .map((e) => e.startTime),
    ),
    answers: Math.max(
      ...performance
        .getEntriesByType('resource')
        .filter((e) => /cohorts:(summary|query)/.test(e.name))
        .map((e) => (e as PerformanceResourceTiming).responseEnd),
    ),
  }));
  await tab.close();
  return t;
}

async function benchFirstRender(browser: Browser, url: string): Promise<void> {
  const loads: LoadTiming[] = [];
  for (let i = 0; i < LOADS; i++) loads.push(await loadOnce(browser, url));
  const renders = loads.map((t) => t.render);
  const paints = loads.map((t) => t.fcp);
  const parsed = loads.map((t) => t.script);
  const answered = loads.map((t) => t.answers);
  const sent = loads.map((t) => t.sent);
  // The first load after start-up also warms the server (DuckDB's first queries); reported apart.
  const [cold, ...warm] = renders;
  console.log(
    `first render (summary + first table page shown, browser cache off): first load after start ${ms(cold!)}; next ${warm.length} loads p50 ${ms(quantile(warm, 0.5))}, max ${ms(Math.max(...warm))} (target < 1 s: ${Math.max(...renders) < 1000 ? 'met' : 'MISSED'}); first contentful paint p50 ${ms(quantile(paints, 0.5))}`,
  );

  console.log(
    `  timeline p50: HTML parsed (domInteractive) ${ms(quantile(parsed, 0.5))}, API requests sent ${ms(quantile(sent, 0.5))}, both answers in ${ms(quantile(answered, 0.5))}, shown ${ms(quantile(renders, 0.5))}`,
  );
}

/** What the page waits for: the summary and the first table page, asked from Node the same way. */
async function benchApi(url: string): Promise<void> {
  const api = new NihCxrClient(url);
  const calls: number[] = [];
  for (let i = 0; i < LOADS; i++) {
    const t0 = performance.now();
    await Promise.all([api.summarizeCohort({ filter: {} }), api.queryCohort({ filter: {}, pageSize: 25 })]);
    calls.push(performance.now() - t0);
  }
  console.log(
    `  of which the API (summary + first page, in parallel, from Node): p50 ${ms(quantile(calls, 0.5))}, max ${ms(Math.max(...calls))}`,
  );
}

async function benchFilterChange(browser: Browser, url: string): Promise<void> {
  const tab = await browser.newPage();
  await tab.goto(`${url}/`);
  await tab.waitForSelector('body[data-ready="true"]');
  const changes: number[] = [];
  for (const id of ['#f-sex-F', '#f-view-PA', '#f-sex-F', '#f-view-PA']) {
    const before = await tab.$eval('#summary', (s) => (s as HTMLElement).dataset.filter);
    const t0 = Date.now();
    await tab.click(id);
    await tab.waitForFunction(
      (b) => {
        const s = document.getElementById('summary');
        return s?.getAttribute('aria-busy') === 'false' && s.dataset.filter !== b;
      },
      {},
      before,
    );
    changes.push(Date.now() - t0);
  }
  console.log(
    `filter change to new totals and charts (includes the 250 ms debounce): p50 ${ms(quantile(changes, 0.5))}, max ${ms(Math.max(...changes))}`,
  );
}

export default async function bench(): Promise<void> {
  reportPageSize(await buildExplorerPage());

  const server = await startNpmStart(process.env.NIH_DATA_DIR ? {} : { NIH_DATA_DIR: undefined }, {
    readyTimeoutMs: 300_000,
  });
  const browser = await launchBrowser();
  try {
    await benchFirstRender(browser, server.url);
    await benchApi(server.url);
    await benchFilterChange(browser, server.url);
  } finally {
    await browser.close();
    await server.stop();
  }
}
