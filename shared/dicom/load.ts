/**
 * `npm run load:dicom`'s work: list the DICOM files page by page, read each header with ranged reads
 * (header-range.ts), throttled (requests per second) and bounded (reads in flight), and record the
 * identities of each page on the image records; a checkpoint after each page makes a rerun resume there.
 * Memory is one page of identities and `concurrency` headers.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import type { DicomIdentity, ImageId } from '../model/index.ts';
import type { DicomObjectSource, ObjectPage } from './gcs-source.ts';
import { readHeaderRanged } from './header-range.ts';
import { identityFromInfo, imageIdOfDicomObject } from './identity.ts';
import type { DicomRecordSummary } from './record.ts';

export interface DicomLoadOptions {
  source: DicomObjectSource;
  record(items: { imageId: ImageId; dicom: DicomIdentity }[]): Promise<DicomRecordSummary>;
  /** Objects per listing page (and per Firestore round of writes). */
  pageSize?: number;
  /** Header reads in flight. */
  concurrency?: number;
  /** Ranged requests per second at most (0 = unthrottled). */
  requestsPerSecond?: number;
  /** Where the resume point is kept; undefined = no checkpoint. */
  checkpointFile?: string | undefined;
  /** Stop after this many objects (a trial run). */
  limit?: number;
  onProgress?(p: DicomLoadProgress): void;
  now?: () => number;
}

export interface DicomLoadProgress {
  /** Objects handled so far in this run. */
  objects: number;
  recorded: number;
  unchanged: number;
  /** Objects not recorded: no image id in the name, no such image, a bad header (first few in `problems`). */
  skipped: number;
  failed: number;
  requests: number;
  bytesRead: number;
  /** Sizes of the objects whose headers were read: what downloading them would have cost. */
  objectBytes: number;
  problems: { name: string; reason: string }[];
  seconds: number;
}

interface Checkpoint {
  bucket: string;
  pageToken: string | undefined;
  objects: number;
}

const MAX_PROBLEMS = 20;

async function readCheckpoint(file: string | undefined, bucket: string): Promise<Checkpoint | undefined> {
  if (!file) return undefined;
  try {
    const c = JSON.parse(await readFile(file, 'utf8')) as Checkpoint;
    return c.bucket === bucket ? c : undefined;
  } catch {
    return undefined;
  }
}

async function writeCheckpoint(file: string | undefined, c: Checkpoint): Promise<void> {
  if (!file) return;
  await writeFile(`${file}.tmp`, JSON.stringify(c));
  await rename(`${file}.tmp`, file);
}

/** A token bucket of `rate` tokens per second (burst one second's worth). */
export function limiter(rate: number, now: () => number) {
  if (!rate) return async () => {};
  let tokens = rate;
  let last = now();
  return async function take(): Promise<void> {
    for (;;) {
      const t = now();
      tokens = Math.min(rate, tokens + ((t - last) / 1000) * rate);
      last = t;
      if (tokens >= 1) {
        tokens -= 1;
        return;
      }
      await new Promise((r) => setTimeout(r, Math.ceil(((1 - tokens) / rate) * 1000)));
    }
  };
}

type Item = { imageId: ImageId; dicom: DicomIdentity };

/** Where one run keeps its counts; `problem` counts a skipped object and keeps the first few reasons. */
class Tally {
  p: DicomLoadProgress = {
    objects: 0,
    recorded: 0,
    unchanged: 0,
    skipped: 0,
    failed: 0,
    requests: 0,
    bytesRead: 0,
    objectBytes: 0,
    problems: [],
    seconds: 0,
  };
  problem(name: string, reason: string): void {
    this.p.skipped++;
    if (this.p.problems.length < MAX_PROBLEMS) this.p.problems.push({ name, reason });
  }
}

/** Reads the headers of one listed page, `concurrency` at a time; a bad object is a problem, not a failure. */
async function readPage(
  page: ObjectPage,
  o: DicomLoadOptions,
  take: () => Promise<void>,
  t: Tally,
): Promise<Item[]> {
  const items: Item[] = [];
  let next = 0;
  const worker = async () => {
    while (next < page.objects.length) {
      const obj = page.objects[next++]!;
      const imageId = imageIdOfDicomObject(obj.name);
      if (!imageId) {
        t.problem(obj.name, 'the name does not end in <imageId>.dcm');
        continue;
      }
      try {
        const read = o.source.reader(obj.name);
        const h = await readHeaderRanged(async (s, e) => {
          await take();
          return read(s, e);
        }, obj.size);
        t.p.requests += h.requests;
        t.p.bytesRead += h.bytesRead;
        t.p.objectBytes += obj.size;
        const id = identityFromInfo(h.info);
        if ('reason' in id) t.problem(obj.name, id.reason);
        else items.push({ imageId, dicom: id });
      } catch (err) {
        if ((err as Error).name !== 'DicomHeaderError') throw err;
        t.problem(obj.name, (err as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: o.concurrency ?? 16 }, worker));
  return items;
}

export async function loadDicomHeaders(
  o: DicomLoadOptions,
): Promise<DicomLoadProgress & { complete: boolean }> {
  const now = o.now ?? Date.now;
  const started = now();
  const take = limiter(o.requestsPerSecond ?? 0, now);
  const t = new Tally();
  const p = t.p;
  const resumed = await readCheckpoint(o.checkpointFile, o.source.bucket);
  let token = resumed?.pageToken;
  let total = resumed?.objects ?? 0;
  if (resumed && token === undefined) return { ...p, complete: true };
  const limit = o.limit ?? Number.POSITIVE_INFINITY;
  for (;;) {
    const page = await o.source.list(token, Math.min(o.pageSize ?? 1000, limit - p.objects));
    const items = await readPage(page, o, take, t);
    if (items.length) {
      const s = await o.record(items);
      p.recorded += s.recorded;
      p.unchanged += s.unchanged;
      for (const r of s.rejected) t.problem(`${r.imageId}`, r.reason);
      p.failed += s.failed.length;
      if (s.failed.length) {
        const first = s.failed[0]!.reason;
        throw new Error(`recording failed for ${s.failed.length} images (first: ${first}); rerun to resume`);
      }
    }
    p.objects += page.objects.length;
    total += page.objects.length;
    token = page.nextPageToken;
    await writeCheckpoint(o.checkpointFile, { bucket: o.source.bucket, pageToken: token, objects: total });
    p.seconds = (now() - started) / 1000;
    o.onProgress?.(p);
    if (!token || p.objects >= limit) return { ...p, complete: !token };
  }
}
