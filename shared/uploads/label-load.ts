/**
 * Loads one uploaded label file: streams it through the parsers, merges each image's rows into its
 * Firestore document (patchRecords: only the fields this file carries; other images untouched), then
 * upserts the cohort rows of the images it changed, read back from Firestore so both stores agree.
 * A file-level error (unknown header, truncated gzip, more rows than MAX_UPLOAD_ROWS) throws before anything
 * is written: nothing of a broken file is loaded. Row-level problems are reported by line and the good rows
 * are loaded. Memory: the patches of at most MAX_UPLOAD_ROWS rows, and a bounded list of issues (blank lines
 * are counted, not listed one by one).
 */
import type { Firestore } from '@google-cloud/firestore';
import { toCohortRows } from '../cohorts/rows.ts';
import type { CohortStore } from '../cohorts/store.ts';
import { IMAGES_COLLECTION } from '../labels/doc.ts';
import { type PatchRejection, patchRecords, type RecordPatch } from '../labels/patch.ts';
import type { LabelRepo } from '../labels/repo.ts';
import { bumpLabelsVersion } from '../labels/version-stamp.ts';
import type { ImageId, Split } from '../model/index.ts';
import { parseBatches } from '../parsers/index.ts';
import { type FileKind, isRowIssue } from '../parsers/types.ts';
import { MAX_UPLOAD_ROWS } from './bytes.ts';
import { contentFault, UploadRejection } from './errors.ts';
import { IssueList } from './issues.ts';
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
  /** Aborted when the attempt ran out of time: no further step (version stamp, cohort rows) starts. */
  signal?: AbortSignal;
}

export interface LabelLoadOptions {
  split?: Split | undefined;
  /** Default MAX_UPLOAD_ROWS (bytes.ts). */
  maxRows?: number;
}

export interface LabelLoadResult {
  kind: FileKind;
  /** Physical lines, header included. */
  lines: number;
  /**
   * parsed: data rows the parser accepted; loaded: rows now in Firestore and the cohort store; rejected:
   * rows refused by the parser, conflicting duplicates, rows past a document cap and rows of images that
   * could not be written (each listed in `rejected` by line); staged: image-list rows of images not in the
   * dataset yet.
   */
  rows: { parsed: number; loaded: number; rejected: number; staged: number };
  images: { created: number; updated: number; unchanged: number; staged: number };
  /** The first issues by line, and how many there are in all. */
  rejected: IssueList;
  warnings: IssueList;
  cohortRows: number;
}

/** Thrown when Firestore writes still fail after retries (not for the input's sake): the event is retried. */
export class LabelWriteError extends Error {
  override readonly name = 'LabelWriteError';
}

const COHORT_CHUNK = 2000;

/** What parsing a label file collected: its patches and rows per image, and the issues found. */
interface Parsed {
  summary: { kind: FileKind; lines: number };
  collector: PatchCollector;
  rowsOf: Map<ImageId, number>;
  rowIssues: IssueList;
  warnings: IssueList;
}

/**
 * Streams `content` through the parsers into patches. A file-level error throws (as a content fault), as
 * does a file of more than `maxRows` data rows; nothing is written here.
 */
async function parseLabels(
  content: AsyncIterable<Buffer>,
  split: Split | undefined,
  maxRows: number,
): Promise<Parsed> {
  const rowIssues = new IssueList();
  const warnings = new IssueList();
  const collector = new PatchCollector((issue) => rowIssues.add(issue));
  const rowsOf = new Map<ImageId, number>();
  let blank = 0;
  let firstBlank = 0;
  let dataRows = 0;
  const onBlankLine = (line: number) => {
    if (blank++ === 0) firstBlank = line;
  };
  const gen = parseBatches(content, { ...(split ? { split } : {}), onBlankLine });

  async function collect(): Promise<{ kind: FileKind; lines: number }> {
    for (;;) {
      const r = await gen.next();
      if (r.done) return r.value;
      for (const e of r.value) {
        if (isRowIssue(e)) {
          if (e.severity === 'warning') {
            warnings.add(e.issue);
            continue;
          }
          rowIssues.add(e.issue);
        } else if (collector.add(e)) {
          const id = 'metadata' in e ? e.metadata.imageId : e.imageId;
          rowsOf.set(id, (rowsOf.get(id) ?? 0) + 1);
        }
        if (++dataRows > maxRows) {
          await gen.return(undefined as never);
          const line = isRowIssue(e) ? e.issue.line : e.line;
          throw new UploadRejection(
            `more than ${maxRows} data rows (the first past the limit at line ${line}): split the file into smaller ones`,
          );
        }
      }
    }
  }
  let summary: { kind: FileKind; lines: number };
  try {
    summary = await collect();
  } catch (err) {
    throw contentFault(err);
  }
  if (blank > 0) {
    warnings.add({
      line: firstBlank,
      reason: `${blank} blank lines skipped (the first at line ${firstBlank})`,
    });
  }
  return { summary, collector, rowsOf, rowIssues, warnings };
}

/**
 * Writes the patches: an image list's splits to the split table, a metadata file's patches with the
 * splits known for them; then every image document (patchRecords), and the labels version stamp if there
 * was any row to write. Throws LabelWriteError when writes still fail after retries.
 */
async function writePatches(kind: FileKind, patches: RecordPatch[], deps: LabelLoadDeps) {
  const patchOpts = { throttle: deps.throttle, ...(deps.collection ? { collection: deps.collection } : {}) };
  if (kind === 'image_list') {
    await deps.splits.put(new Map(patches.map((p) => [p.imageId, p.split!])));
  }
  if (kind === 'metadata_v2020' || kind === 'metadata_2017') {
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
  deps.signal?.throwIfAborted();
  // Every labels instance drops its cache within LABELS_CACHE_CHECK_SECONDS of this (shared/labels/label-cache.ts).
  // Bumped whenever the file had rows to write, even if they were all unchanged: an earlier attempt at this
  // upload may have written them and failed before its bump, and its redelivery finds them unchanged; going by
  // `created + updated` alone, no attempt would ever bump, and instances would serve stale records until TTL.
  if (patches.length > 0) {
    await bumpLabelsVersion(deps.firestore(), deps.collection ?? IMAGES_COLLECTION);
  }
  return result;
}

/**
 * Accounts for the images patchRecords refused: an image list's are staged (a warning), any other file's
 * rows are rejected, one issue per image.
 */
function tallyRefused(p: Parsed, refusedImages: readonly PatchRejection[]) {
  let staged = 0;
  let stagedRows = 0;
  let refusedRows = 0;
  const refused = new Set<string>();
  const imageIssues = new IssueList();
  for (const r of refusedImages) {
    refused.add(r.imageId);
    const rows = p.rowsOf.get(r.imageId as ImageId) ?? 0;
    if (p.summary.kind === 'image_list') {
      staged++;
      stagedRows += rows;
    } else {
      refusedRows += rows;
      const line = p.collector.lineOf.get(r.imageId as ImageId) ?? 0;
      const which = rows === 1 ? 'its row' : `all ${rows} rows of this image, the first`;
      imageIssues.add({ line, reason: `${r.imageId}: ${r.reason} (${which} at line ${line}, not loaded)` });
    }
  }
  if (staged > 0) {
    p.warnings.add({
      line: 0,
      reason: `${staged} listed images are not in the dataset yet; their split is kept and applied when their metadata is uploaded`,
    });
  }
  return { staged, stagedRows, refusedRows, refused, imageIssues };
}

export async function loadLabelFile(
  content: AsyncIterable<Buffer>,
  opts: LabelLoadOptions,
  deps: LabelLoadDeps,
): Promise<LabelLoadResult> {
  const p = await parseLabels(content, opts.split, opts.maxRows ?? MAX_UPLOAD_ROWS);
  const { summary, collector, rowsOf } = p;
  const rowsRefusedByParser = p.rowIssues.count;
  const patches = collector.patches();
  const result = await writePatches(summary.kind, patches, deps);
  const t = tallyRefused(p, result.rejected);

  const touched: ImageId[] = [];
  for (const q of patches) if (!t.refused.has(q.imageId)) touched.push(q.imageId);
  const cohortRows = await upsertCohorts(touched, deps);
  let loaded = 0;
  for (const id of touched) loaded += rowsOf.get(id) ?? 0;
  return {
    kind: summary.kind,
    lines: summary.lines,
    rows: {
      parsed: collector.rows + collector.refused,
      loaded,
      rejected: rowsRefusedByParser + t.refusedRows,
      staged: t.stagedRows,
    },
    images: {
      created: result.created,
      updated: result.updated,
      unchanged: result.unchanged,
      staged: t.staged,
    },
    rejected: IssueList.merged(p.rowIssues, t.imageIssues),
    warnings: p.warnings,
    cohortRows,
  };
}

/** Upserts the cohort rows of `ids` as stored in Firestore now, chunk by chunk (memory bounded). */
async function upsertCohorts(ids: readonly ImageId[], deps: LabelLoadDeps): Promise<number> {
  if (ids.length === 0) return 0;
  const labels = deps.labels;
  async function* rows() {
    for (let i = 0; i < ids.length; i += COHORT_CHUNK) {
      deps.signal?.throwIfAborted();
      const stored = await labels.getImages(ids.slice(i, i + COHORT_CHUNK));
      for (const s of stored) if (s) yield toCohortRows(s.record);
    }
  }
  const counts = await deps.cohorts.upsert(rows());
  return counts.images;
}
