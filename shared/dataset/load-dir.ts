import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Split } from '../model/index.ts';
import { analyseHeader } from '../parsers/header.ts';
import { lineBatches } from '../parsers/lines.ts';
import { parseBatches } from '../parsers/parse.ts';
import { FILE_KINDS, FileFormatError, type FileKind, type RowIssue } from '../parsers/types.ts';
import { RecordMerger } from './merger.ts';
import type { DatasetLoadResult, LoadedFile, MergeOptions } from './types.ts';

const DATA_FILE = /\.(?:csv|txt)(?:\.gz)?$/i;

/** The split of an image list, from its file name: both lists have the same headerless format. */
export function splitFromFileName(path: string): Split | undefined {
  const name = path.split(/[\\/]/).pop()!.toLowerCase();
  if (name.startsWith('test_list')) return 'test';
  if (name.startsWith('train_val_list')) return 'train_val';
  return undefined;
}

function open(path: string) {
  return createReadStream(path, { highWaterMark: 1 << 18 });
}

/** The kind of a file from its first line, without reading the rest. */
async function peekKind(path: string): Promise<FileKind | { error: string }> {
  try {
    for await (const batch of lineBatches(open(path))) {
      const first = batch.find((l) => l.trim() !== '');
      if (first === undefined) continue;
      const h = analyseHeader(first);
      return 'error' in h ? h : h.kind;
    }
    return { error: 'empty file' };
  } catch (err) {
    if (err instanceof FileFormatError) return { error: err.message };
    throw err;
  }
}

/**
 * Parses every known file under `dir` (recursively: .csv, .txt, optionally .gz) and merges them, streaming
 * each file into the merger so that parsed rows are not kept. Image lists take their split from their
 * file name (test_list* -> test, train_val_list* -> train_val), since both have the same format. Files
 * that are not one of the known formats, or fail part way (e.g. a truncated gzip), are listed in
 * `skipped` with the reason; rows read before such a failure are kept. `files[].path` is relative to dir.
 */
export async function loadDatasetDir(dir: string, opts: MergeOptions = {}): Promise<DatasetLoadResult> {
  const root = dir.replace(/\/+$/, '');
  const candidates = (await readdir(root, { recursive: true, withFileTypes: true }))
    .filter((e) => (e.isFile() || e.isSymbolicLink()) && DATA_FILE.test(e.name))
    .map((e) => join(e.parentPath, e.name));
  const names: string[] = [];
  for (const path of candidates) {
    // A symlinked file counts (data folders are often links to a shared copy); a link to a folder does not.
    if ((await stat(path).catch(() => undefined))?.isFile()) names.push(path.slice(root.length + 1));
  }
  const skipped: { path: string; reason: string }[] = [];
  const found: { path: string; kind: FileKind }[] = [];
  for (const path of names) {
    const kind = await peekKind(join(dir, path));
    if (typeof kind === 'string') found.push({ path, kind });
    else skipped.push({ path, reason: kind.error });
  }
  // The preferred metadata first, so the other one is compared row by row and never held in full.
  const preferred: FileKind = opts.metadata === '2017' ? 'metadata_2017' : 'metadata_v2020';
  const rank = (k: FileKind) => (k === preferred ? -1 : FILE_KINDS.indexOf(k));
  found.sort((a, b) => rank(a.kind) - rank(b.kind) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

  const merger = new RecordMerger(opts);
  const files: LoadedFile[] = [];
  for (const { path, kind } of found) {
    const split = splitFromFileName(path);
    if (kind === 'image_list' && split === undefined) {
      skipped.push({ path, reason: 'an image list whose name says neither test_list nor train_val_list' });
      continue;
    }
    const rejected: RowIssue[] = [];
    const warnings: RowIssue[] = [];
    let rows = 0;
    try {
      for await (const batch of parseBatches(open(join(dir, path)), split ? { split } : {})) {
        for (const e of batch) {
          if ('issue' in e) (e.severity === 'rejected' ? rejected : warnings).push(e.issue);
          else {
            rows++;
            merger.add(e, path);
          }
        }
      }
    } catch (err) {
      if (!(err instanceof FileFormatError)) throw err;
      skipped.push({ path, reason: `${err.message} (after ${rows} rows, which were kept)` });
    }
    files.push({ path, kind, rows, rejected, warnings });
  }
  return { ...merger.finish(), files, skipped };
}
