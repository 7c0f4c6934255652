import {
  type AllFindingsLabels,
  type BoundingBox,
  type FourFindingsLabels,
  type FourFindingsSet,
  type ImageId,
  type ImageMetadata,
  type ImageRecord,
  imageFiles,
  type ReaderLabels,
  type Split,
} from '../model/index.ts';
import type { FileKind, ParsedRow } from '../parsers/types.ts';
import { metadataDifferences } from './differences.ts';
import type { MergeOptions, MergeProblem, MergeResult, MetadataDifference } from './types.ts';

type Source = 'v2020' | '2017';
/** A value and where it came from (`line 12 of test_labels.csv`), for problem reasons. */
interface Seen<T> {
  value: T;
  at: string;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Merges rows of any kind, in any order, one at a time (a loader need not keep parsed files in memory) into
 * complete image records. Metadata comes from the v2020 file unless `metadata: '2017'`, or from whichever
 * one is given. Everything that cannot be reconciled becomes a problem; nothing is dropped silently:
 * identical duplicates merge, conflicting ones keep the first value and are reported.
 */
export class RecordMerger {
  readonly #prefer: Source;
  /** Metadata of the preferred source. */
  readonly #base = new Map<ImageId, ImageMetadata>();
  /** Metadata of the other source not yet compared with a preferred row. */
  readonly #alt = new Map<ImageId, ImageMetadata>();
  /** Images whose other-source row was compared with the preferred one, then dropped. */
  readonly #compared = new Set<ImageId>();
  readonly #sawAlt = { value: false };
  readonly #differences: MetadataDifference[] = [];
  /** Splits hold just the value: 112k entries, and a conflict is rare enough to name only its second line. */
  readonly #splits = new Map<ImageId, Split>();
  readonly #boxes = new Map<ImageId, BoundingBox[]>();
  readonly #four = new Map<ImageId, Seen<FourFindingsLabels>>();
  readonly #all = new Map<ImageId, Seen<AllFindingsLabels>>();
  readonly #readers = new Map<ImageId, Seen<ReaderLabels>[]>();
  readonly #readerSets = new Map<ImageId, Seen<FourFindingsSet>>();
  readonly #problems: MergeProblem[] = [];

  constructor(opts: MergeOptions = {}) {
    this.#prefer = opts.metadata ?? 'v2020';
  }

  #problem(file: FileKind, imageId: string, reason: string, line?: number): void {
    this.#problems.push(line === undefined ? { file, imageId, reason } : { file, imageId, reason, line });
  }

  /** Adds one parsed row; `source` names its file in problem reasons (default: its kind). */
  add(row: ParsedRow, source: string = row.kind): void {
    switch (row.kind) {
      case 'metadata_v2020':
      case 'metadata_2017':
        this.#metadata(
          row.kind === 'metadata_v2020' ? 'v2020' : '2017',
          row.metadata,
          row.kind,
          source,
          row.line,
        );
        return;
      case 'image_list': {
        const prev = this.#splits.get(row.imageId);
        if (prev === undefined) this.#splits.set(row.imageId, row.split);
        else if (prev !== row.split) {
          const reason = `in both splits: ${prev} (an earlier row) and ${row.split} (line ${row.line} of ${source}); kept ${prev}`;
          this.#problem(row.kind, row.imageId, reason, row.line);
        }
        return;
      }
    }
    // The remaining kinds are a few thousand rows: keep where each value came from.
    const at = `line ${row.line} of ${source}`;
    switch (row.kind) {
      case 'bounding_boxes': {
        const list = this.#boxes.get(row.imageId);
        if (!list) this.#boxes.set(row.imageId, [row.box]);
        else if (!list.some((b) => same(b, row.box))) list.push(row.box);
        return;
      }
      case 'four_findings_labels':
        this.#once(
          this.#four,
          row.kind,
          row.metadata.imageId,
          row.fourFindings,
          at,
          row.line,
          'four-findings labels',
        );
        return;
      case 'all_findings_labels':
        this.#once(this.#all, row.kind, row.imageId, row.allFindings, at, row.line, 'all-findings labels');
        return;
      case 'four_findings_readers':
      case 'all_findings_readers':
        if (row.kind === 'four_findings_readers') {
          this.#once(this.#readerSets, row.kind, row.imageId, row.set, at, row.line, 'four-findings set');
        }
        this.#reader(row.kind, row.imageId, row.reader, at, row.line);
        return;
    }
  }

  #once<T>(
    map: Map<ImageId, Seen<T>>,
    file: FileKind,
    id: ImageId,
    value: T,
    at: string,
    line: number,
    what: string,
  ): void {
    const prev = map.get(id);
    if (!prev) map.set(id, { value, at });
    else if (!same(prev.value, value)) {
      const reason = `conflicting ${what}: ${JSON.stringify(prev.value)} (${prev.at}) and ${JSON.stringify(value)} (${at}); kept the first`;
      this.#problem(file, id, reason, line);
    }
  }

  /** Readers are unique per (study, readerId) on an image. */
  #reader(file: FileKind, id: ImageId, reader: ReaderLabels, at: string, line: number): void {
    const list = this.#readers.get(id);
    if (!list) {
      this.#readers.set(id, [{ value: reader, at }]);
      return;
    }
    const prev = list.find((r) => r.value.study === reader.study && r.value.readerId === reader.readerId);
    if (!prev) list.push({ value: reader, at });
    else if (!same(prev.value.labels, reader.labels)) {
      const reason = `reader ${reader.readerId} labelled the image twice, differently: ${JSON.stringify(prev.value.labels)} (${prev.at}) and ${JSON.stringify(reader.labels)} (${at}); kept the first`;
      this.#problem(file, id, reason, line);
    }
  }

  #metadata(source: Source, m: ImageMetadata, file: FileKind, fileName: string, line: number): void {
    const id = m.imageId;
    const at = `line ${line} of ${fileName}`;
    if (source === this.#prefer) {
      if (this.#base.has(id)) {
        this.#problem(file, id, `listed twice in the ${source} metadata (${at})`, line);
        return;
      }
      this.#base.set(id, m);
      const other = this.#alt.get(id);
      if (other) {
        this.#compare(other, m);
        this.#alt.delete(id);
      }
      return;
    }
    this.#sawAlt.value = true;
    if (this.#alt.has(id) || this.#compared.has(id)) {
      this.#problem(file, id, `listed twice in the ${source} metadata (${at})`, line);
      return;
    }
    const preferred = this.#base.get(id);
    if (preferred) this.#compare(m, preferred);
    else this.#alt.set(id, m);
  }

  #compare(alt: ImageMetadata, preferred: ImageMetadata): void {
    this.#compared.add(preferred.imageId);
    const [v2017, v2020] = this.#prefer === 'v2020' ? [alt, preferred] : [preferred, alt];
    for (const d of metadataDifferences(v2017, v2020)) this.#differences.push(d);
  }

  /** The records (sorted by imageId), the 2017 vs v2020 differences and the problems. */
  finish(): MergeResult {
    const kindOf = (s: Source): FileKind => (s === 'v2020' ? 'metadata_v2020' : 'metadata_2017');
    const other: Source = this.#prefer === 'v2020' ? '2017' : 'v2020';
    let base = this.#base;
    if (base.size === 0)
      base = this.#alt; // only the other metadata file was given
    else {
      for (const id of this.#alt.keys()) {
        this.#problem(
          kindOf(other),
          id,
          `in the ${other} metadata but not in the ${this.#prefer} metadata; left out`,
        );
      }
      if (this.#sawAlt.value) {
        for (const id of base.keys()) {
          if (!this.#compared.has(id))
            this.#problem(kindOf(this.#prefer), id, `not in the ${other} metadata`);
        }
      }
    }
    this.#orphans(base);
    const ids = [...base.keys()].sort();
    const records: ImageRecord[] = [];
    for (const id of ids) {
      const split = this.#splits.get(id);
      if (split === undefined) {
        this.#problem('image_list', id, 'in neither train_val_list.txt nor test_list.txt; record left out');
        continue;
      }
      const four = this.#four.get(id)?.value ?? null;
      const readerSet = this.#readerSets.get(id);
      if (four && readerSet && readerSet.value !== four.set) {
        const reason = `readers' set ${readerSet.value} (${readerSet.at}) differs from the adjudicated set ${four.set}`;
        this.#problem('four_findings_readers', id, reason);
      }
      const m = base.get(id)!;
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
        split,
        boundingBoxes: this.#boxes.get(id) ?? [],
        expert: {
          fourFindings: four,
          allFindings: this.#all.get(id)?.value ?? null,
          readers: this.#readers.get(id)?.map((r) => r.value) ?? [],
        },
        files: flatFiles(imageFiles(id)),
      });
    }
    const differences = this.#differences.sort((a, b) =>
      a.imageId < b.imageId ? -1 : a.imageId > b.imageId ? 1 : 0,
    );
    return { records, differences, problems: this.#problems };
  }

  /** Rows about images that have no metadata. */
  #orphans(base: Map<ImageId, ImageMetadata>): void {
    const check = (file: FileKind, ids: Iterable<ImageId>, what: string) => {
      for (const id of ids)
        if (!base.has(id)) this.#problem(file, id, `${what} for an image not in the metadata`);
    };
    check('image_list', this.#splits.keys(), 'split');
    check('bounding_boxes', this.#boxes.keys(), 'bounding box');
    check('four_findings_labels', this.#four.keys(), 'four-findings labels');
    check('all_findings_labels', this.#all.keys(), 'all-findings labels');
    for (const [id, list] of this.#readers) {
      if (base.has(id)) continue;
      for (const study of new Set(list.map((r) => r.value.study))) {
        const file = study === 'fourFindings' ? 'four_findings_readers' : 'all_findings_readers';
        this.#problem(file, id, 'reader labels for an image not in the metadata');
      }
    }
  }
}

/**
 * V8 keeps a string built by concatenation as a tree of its pieces until something reads it as a whole;
 * Number() does, and flattening the two URIs saves ~100 bytes per record (11 MB for the full dataset).
 */
function flatFiles(f: { png: string; dicom: string }): { png: string; dicom: string } {
  Number(f.png);
  Number(f.dicom);
  return f;
}
