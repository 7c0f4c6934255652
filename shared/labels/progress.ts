import type { LoadProgress } from './loader.ts';

export interface ProgressOutput {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/**
 * Renders load progress: a redrawn bar on a terminal, plain lines (at most one per `lineEveryMs`) otherwise,
 * so that CI logs and parent processes can follow the load too.
 */
export function progressReporter(
  out: ProgressOutput = process.stderr,
  opts: { lineEveryMs?: number; now?: () => number } = {},
): { update(p: LoadProgress): void; done(p: LoadProgress): void } {
  const now = opts.now ?? Date.now;
  const started = now();
  let lastLine = -Infinity;
  const text = (p: LoadProgress) => {
    const done = p.written + p.skipped + p.failed;
    const secs = Math.max((now() - started) / 1000, 0.001);
    const rate = Math.round(p.written / secs);
    const pct = p.total ? ` ${((100 * done) / p.total).toFixed(1)}%` : '';
    const fail = p.failed ? `, ${p.failed} failed` : '';
    return {
      done,
      line: `${done}/${p.total ?? '?'}${pct} written=${p.written} skipped=${p.skipped}${fail} ${rate} docs/s`,
    };
  };
  return {
    update(p) {
      const { done, line } = text(p);
      if (out.isTTY && p.total) {
        const width = Math.max(10, Math.min(40, (out.columns ?? 80) - line.length - 4));
        const filled = Math.round((width * done) / p.total);
        out.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${line}`);
      } else if (now() - lastLine >= (opts.lineEveryMs ?? 1000)) {
        lastLine = now();
        out.write(`progress ${line}\n`);
      }
    },
    done(p) {
      const { line } = text(p);
      out.write(`${out.isTTY ? '\r\x1b[K' : ''}done ${line}\n`);
    },
  };
}
