/**
 * A real headless Chromium for browser tests and benchmarks: @sparticuz/chromium ships the binary inside its
 * npm package (unpacked to the temp directory on first use, no download), driven by puppeteer-core.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import chromium from '@sparticuz/chromium';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

export type { Browser, Page };

export async function launchBrowser(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: await chromium.executablePath(),
    // The package's flags are tuned for Lambda; a test keeps the browser's web security (same-origin policy,
    // mixed content) as a user's browser has it.
    args: [
      ...chromium.args.filter((a) => !/^--(disable-web-security|allow-running-insecure-content)/.test(a)),
      '--lang=en-US',
    ],
    headless: true,
    defaultViewport: { width: 1280, height: 900 },
  });
}

export const AXE_SOURCE_PATH = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
let axeSource: string | undefined;

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/** Runs axe-core in the page (WCAG 2.x A and AA rules and best practices); returns every violation. */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  // Evaluated through the DevTools protocol, which a page's Content-Security-Policy does not restrict, so the
  // page is checked exactly as served (a <script> tag would need the CSP bypassed).
  if (!(await page.evaluate(() => 'axe' in window))) {
    axeSource ??= readFileSync(AXE_SOURCE_PATH, 'utf8');
    await page.evaluate(axeSource);
  }
  return page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: {
          run: (
            ctx: Document,
            o: object,
          ) => Promise<{
            violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[];
          }>;
        };
      }
    ).axe;
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => JSON.stringify(n.target)),
    }));
  });
}
