/**
 * Parse + merge of every NIH file (NIH_DATA_DIR, else a full-size synthetic set): time and peak memory, each
 * measurement in a fresh child process so that peaks do not add up. Then memory against file size: the
 * v2020 metadata streamed once and four times over (a 4x concatenated gzip), rows discarded as they come.
 * Targets (issue 2): the whole set in < 2 s and < 300 MB, memory flat in file size.
 */
import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { getHeapStatistics } from 'node:v8';
import { loadDatasetDir } from '../shared/dataset/index.ts';
import { parseBatches } from '../shared/parsers/index.ts';
import { writeSyntheticDataset } from '../shared/sample/synthetic.ts';

interface Figures {
  ms: number;
  baselineRssMb: number;
  peakRssMb: number;
  peakHeapMb: number;
  detail: string;
}

const mb = (bytes: number) => Math.round(bytes / 2 ** 20);

/** Samples the heap every millisecond the event loop allows (it turns between chunks). */
function heapSampler(): () => number {
  let peak = getHeapStatistics().used_heap_size;
  const t = setInterval(() => {
    peak = Math.max(peak, getHeapStatistics().used_heap_size);
  }, 1);
  return () => {
    clearInterval(t);
    return Math.max(peak, getHeapStatistics().used_heap_size);
  };
}

async function* repeated(path: string, times: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < times; i++) {
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 18 })) yield chunk as Buffer;
  }
}

async function child(mode: string, dir: string): Promise<Figures> {
  const baseline = process.memoryUsage.rss();
  const stop = heapSampler();
  const t0 = performance.now();
  let detail: string;
  if (mode === 'all') {
    const r = await loadDatasetDir(dir);
    const rejected = r.files.reduce((n, f) => n + f.rejected.length, 0);
    detail = `${r.files.length} files, ${r.records.length} records, ${rejected} rejected rows, ${r.differences.length} differences, ${r.problems.length} problems`;
  } else {
    const times = Number(mode.slice(1));
    let rows = 0;
    let rejected = 0;
    for await (const batch of parseBatches(repeated(join(dir, 'Data_Entry_2017_v2020.csv.gz'), times))) {
      for (const e of batch) if ('issue' in e) rejected++;
      rows += batch.length;
    }
    // The headers of the 2nd to 4th copies are rows of the concatenation, and rejected as such.
    detail = `${rows - rejected} rows, ${rejected} rejected`;
  }
  const ms = performance.now() - t0;
  const peakHeap = stop();
  return {
    ms: Math.round(ms),
    baselineRssMb: mb(baseline),
    peakRssMb: mb(process.resourceUsage().maxRSS * 1024),
    peakHeapMb: mb(peakHeap),
    detail,
  };
}

async function measure(mode: string, dir: string, flags: string[] = []): Promise<Figures> {
  const args = [...flags, fileURLToPath(import.meta.url), '--child', mode, dir];
  const { stdout } = await promisify(execFile)(process.execPath, args, { maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Figures;
}

function line(name: string, f: Figures): string {
  // The process start (Node plus TypeScript type stripping, ~95 MB) is not parse memory; shown apart.
  const rss = `peak RSS ${String(f.peakRssMb).padStart(4)} MB (start ${f.baselineRssMb}, +${f.peakRssMb - f.baselineRssMb})`;
  return `${name.padEnd(34)} ${String(f.ms).padStart(6)} ms   ${rss}   peak heap ${String(f.peakHeapMb).padStart(4)} MB   ${f.detail}`;
}

export default async function bench(): Promise<void> {
  const real = process.env.NIH_DATA_DIR;
  const tmp = real ? undefined : await mkdtemp(join(tmpdir(), 'nih-bench-'));
  try {
    if (tmp) await writeSyntheticDataset(tmp, { images: 112_120, seed: 1 });
    const dir = real ?? tmp!;
    console.log(`data: ${real ? `real files in ${real}` : 'synthetic, 112,120 images'}`);
    for (let i = 1; i <= 3; i++) {
      console.log(line(`parse + merge all files (run ${i})`, await measure('all', dir)));
    }
    // V8 sizes its young generation from the machine's memory; a 1 GiB function instance gets a small one.
    console.log(
      line('same, --max-semi-space-size=16', await measure('all', dir, ['--max-semi-space-size=16'])),
    );
    const once = await measure('x1', dir);
    const four = await measure('x4', dir);
    console.log(line('v2020 metadata streamed once', once));
    console.log(line('v2020 metadata streamed 4x', four));
    console.log(
      `memory vs file size: 4x the input -> peak heap x${(four.peakHeapMb / once.peakHeapMb).toFixed(2)}, peak RSS x${(four.peakRssMb / once.peakRssMb).toFixed(2)}, time x${(four.ms / once.ms).toFixed(2)}`,
    );
  } finally {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') {
  console.log(JSON.stringify(await child(process.argv[3]!, process.argv[4]!)));
}
