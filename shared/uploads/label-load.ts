/**
 * Loads one uploaded label file: streams it through the parsers, merges each image's rows into its
 * Firestore document (patchRecords: only the fields this file carries; other images untouched), then
 * upserts the cohort rows of the images it changed, read back from Firestore so both stores agree.
 * A file-level error (unknown header, truncated gzip) throws before anything is written: nothing of a
 * broken file is loaded. Row-level problems are reported by line and the good rows are loaded.
 */
import type { Firestore } from '@google-cloud/firestore';
import { toCohortRows } from '../cohorts/rows.ts';
import type { CohortStore } from '../cohorts/store.ts';
import type { LabelRepo } from '../labels/index.ts';
import { patchRecords } from '../labels/index.ts';
import type { ImageId, Split } from '../model/index.ts';
import { parseBatches } from '../parsers/index.ts';
import { type FileKind, isRowIssue, type RowIssue } from '../parsers/types.ts';
import { PatchCollector } from './label-rows.ts';
import type { SplitTable } from './splits.ts';

export interface LabelLoadDeps {
  firestore: () => Firestore;
  labels: LabelRepo;
  cohorts: CohortStore;
  splits: SplitTable;
  /** Firestore ramp-up throttling (production) or none (emulator). */
  throttle: boolean;
  collection?: string;
}

export interface LabelLoadResult {
  kind: FileKind;
  /** Physical lines, header included. */
  lines: number;
  /**
   * parsed: data rows the parser accepted; loaded: rows now in Firestore and the cohort store; rejected:
   * rows refused by the parser, conflicting duplicates and rows of images that cannot be patched (each
   * listed in `rejected` by line); staged: image-list rows of images not in the dataset yet.
   */
  rows: { parsed: number; loaded: number; rejected: number; staged: number };
  images: { created: number; updated: number; unchanged: number; staged: number };
  rejected: RowIssue[];
  warnings: RowIssue[];
  cohortRows: number;
}

/** Thrown when Firestore writes still fail after retries: the event is retried as a whole. */
export class LabelWriteError extends Error {
  override readonly name = 'LabelWriteError';
}

const COHORT_CHUNK = 2000;

export async function loadLabelFile(
  content: AsyncIterable<Buffer>,
  opts: { split?: Split | undefined },
  deps: LabelLoadDeps,
): Promise<LabelLoadResult> {
  const collector = new PatchCollector();
  const rejected: RowIssue[] = [];
  const warnings: RowIssue[] = [];
  const rowsOf = new Map<ImageId, number>();
  const gen = parseBatches(content, opts.split ? { split: opts.split } : {});
  let summary: { kind: FileKind; lines: number };
  for (;;) {
    const r = await gen.next();
    if (r.done) {
      summary = r.value;
      break;
    }
    for (const e of r.value) {
      if (isRowIssue(e)) (e.severity === 'rejected' ? rejected : warnings).push(e.issue);
      else {
        const before = collector.conflicts.length;
        collector.add(e);
        if (collector.conflicts.length === before) {
          const id = 'metadata' in e ? e.metadata.imageId : e.imageId;
          rowsOf.set(id, (rowsOf.get(id) ?? 0) + 1);
        }
      }
    }
  }
  rejected.push(...collector.conflicts);
  const rowsRefusedByParser = rejected.length;

  const patches = collector.patches();
  const patchOpts = { throttle: deps.throttle, ...(deps.collection ? { collection: deps.collection } : {}) };
  if (summary.kind === 'image_list') {
    await deps.splits.put(new Map(patches.map((p) => [p.imageId, p.split!])));
  }
  if (summary.kind === 'metadata_v2020' || summary.kind === 'metadata_2017') {
    // New images can only be created with their split: take it from the uploaded image lists. For an
    // existing image the list upload already set the same split, so carrying it along changes nothing.
    const known = await deps.splits.get(patches.map((p) => p.imageId));
    for (const p of patches) {
      const split = known.get(p.imageId);
      if (split) p.split = split;
    }
  }
  const result = await patchRecords(deps.firestore(), patches, patchOpts);
  if (result.failed.length > 0) {
    const f = result.failed[0]!;
    throw new LabelWriteError(
      `${result.failed.length} Firestore writes failed, e.g. ${f.imageId}: ${f.reason}`,
    );
  }

  let staged = 0;
  let stagedRows = 0;
  const refused = new Set<string>();
  for (const r of result.rejected) {
    refused.add(r.imageId);
    const rows = rowsOf.get(r.imageId as ImageId) ?? 0;
    if (summary.kind === 'image_list') {
      staged++;
      stagedRows += rows;
    } else {
      const line = collector.lineOf.get(r.imageId as ImageId) ?? 0;
      rejected.push({ line, reason: `${r.imageId}: ${r.reason}` });
    }
  }
  if (staged > 0) {
    warnings.push({
      line: 0,
      reason: `${staged} listed images are not in the dataset yet; their split is kept and applied when their metadata is uploaded`,
    });
  }
  rejected.sort((a, b) => a.line - b.line);

  const touched = patches.map((p) => p.imageId).filter((id) => !refused.has(id));
  const cohortRows = await upsertCohorts(touched, deps);
  let loaded = 0;
  for (const id of touched) loaded += rowsOf.get(id) ?? 0;
  let refusedRows = 0;
  if (summary.kind !== 'image_list') for (const id of refused) refusedRows += rowsOf.get(id as ImageId) ?? 0;
  return {
    kind: summary.kind,
    lines: summary.lines,
    rows: { parsed: collector.rows, loaded, rejected: rowsRefusedByParser + refusedRows, staged: stagedRows },
    images: { created: result.created, updated: result.updated, unchanged: result.unchanged, staged },
    rejected,
    warnings,
    cohortRows,
  };
}

/** Upserts the cohort rows of `ids` as stored in Firestore now, chunk by chunk (memory bounded). */
async function upsertCohorts(ids: readonly ImageId[], deps: LabelLoadDeps): Promise<number> {
  if (ids.length === 0) return 0;
  const labels = deps.labels;
  async function* rows() {
    for (let i = 0; i < ids.length; i += COHORT_CHUNK) {
      const stored = await labels.getImages(ids.slice(i, i + COHORT_CHUNK));
      for (const s of stored) if (s) yield toCohortRows(s.record);
    }
  }
  const counts = await deps.cohorts.upsert(rows());
  return counts.images;
}
