/**
 * The cohort explorer page (web/): one self-contained HTML file, its script and stylesheet inline, built
 * with esbuild from web/src. `npm start` builds it at start-up and serves it at `/`; `npm run build` puts it
 * beside the labels bundle (explorer.html), which serves it at `/` in the cloud. Nothing built is committed.
 * The page's Content-Security-Policy allows exactly its own inline script and style (by hash), API calls to
 * its own origin and images from Cloud Storage (signed URLs).
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, transform } from 'esbuild';
import { PAGE_FILE } from '../functions/labels/page-route.ts';
import { attribution } from '../shared/model/attribution.ts';
import { SIGNING_HOST } from '../shared/signing/v4.ts';
import { REPO_ROOT } from './function-folders.ts';

export const WEB_DIR = join(REPO_ROOT, 'web');
/** The function whose bundle carries the page (it serves `/` in the cloud). */
export const PAGE_FUNCTION = 'labels';

export interface ExplorerPage {
  html: string;
  /** Bytes of the minified script and stylesheet, and of the whole page raw and gzipped. */
  sizes: { js: number; css: number; html: number; gzip: number };
}

const escapeHtml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const sha256 = (s: string): string => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;

export async function buildExplorerPage(opts: { minify?: boolean } = {}): Promise<ExplorerPage> {
  const minify = opts.minify ?? true;
  const result = await build({
    entryPoints: [join(WEB_DIR, 'src', 'main.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: ['chrome111', 'firefox115', 'safari16'],
    minify,
    legalComments: 'none',
    logLevel: 'error',
  });
  // Inside <script>, "</script" would end the element; "<\/script" is the same text to JavaScript.
  const js = result.outputFiles[0]!.text.replace(/<\/(script)/gi, '<\\/$1');
  const css = (
    await transform(readFileSync(join(WEB_DIR, 'src', 'style.css'), 'utf8'), { loader: 'css', minify })
  ).code.replace(/<\/(style)/gi, '<\\/$1');
  const a = attribution();
  const csp = [
    "default-src 'none'",
    `script-src ${sha256(js)}`,
    `style-src ${sha256(css)}`,
    `img-src 'self' https://${SIGNING_HOST} data: blob:`,
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
  ].join('; ');
  const fill: Record<string, string> = {
    __CSP__: csp,
    __NOTICE__: escapeHtml(a.notice),
    __SOURCE__: escapeHtml(a.source),
    __CITATIONS__: a.citations.map((c) => `<li>${escapeHtml(c)}</li>`).join(''),
    __CSS__: css,
    __JS__: js,
  };
  // One pass, with a function: the script may contain "$&" or a placeholder's name and must stay as it is.
  const html = readFileSync(join(WEB_DIR, 'src', 'page.html'), 'utf8').replace(
    /\/\*(__CSS__|__JS__)\*\/|__(CSP|NOTICE|SOURCE|CITATIONS)__/g,
    (m, inline?: string) => fill[inline ?? m]!,
  );
  return {
    html,
    sizes: {
      js: Buffer.byteLength(js),
      css: Buffer.byteLength(css),
      html: Buffer.byteLength(html),
      gzip: gzipSync(html, { level: 9 }).length,
    },
  };
}

/** Writes the files a function's bundle carries besides its code: the page, for the function that serves it. */
export async function writeBundleExtras(name: string, dir: string): Promise<void> {
  if (name === PAGE_FUNCTION) writeFileSync(join(dir, PAGE_FILE), (await buildExplorerPage()).html);
}

if (import.meta.main) {
  const page = await buildExplorerPage();
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  console.log(
    `explorer page: ${kb(page.sizes.html)} (${kb(page.sizes.gzip)} gzipped); script ${kb(page.sizes.js)}, styles ${kb(page.sizes.css)}`,
  );
}
