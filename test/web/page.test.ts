/**
 * The explorer page as a build output and as a route, without a browser: the built HTML (self-contained,
 * its CSP hashes match its inline script and style, attribution inside), the route's HTTP behaviour (gzip
 * negotiation, ETag, HEAD, a problem when the build has no page), and the sealed labels bundle serving the
 * very page the build made, under the functions-framework CLI as in the cloud.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import { createPageRoutes, PAGE_FILE } from '../../functions/labels/page-route.ts';
import { buildAll } from '../../scripts/build.ts';
import { buildExplorerPage, type ExplorerPage } from '../../scripts/build-web.ts';
import { REPO_ROOT } from '../../scripts/function-folders.ts';
import { createRouter } from '../../shared/http/router.ts';
import { createLogger } from '../../shared/log.ts';
import { attribution } from '../../shared/model/attribution.ts';
import { serveFolder } from '../harness/bundles.ts';

const silent = createLogger({}, () => {});
let page: ExplorerPage;
before(async () => {
  page = await buildExplorerPage();
});

const sha = (s: string) => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;
const inline = (html: string, tag: string): string[] =>
  [...html.matchAll(new RegExp(`<${tag}[^>]*>([\\s\\S]*?)</${tag}>`, 'g'))].map((m) => m[1]!);

describe('the built explorer page', () => {
  it('is one file: no external script, stylesheet or font; its CSP allows exactly its inline script and style', () => {
    const html = page.html;
    assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+stylesheet|@import|url\(http/);
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1];
    assert.ok(csp);
    const [script] = inline(html, 'script');
    const [style] = inline(html, 'style');
    assert.ok(script && script.length > 1000 && style && style.length > 500);
    assert.ok(csp.includes(`script-src ${sha(script)};`), 'script hash');
    assert.ok(csp.includes(`style-src ${sha(style)};`), 'style hash');
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /connect-src 'self'/);
    assert.equal(inline(html, 'script').length, 1);
  });

  it('carries the attribution and every citation, HTML-escaped', () => {
    const a = attribution();
    for (const c of a.citations) assert.ok(page.html.includes(c.replace(/&/g, '&amp;')), c.slice(0, 40));
    assert.ok(page.html.includes(a.source));
  });

  it('is small: under 200 KB gzipped (bench/web.bench.ts reports the figures)', () => {
    assert.ok(page.sizes.gzip < 200 * 1024, `${page.sizes.gzip} bytes gzipped`);
  });
});

describe('GET / (createPageRoutes)', () => {
  const HTML = '<!doctype html><title>x</title><p>explorer page</p>'.repeat(20);
  before(() => {
    http(
      'web-page-test',
      createRouter(
        createPageRoutes(() => HTML),
        { logger: silent },
      ),
    );
    http(
      'web-page-missing',
      createRouter(
        createPageRoutes(() => undefined),
        { logger: silent },
      ),
    );
  });
  const server = () => request(getTestServer('web-page-test'));

  it('sends gzip to a client that accepts it, plain text to one that refuses it (q=0) or says nothing', async () => {
    const gz = await server()
      .get('/')
      .set('accept-encoding', 'br, gzip;q=0.5')
      .buffer(true)
      .parse((res, done) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => done(null, Buffer.concat(parts)));
      });
    assert.equal(gz.status, 200);
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.equal(gz.headers.vary, 'Accept-Encoding');
    for (const enc of ['gzip;q=0', 'identity', '']) {
      const res = await server().get('/').set('accept-encoding', enc);
      assert.equal(res.headers['content-encoding'], undefined, enc);
      assert.equal(res.text, HTML, enc);
    }
    assert.match(gz.headers['content-type'] ?? '', /^text\/html; charset=utf-8/);
    assert.equal(gz.headers['x-frame-options'], 'DENY');
    assert.equal(gz.headers['content-security-policy'], "frame-ancestors 'none'");
    // superagent inflated the gzip body (it would fail on a body that is not gzip).
    assert.equal((gz.body as Buffer).toString('utf8'), HTML);
  });

  it('answers a matching If-None-Match with 304 and no body, HEAD with headers only', async () => {
    const first = await server().get('/').set('accept-encoding', 'identity');
    const etag = first.headers.etag;
    assert.match(etag ?? '', /^"[\w-]+"$/);
    const again = await server().get('/').set('if-none-match', `"other", ${etag}`);
    assert.equal(again.status, 304);
    assert.equal(again.text ?? '', '');
    const head = await server().head('/').set('accept-encoding', 'identity');
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], String(Buffer.byteLength(HTML)));
    assert.equal(head.text ?? '', '');
  });

  it('is a 404 problem, saying how to get the page, when the build has none (running from source)', async () => {
    const res = await request(getTestServer('web-page-missing')).get('/');
    assert.equal(res.status, 404);
    assert.match(res.headers['content-type'] ?? '', /^application\/problem\+json/);
    assert.match(res.body.detail, /npm run build/);
  });

  it('refuses POST / with 405 problem+json', async () => {
    const res = await server().post('/').send({});
    assert.equal(res.status, 405);
    assert.match(res.headers['content-type'] ?? '', /^application\/problem\+json/);
  });
});

describe('the labels bundle', () => {
  let tmp: string;
  before(() => {
    mkdirSync(join(REPO_ROOT, '.tmp'), { recursive: true });
    tmp = mkdtempSync(join(tmpdir(), 'nih-cxr-web-bundle-'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('carries explorer.html and serves it at / under the functions-framework CLI', async () => {
    const [labels] = await buildAll({ outDir: join(tmp, 'dist'), names: ['labels'] });
    assert.ok(labels);
    const file = join(labels.dir, PAGE_FILE);
    assert.ok(existsSync(file), 'explorer.html beside index.mjs');
    assert.equal(readFileSync(file, 'utf8'), page.html, 'the page the build makes');
    // Sealed as deployed: the bundle folder and only its declared dependencies.
    const sealed = join(tmp, 'sealed');
    cpSync(labels.dir, sealed, { recursive: true });
    for (const pkg of Object.keys(labels.dependencies)) {
      const link = join(sealed, 'node_modules', pkg);
      mkdirSync(dirname(link), { recursive: true });
      symlinkSync(join(REPO_ROOT, 'node_modules', pkg), link, 'dir');
    }
    const served = await serveFolder(sealed, 'labels', {
      GOOGLE_CLOUD_PROJECT: 'demo-web-bundle',
      // Nothing listens there: the cold-start warm-up read fails and is only logged.
      FIRESTORE_EMULATOR_HOST: '127.0.0.1:9',
    });
    try {
      const res = await fetch(`${served.url}/`);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), page.html);
      const api = await fetch(`${served.url}/v1/attribution`);
      assert.equal(api.status, 200, 'the API routes are still there');
    } finally {
      await served.stop();
    }
  });
});
