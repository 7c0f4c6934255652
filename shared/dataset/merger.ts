import type { ImageId, ImageMetadata, ImageRecord, ReaderLabels } from '../model/index.ts';
import type { FileKind, ParsedFile, ParsedRow } from '../parsers/types.ts';
import { metadataDifferences } from './differences.ts';
import { Entry, keyOf, recordFiles, type Seen, type Source, same } from './entry.ts';
import type { MergeOptions, MergeProblem, MergeResult, MetadataDifference } from './types.ts';

/**
 * Merges rows of any kind, in any order, one at a time (a loader need not keep parsed files in memory) into
 * complete image records. Metadata comes from the v2020 file unless `metadata: '2017'`, or from whichever
 * one is given. Everything that cannot be reconciled becomes a problem; nothing is dropped silently:
 * identical duplicates merge, conflicting ones keep the first value and are reported.
 */
export class RecordMerger {
  readonly #prefer: Source;
  readonly #images = new Map<number, Entry>();
  readonly #saw = { preferred: false, other: false };
  readonly #differences: MetadataDifference[] = [];
  readonly #problems: MergeProblem[] = [];

  constructor(opts: MergeOptions = {}) {
    this.#prefer = opts.metadata ?? 'v2020';
  }

  #entry(id: ImageId): Entry {
    const key = keyOf(id);
    let e = this.#images.get(key);
    if (e === undefined) {
      e = new Entry(id, key);
      this.#images.set(key, e);
    }
    return e;
  }

  #problem(file: FileKind, imageId: string, reason: string, line?: number): void {
    this.#problems.push(line === undefined ? { file, imageId, reason } : { file, imageId, reason, line });
  }

  /** Adds one parsed row; `source` names its file in problem reasons (default: its kind). */
  add(row: ParsedRow, source: string = row.kind): void {
    switch (row.kind) {
      case 'metadata_v2020':
      case 'metadata_2017':
        this.#metadata(row.kind, row.metadata, source, row.line);
        return;
      case 'image_list': {
        const e = this.#entry(row.imageId);
        if (e.split === undefined) e.split = row.split;
        else if (e.split !== row.split) {
          // 112k rows: only a conflict pays for naming a line, and then only its own.
          const reason = `in both splits: ${e.split} (an earlier row) and ${row.split} (line ${row.line} of ${source}); kept ${e.split}`;
          this.#problem(row.kind, row.imageId, reason, row.line);
        }
        return;
      }
    }
    // The remaining kinds are a few thousand rows: keep where each value came from.
    const at = `line ${row.line} of ${source}`;
    switch (row.kind) {
      case 'bounding_boxes': {
        const e = this.#entry(row.imageId);
        if (!e.boxes) e.boxes = [row.box];
        else if (!e.boxes.some((b) => same(b, row.box))) e.boxes.push(row.box);
        return;
      }
      case 'four_findings_labels': {
        const e = this.#entry(row.metadata.imageId);
        e.four = this.#once(
          e.four,
          row.kind,
          row.metadata.imageId,
          row.fourFindings,
          at,
          row.line,
          'four-findings labels',
        );
        return;
      }
      case 'all_findings_labels': {
        const e = this.#entry(row.imageId);
        e.all = this.#once(
          e.all,
          row.kind,
          row.imageId,
          row.allFindings,
          at,
          row.line,
          'all-findings labels',
        );
        return;
      }
      case 'four_findings_readers':
      case 'all_findings_readers': {
        const e = this.#entry(row.imageId);
        if (row.kind === 'four_findings_readers') {
          e.readerSet = this.#once(
            e.readerSet,
            row.kind,
            row.imageId,
            row.set,
            at,
            row.line,
            'four-findings set',
          );
        }
        this.#reader(e, row.kind, row.imageId, row.reader, at, row.line);
        return;
      }
    }
  }

  /** The first value; a later different one is a problem. */
  #once<T>(
    prev: Seen<T> | undefined,
    file: FileKind,
    id: ImageId,
    value: T,
    at: string,
    line: number,
    what: string,
  ): Seen<T> {
    if (!prev) return { value, at };
    if (!same(prev.value, value)) {
      const reason = `conflicting ${what}: ${JSON.stringify(prev.value)} (${prev.at}) and ${JSON.stringify(value)} (${at}); kept the first`;
      this.#problem(file, id, reason, line);
    }
    return prev;
  }

  /** Readers are unique per (study, readerId) on an image. */
  #reader(e: Entry, file: FileKind, id: ImageId, reader: ReaderLabels, at: string, line: number): void {
    if (!e.readers) {
      e.readers = [{ value: reader, at }];
      return;
    }
    const prev = e.readers.find(
      (r) => r.value.study === reader.study && r.value.readerId === reader.readerId,
    );
    if (!prev) e.readers.push({ value: reader, at });
    else if (!same(prev.value.labels, reader.labels)) {
      const reason = `reader ${reader.readerId} labelled the image twice, differently: ${JSON.stringify(prev.value.labels)} (${prev.at}) and ${JSON.stringify(reader.labels)} (${at}); kept the first`;
      this.#problem(file, id, reason, line);
    }
  }

  #metadata(kind: 'metadata_v2020' | 'metadata_2017', m: ImageMetadata, source: string, line: number): void {
    const preferred = (kind === 'metadata_v2020' ? 'v2020' : '2017') === this.#prefer;
    const e = this.#entry(m.imageId);
    if (preferred ? e.meta !== undefined : e.alt !== undefined || e.compared) {
      const reason = `listed twice in the ${kind === 'metadata_v2020' ? 'v2020' : '2017'} metadata (line ${line} of ${source}); kept the first`;
      this.#problem(kind, m.imageId, reason, line);
      return;
    }
    if (preferred) {
      this.#saw.preferred = true;
      e.meta = m;
      if (e.alt) {
        this.#compare(e.alt, m);
        e.alt = undefined;
        e.compared = true;
      }
    } else {
      this.#saw.other = true;
      if (e.meta) {
        this.#compare(m, e.meta);
        e.compared = true;
      } else e.alt = m;
    }
  }

  #compare(other: ImageMetadata, preferred: ImageMetadata): void {
    const [v2017, v2020] = this.#prefer === 'v2020' ? [other, preferred] : [preferred, other];
    for (const d of metadataDifferences(v2017, v2020)) this.#differences.push(d);
  }

  /** The records (sorted by imageId), the 2017 vs v2020 differences and the problems (by imageId). */
  finish(): MergeResult {
    const other: Source = this.#prefer === 'v2020' ? '2017' : 'v2020';
    const onlyOther = !this.#saw.preferred;
    const entries = [...this.#images.values()];
    // Usually in order already (the metadata files are sorted and come first); sort only when not.
    if (entries.some((x, i) => i > 0 && entries[i - 1]!.key > x.key)) entries.sort((a, b) => a.key - b.key);
    const records: ImageRecord[] = [];
    for (const e of entries) {
      const id = e.id;
      const m = onlyOther ? e.alt : e.meta;
      if (m === undefined) {
        if (e.alt) {
          const reason = `in the ${other} metadata but not in the ${this.#prefer} metadata; left out`;
          this.#problem(other === 'v2020' ? 'metadata_v2020' : 'metadata_2017', id, reason);
        }
        this.#orphan(id, e);
        continue;
      }
      if (this.#saw.other && this.#saw.preferred && !e.compared) {
        this.#problem(
          this.#prefer === 'v2020' ? 'metadata_v2020' : 'metadata_2017',
          id,
          `not in the ${other} metadata`,
        );
      }
      if (e.split === undefined) {
        this.#problem('image_list', id, 'in neither train_val_list.txt nor test_list.txt; record left out');
        continue;
      }
      const four = e.four?.value ?? null;
      if (four && e.readerSet && e.readerSet.value !== four.set) {
        const reason = `readers' set ${e.readerSet.value} (${e.readerSet.at}) differs from the adjudicated set ${four.set}`;
        this.#problem('four_findings_readers', id, reason);
      }
      records.push({
        imageId: m.imageId,
        patientId: m.patientId,
        followUp: m.followUp,
        patientAge: m.patientAge,
        patientSex: m.patientSex,
        viewPosition: m.viewPosition,
        width: m.width,
        height: m.height,
        pixelSpacing: m.pixelSpacing,
        findings: m.findings,
        split: e.split,
        boundingBoxes: e.boxes ?? [],
        expert: {
          fourFindings: four,
          allFindings: e.all?.value ?? null,
          readers: e.readers?.map((r) => r.value) ?? [],
        },
        files: recordFiles(id),
      });
    }
    const differences = this.#differences.sort((a, b) =>
      a.imageId < b.imageId ? -1 : a.imageId > b.imageId ? 1 : 0,
    );
    return { records, differences, problems: this.#problems };
  }

  /** Rows about an image that has no metadata. */
  #orphan(id: ImageId, e: Entry): void {
    const what = 'for an image not in the metadata';
    if (e.split) this.#problem('image_list', id, `split ${what}`);
    if (e.boxes) this.#problem('bounding_boxes', id, `bounding box ${what}`);
    if (e.four) this.#problem('four_findings_labels', id, `four-findings labels ${what}`);
    if (e.all) this.#problem('all_findings_labels', id, `all-findings labels ${what}`);
    for (const study of new Set(e.readers?.map((r) => r.value.study))) {
      const file = study === 'fourFindings' ? 'four_findings_readers' : 'all_findings_readers';
      this.#problem(file, id, `reader labels ${what}`);
    }
  }
}

/** Merges parsed files into complete image records, sorted by imageId (see RecordMerger). */
export function mergeRecords(files: ParsedFile[], opts: MergeOptions = {}): MergeResult {
  const merger = new RecordMerger(opts);
  for (const f of files) for (const row of f.rows) merger.add(row);
  return merger.finish();
}
