/**
 * The cohort explorer (issue 16) in a real headless Chromium against `npm start` (the real NIH files when
 * NIH_DATA_DIR is set, else the synthetic sample): one server, one browser, every check. The oracle is the
 * API itself, asked through the typed client: the page must show what the API answers.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { crc32, deflateSync, gunzipSync } from 'node:zlib';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import { type CohortQueryRequest, NihCxrClient } from '../../client/index.ts';
import { createSignerApp, loadSignerAppConfig } from '../../functions/signer/app.ts';
import { REPO_ROOT } from '../../scripts/function-folders.ts';
import { createLogger } from '../../shared/log.ts';
import { axeViolations, type Browser, launchBrowser, type Page } from '../harness/browser.ts';
import { type NpmStart, startNpmStart } from '../harness/npm-start.ts';
import { verifyHmacUrl } from '../signing/v4-verify.ts';

type Filter = NonNullable<CohortQueryRequest['filter']>;

const SECRET = 'web-test-hmac-secret-0123456789abcdef';

/** A 2x2 grey PNG (signature, IHDR, IDAT, IEND), built here so that the stand-in serves a real image. */
const PNG = (() => {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.from([0, 0, 0, 2, 0, 0, 0, 2, 8, 0, 0, 0, 0]);
  const rows = Buffer.from([0, 128, 128, 0, 128, 128]);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
})();

/** Where the screenshots go; the committed ones in docs/ are copies of a run's. */
const SHOTS = process.env.SCREENSHOT_DIR ?? join(REPO_ROOT, '.tmp', 'web');

let server: NpmStart;
let browser: Browser;
let launching: Promise<Browser> | undefined;
let api: NihCxrClient;
let downloads: string;

/** npm start on a free port (the harness lets the server bind one itself: no free-port race). */
function startServer(): Promise<NpmStart> {
  const dataDir = process.env.NIH_DATA_DIR;
  return startNpmStart(dataDir ? {} : { NIH_DATA_DIR: undefined }, {
    readyTimeoutMs: dataDir ? 300_000 : 90_000,
  });
}

before(async () => {
  // The browser starts while npm start loads; after() closes it even when npm start fails.
  launching = launchBrowser();
  server = await startServer();
  browser = await launching;
  api = new NihCxrClient(server.url);
  downloads = mkdtempSync(join(tmpdir(), 'nih-cxr-web-'));
  mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
  await (await launching?.catch(() => undefined))?.close();
  await server?.stop();
  if (downloads) rmSync(downloads, { recursive: true, force: true });
});

/** Opens the page (at `query`) and waits for its first summary and table page. */
async function open(query = '', viewport = { width: 1280, height: 900 }): Promise<Page> {
  const page = await browser.newPage();
  await page.setViewport(viewport);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${server.url}/${query}`, { waitUntil: 'load' });
  await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
  assert.deepEqual(errors, [], 'no script error in the page');
  return page;
}

/** Waits until the summary shows `filter` (its answer arrived) and returns the totals on the page. */
async function shownTotals(
  page: Page,
  filter: Filter,
  options: Record<string, unknown> = {},
): Promise<{ images: number; patients: number }> {
  await page.waitForFunction(
    (f, o) => {
      const s = document.getElementById('summary');
      return s?.getAttribute('aria-busy') === 'false' && s.dataset.filter === f && s.dataset.options === o;
    },
    { timeout: 30_000 },
    JSON.stringify(filter),
    JSON.stringify(options),
  );
  return page.evaluate(() => ({
    images: Number(document.getElementById('total-images')?.dataset.value),
    patients: Number(document.getElementById('total-patients')?.dataset.value),
  }));
}

async function tableIds(page: Page): Promise<string[]> {
  await page.waitForFunction(
    () => document.getElementById('table-region')?.getAttribute('aria-busy') === 'false',
  );
  return page.$$eval('#table-body tr', (rows) => rows.map((r) => (r as HTMLElement).dataset.image ?? ''));
}

const urlFilter = (page: Page): unknown => {
  const text = new URL(page.url()).searchParams.get('filter');
  return text === null ? {} : JSON.parse(text);
};

describe('the cohort explorer page', () => {
  it('is served at / as one gzipped HTML file with its own CSP, under 200 KB gzipped', async () => {
    const res = await fetch(`${server.url}/`, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    const html = await res.text();
    assert.match(
      html,
      /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'sha256-/,
    );
    const raw = await fetch(`${server.url}/`, { headers: { 'accept-encoding': 'identity' } });
    assert.equal(raw.headers.get('content-encoding'), null);
    // fetch() inflates on its own; node:http shows the bytes on the wire.
    const gz = await new Promise<{ encoding: string | undefined; bytes: Buffer }>((resolve, reject) => {
      get(`${server.url}/`, { headers: { 'accept-encoding': 'gzip' } }, (r) => {
        const parts: Buffer[] = [];
        r.on('data', (d: Buffer) => parts.push(d));
        r.on('end', () => resolve({ encoding: r.headers['content-encoding'], bytes: Buffer.concat(parts) }));
      }).on('error', reject);
    });
    const bytes = gz.bytes;
    assert.equal(gz.encoding, 'gzip');
    assert.equal(gunzipSync(bytes).toString('utf8'), html);
    assert.ok(bytes.length < 200 * 1024, `${bytes.length} bytes gzipped`);
    const etag = res.headers.get('etag')!;
    const again = await fetch(`${server.url}/`, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    console.log(`page: ${html.length} bytes, ${bytes.length} gzipped`);
  });

  it('shows the whole dataset first: totals equal the API summary, attribution and citations visible', async () => {
    const page = await open();
    const expected = await api.summarizeCohort({ filter: {} });
    assert.deepEqual(await shownTotals(page, {}), {
      images: expected.totalImages,
      patients: expected.totalPatients,
    });
    const attribution = await api.attribution();
    const footer = await page.$eval('footer', (f) => (f as HTMLElement).textContent);
    for (const c of attribution.citations)
      assert.ok(footer.includes(c.slice(0, 60)), `citation: ${c.slice(0, 40)}`);
    assert.ok(await page.$eval('footer', (f) => (f as HTMLElement).offsetHeight > 0));
    const timing = await page.evaluate(() => ({
      firstRender: performance.getEntriesByName('nih:first-render')[0]?.startTime ?? -1,
      fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1,
    }));
    console.log(
      `first render (summary and table shown) ${timing.firstRender.toFixed(0)} ms; FCP ${timing.fcp.toFixed(0)} ms`,
    );
    const charts = await page.$$eval('#chart-findings .bar', (bars) =>
      Object.fromEntries(
        bars.map((b) => [(b as SVGElement).dataset.label, Number((b as SVGElement).dataset.value)]),
      ),
    );
    for (const [finding, n] of Object.entries(expected.findings))
      assert.equal(charts[finding.replace(/_/g, ' ')], n, finding);
    await page.screenshot({ path: join(SHOTS, 'explorer-desktop.png') });
    await page.close();
  });

  let clicked: Page;
  const built: Filter = { findings: { any: ['Effusion'] }, sex: ['F'] };

  it('builds a filter by clicking: the URL holds it and the totals are the API answer for it', async () => {
    const page = await open();
    clicked = page;
    await page.click('#f-sex-F');
    await page.click('#f-findings > summary');
    await page.click('#f-findings-any-Effusion');
    const shown = await shownTotals(page, built);
    const expected = await api.summarizeCohort({ filter: built });
    assert.deepEqual(shown, { images: expected.totalImages, patients: expected.totalPatients });
    assert.deepEqual(urlFilter(page), built);
    const all = await api.summarizeCohort({ filter: {} });
    assert.ok(expected.totalImages < all.totalImages, 'the filter narrows the cohort');
  });

  it('pages the table with the API keyset tokens, forward and back', async () => {
    const page = clicked;
    const size = 10;
    await page.select('#page-size', String(size));
    await page.waitForFunction(
      (n) => document.querySelectorAll('#table-body tr').length === n,
      { timeout: 15_000 },
      size,
    );
    const first = await api.queryCohort({ filter: built, pageSize: size });
    assert.deepEqual(
      await tableIds(page),
      first.images.map((i) => i.imageId),
    );
    assert.ok(first.nextPageToken, 'the cohort has a second page');
    const second = await api.queryCohort({ filter: built, pageSize: size, pageToken: first.nextPageToken });
    await page.click('#page-next');
    await page.waitForFunction(() => document.getElementById('table-status')?.dataset.page === '2');
    assert.deepEqual(
      await tableIds(page),
      second.images.map((i) => i.imageId),
    );
    await page.click('#page-prev');
    await page.waitForFunction(() => document.getElementById('table-status')?.dataset.page === '1');
    assert.deepEqual(
      await tableIds(page),
      first.images.map((i) => i.imageId),
    );
  });

  it('starts exports: the saved CSV and NDJSON have the attribution first and one record per image', async () => {
    const page = clicked;
    const cdp = await page.createCDPSession();
    await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads });
    await page.click('#export-csv');
    await page.waitForFunction(() => document.getElementById('export-status')?.dataset.done === 'csv', {
      timeout: 60_000,
    });
    const file = join(downloads, 'nih-cxr-cohort.csv');
    for (let i = 0; i < 100 && !existsSync(file); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(readdirSync(downloads).includes('nih-cxr-cohort.csv'));
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    const comments = lines.filter((l) => l.startsWith('# '));
    assert.ok(comments.length >= 2 && lines[0]!.startsWith('# '), 'attribution lines first');
    const { totalImages } = await api.summarizeCohort({ filter: built });
    assert.equal(lines.length - comments.length - 1, totalImages, 'header + one line per image');
    // NDJSON: the attribution object first, then one object per image.
    await page.click('#export-ndjson');
    await page.waitForFunction(() => document.getElementById('export-status')?.dataset.done === 'ndjson', {
      timeout: 60_000,
    });
    const ndjson = join(downloads, 'nih-cxr-cohort.ndjson');
    for (let i = 0; i < 100 && !existsSync(ndjson); i++) await new Promise((r) => setTimeout(r, 100));
    const records = readFileSync(ndjson, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(records[0]?.attribution, 'attribution first');
    assert.equal(records.length - 1, totalImages);
    await page.close();
  });

  it('loads a shared link: the controls show its filter and options, the totals are the API answer', async () => {
    const shared: Filter = { findings: { any: ['Effusion', 'Mass'] }, age: { min: 60 }, view: ['PA'] };
    const options = { onePerPatient: 'firstFollowUp' } as const;
    const page = await open(
      `?filter=${encodeURIComponent(JSON.stringify(shared))}&dataset=${encodeURIComponent(JSON.stringify(options))}`,
    );
    const expected = await api.summarizeCohort({ filter: shared, ...options });
    const all = await api.summarizeCohort({ filter: shared });
    assert.ok(expected.totalImages < all.totalImages, 'one image per patient keeps fewer images');
    assert.equal(
      await page.$eval('#f-dataset-onePerPatient', (i) => (i as HTMLSelectElement).value),
      'firstFollowUp',
    );
    assert.deepEqual(await shownTotals(page, shared, options), {
      images: expected.totalImages,
      patients: expected.totalPatients,
    });
    assert.equal(await page.$eval('#f-age-min', (i) => (i as HTMLInputElement).value), '60');
    assert.ok(await page.$eval('#f-view-PA', (i) => (i as HTMLInputElement).checked));
    assert.ok(!(await page.$eval('#f-view-AP', (i) => (i as HTMLInputElement).checked)));
    assert.ok(await page.$eval('#f-findings-any-Mass', (i) => (i as HTMLInputElement).checked));
    const first = await api.queryCohort({ filter: shared, ...options, pageSize: 25 });
    assert.deepEqual(
      await tableIds(page),
      first.images.map((i) => i.imageId),
    );
    await page.close();
  });

  it("opens an image's detail with its labels and every read, reader by reader, and closes with Escape", async () => {
    const labelled: Filter = { expert: { fourFindings: { set: ['test', 'validation'] } } };
    const page = await open(`?filter=${encodeURIComponent(JSON.stringify(labelled))}`);
    const [id] = await tableIds(page);
    assert.ok(id, 'an image with four-findings reads');
    const record = await api.getImage(id);
    const opener = `#table-body button[data-image="${id}"]`;
    await page.focus(opener);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#reads-four-findings', { timeout: 15_000 });
    assert.equal(new URL(page.url()).searchParams.get('image'), id, 'the open image is in the link');
    const four = record.expert.readers.filter((r) => r.study === 'fourFindings');
    assert.ok(four.length > 0);
    assert.equal(
      await page.$eval('#reads-four-findings', (t) => (t as HTMLElement).dataset.readers),
      String(four.length),
    );
    const head = await page.$eval('#reads-four-findings thead', (t) => (t as HTMLElement).textContent);
    for (const r of four) assert.ok(head.includes(`Reader ${r.readerId}`), `reader ${r.readerId}`);
    // Every cell of every reader is that reader's read of that label.
    const cells = await page.$$eval('#reads-four-findings tbody tr', (rows) =>
      rows.map((r) => [...r.children].map((c) => (c as HTMLElement).textContent.trim())),
    );
    const keys = ['fracture', 'pneumothorax', 'airspaceOpacity', 'noduleOrMass'] as const;
    for (const [row, k] of keys.entries()) {
      assert.equal(cells[row]![1], record.expert.fourFindings?.[k] ? 'YES' : 'NO', `adjudicated ${k}`);
      for (const [col, r] of four.entries()) {
        assert.equal(cells[row]![2 + col], r.labels[k] ?? '-', `${k} by ${r.readerId}`);
      }
    }
    const meta = await page.$eval('#detail', (d) => (d as HTMLElement).textContent);
    assert.ok(meta.includes(String(record.patientId)));
    for (const f of record.findings) assert.ok(meta.includes(f.replace(/_/g, ' ')), f);
    // The picture: a signed URL when signing is configured, else the API's reason.
    const content = await fetch(`${server.url}/v1/images/${id}/content?format=png`, { redirect: 'manual' });
    await page.waitForFunction(
      () => !document.getElementById('picture-note')?.textContent?.startsWith('Checking'),
    );
    if (content.status === 503) {
      assert.equal(
        await page.$eval('#picture-note', (n) => (n as HTMLElement).dataset.signing),
        'unconfigured',
      );
      const problem = (await content.json()) as { detail: string };
      assert.ok((await page.$eval('#picture-note', (n) => n.textContent ?? '')).includes(problem.detail));
    } else {
      assert.equal(content.status, 302);
      assert.ok(await page.$('#detail-picture img'));
    }
    await page.screenshot({ path: join(SHOTS, 'explorer-detail.png') });
    assert.deepEqual(serious(await axeViolations(page)), [], 'axe with the detail open');
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => !(document.getElementById('detail') as HTMLDialogElement).open);
    assert.equal(
      await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.image),
      id,
    );
    // The dialog's close event comes as a task after it closed: the link follows then.
    await page.waitForFunction(() => !new URL(location.href).searchParams.has('image'), { timeout: 5_000 });
    await page.close();
  });

  it('with signing configured, shows the PNG from the very URL the signer signed', async () => {
    // The signer function as deployed with an HMAC key (its app.ts, real signing) answers the page's
    // /content request; Cloud Storage is a stand-in that serves a PNG only for a URL whose signature verifies.
    const signer = createSignerApp({
      config: loadSignerAppConfig({
        HMAC_ACCESS_ID: 'GOOG1WEBTEST',
        HMAC_SECRET: SECRET,
        BILLING_PROJECT: 'web-bill',
      }),
      logger: createLogger({}, () => {}),
    });
    http('web-signer', signer.handler);
    const signerServer = getTestServer('web-signer');
    const page = await browser.newPage();
    const served: string[] = [];
    await page.setRequestInterception(true);
    page.on('request', (req) => {
      const url = new URL(req.url());
      if (url.origin === server.url && /^\/v1\/images\/[^/]+\/content$/.test(url.pathname)) {
        void request(signerServer)
          .get(`${url.pathname}${url.search}`)
          .redirects(0)
          .then((res) =>
            req.respond({ status: res.status, headers: { location: res.headers.location ?? '' }, body: '' }),
          );
      } else if (url.hostname === 'storage.googleapis.com') {
        const valid =
          verifyHmacUrl(req.url(), SECRET).valid && url.searchParams.get('userProject') === 'web-bill';
        if (valid) served.push(url.pathname);
        void req.respond(
          valid
            ? { status: 200, contentType: 'image/png', body: PNG }
            : { status: 403, body: 'bad signature' },
        );
      } else void req.continue();
    });
    const [id] = (await api.queryCohort({ filter: {}, pageSize: 1 })).images.map((i) => i.imageId);
    await page.goto(`${server.url}/?image=${id}`);
    await page.waitForSelector('#detail-picture img', { timeout: 15_000 });
    await page.waitForFunction(
      () => (document.querySelector('#detail-picture img') as HTMLImageElement).naturalWidth > 0,
    );
    assert.deepEqual(served, [`/gcs-public-data--healthcare-nih-chest-xray/png/${id}.png`]);
    assert.match(await page.$eval('#picture-note', (n) => n.textContent), /signed URL/);
    await page.close();
  });

  it('computes label quality: the matrix and each reader as the agreement route answers', async () => {
    const page = await open();
    const settings = { finding: 'pneumothorax', reference: 'fourFindings' } as const;
    await page.click('#agreement-run');
    await page.waitForSelector('#agreement-result[data-done] #agreement-matrix', { timeout: 30_000 });
    const nih = await api.cohortAgreement({ filter: {}, ...settings, compare: 'nih' });
    assert.equal(
      await page.$eval('#agreement-images', (p) => Number((p as HTMLElement).dataset.value)),
      nih.images,
    );
    const cells = await page.$$eval('#agreement-matrix td[data-cell]', (tds) =>
      Object.fromEntries(
        tds.map((t) => [(t as HTMLElement).dataset.cell, Number(t.textContent.replace(/,/g, ''))]),
      ),
    );
    assert.ok('matrix' in nih);
    assert.deepEqual(cells, { ...nih.matrix });
    await page.select('#f-agreement-compare', 'readers');
    await page.click('#agreement-run');
    await page.waitForSelector('#agreement-readers', { timeout: 30_000 });
    const readers = await api.cohortAgreement({ filter: {}, ...settings, compare: 'readers' });
    assert.ok('readers' in readers);
    const shown = await page.$$eval('#agreement-readers tbody tr', (rows) =>
      rows.map((r) => (r as HTMLElement).dataset.reader),
    );
    assert.deepEqual(
      shown,
      readers.readers.map((r) => r.readerId),
    );
    await page.close();
  });

  it("shows the API's problem+json when the filter is refused, naming the bad field", async () => {
    const bad = { expert: { reader: { id: 'x1', finding: 'fracture', value: 'YES' } } };
    const page = await open(`?filter=${encodeURIComponent(JSON.stringify(bad))}`).catch(() => undefined);
    // A refused filter still renders the page (data-ready is set once both requests ended).
    assert.ok(page);
    const problem = await page.waitForSelector('#summary-error .problem[data-status="400"]');
    const text = await problem!.evaluate((p) => (p as HTMLElement).textContent);
    assert.match(text, /Bad Request/);
    assert.match(text, /filter\.expert\.reader\.id/);
    assert.equal(await page.$eval('#f-expert-reader-id', (i) => (i as HTMLInputElement).value), 'x1');
    await page.close();
  });

  it('works from the keyboard: Space on a focused checkbox changes the filter', async () => {
    const page = await open();
    await page.focus('#f-view-AP');
    await page.keyboard.press('Space');
    const expected = await api.summarizeCohort({ filter: { view: ['AP'] } });
    assert.equal((await shownTotals(page, { view: ['AP'] })).images, expected.totalImages);
    await page.close();
  });

  it('has no serious or critical axe-core violation at desktop and phone widths', async () => {
    const report: Record<string, string[]> = {};
    for (const [name, viewport] of [
      ['desktop', { width: 1280, height: 900 }],
      ['phone', { width: 390, height: 844, isMobile: true, hasTouch: true, deviceScaleFactor: 2 }],
    ] as const) {
      const page = await browser.newPage();
      await page.setViewport(viewport);
      await page.goto(`${server.url}/?filter=${encodeURIComponent(JSON.stringify(built))}`);
      await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
      const violations = await axeViolations(page);
      report[name] = violations.map((v) => `${v.impact}: ${v.id} (${v.nodes.length})`);
      assert.deepEqual(serious(violations), [], name);
      if (name === 'desktop') {
        // The checker itself: an unlabelled control added to the page is reported.
        await page.evaluate(() => document.querySelector('main')?.append(document.createElement('select')));
        assert.ok(
          (await axeViolations(page)).some((v) => v.id === 'select-name'),
          'axe-core reports a defect',
        );
      }
      if (name === 'phone') {
        // Nothing wider than the screen but the table, which scrolls in its own region.
        const wide = await page.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(wide <= 390, `page is ${wide} px wide on a 390 px screen`);
        await page.$eval('#summary', (e) => e.scrollIntoView());
        await page.screenshot({ path: join(SHOTS, 'explorer-phone.png') });
      }
      await page.close();
    }
    console.log(`axe violations (all impacts): ${JSON.stringify(report)}`);
  });
});

const serious = (v: { id: string; impact: string | null; nodes: string[] }[]) =>
  v
    .filter((x) => x.impact === 'serious' || x.impact === 'critical')
    .map((x) => `${x.id}: ${x.nodes.join(' ')}`);
