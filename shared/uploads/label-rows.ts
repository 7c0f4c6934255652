/**
 * Turns the parsed rows of one label file into per-image patches, with the bulk merger's rules for
 * duplicates inside one file: identical rows merge, a conflicting one keeps the first value and is reported.
 * Linear in the rows: duplicates are found through hash sets and maps, never by scanning what came before.
 * Rows past the document caps (MAX_BOXES_PER_IMAGE, MAX_READERS_PER_IMAGE) are refused by line.
 */
import { MAX_BOXES_PER_IMAGE, MAX_READERS_PER_IMAGE } from '../labels/doc.ts';
import type { RecordPatch } from '../labels/patch.ts';
import type { BoundingBox, ImageId, ReaderLabels } from '../model/index.ts';
import type { ParsedRow, RowIssue } from '../parsers/types.ts';

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function boxKey(b: BoundingBox): string {
  return `${b.finding}\u0000${b.x}\u0000${b.y}\u0000${b.w}\u0000${b.h}`;
}

interface ImageState {
  patch: RecordPatch;
  boxKeys?: Set<string>;
  readers?: Map<string, ReaderLabels>;
}

export class PatchCollector {
  readonly #images = new Map<ImageId, ImageState>();
  /** The first line of each image, to report image-level outcomes by line. */
  readonly lineOf = new Map<ImageId, number>();
  /** Called for each row refused here (conflicting duplicate, past a cap); such rows are not in a patch. */
  readonly #refuse: (issue: RowIssue) => void;
  /** Rows taken into a patch (identical duplicates included). */
  rows = 0;
  /** Rows refused here. */
  refused = 0;

  constructor(refuse: (issue: RowIssue) => void) {
    this.#refuse = refuse;
  }

  #state(id: ImageId, line: number): ImageState {
    let s = this.#images.get(id);
    if (!s) {
      s = { patch: { imageId: id } };
      this.#images.set(id, s);
      this.lineOf.set(id, line);
    }
    return s;
  }

  #no(line: number, reason: string): false {
    this.refused++;
    this.#refuse({ line, reason });
    return false;
  }

  #conflict(line: number, what: string, id: string): false {
    return this.#no(line, `conflicting duplicate ${what} for ${id}; kept the first`);
  }

  /** Takes one row; false when it was refused (and reported). */
  add(row: ParsedRow): boolean {
    const taken = this.#add(row);
    if (taken) this.rows++;
    return taken;
  }

  #add(row: ParsedRow): boolean {
    switch (row.kind) {
      case 'metadata_v2020':
      case 'metadata_2017': {
        const { patch: p } = this.#state(row.metadata.imageId, row.line);
        if (p.metadata) return this.#conflict(row.line, 'metadata row', row.metadata.imageId);
        p.metadata = row.metadata;
        return true;
      }
      case 'image_list': {
        const { patch: p } = this.#state(row.imageId, row.line);
        if (p.split && p.split !== row.split) return this.#conflict(row.line, 'split', row.imageId);
        p.split = row.split;
        return true;
      }
      case 'bounding_boxes': {
        const s = this.#state(row.imageId, row.line);
        s.patch.boundingBoxes ??= [];
        s.boxKeys ??= new Set();
        const boxes: BoundingBox[] = s.patch.boundingBoxes;
        const keys = s.boxKeys;
        const key = boxKey(row.box);
        if (keys.has(key)) return true;
        if (boxes.length >= MAX_BOXES_PER_IMAGE) {
          return this.#no(row.line, `more than ${MAX_BOXES_PER_IMAGE} bounding boxes for ${row.imageId}`);
        }
        keys.add(key);
        boxes.push(row.box);
        return true;
      }
      case 'four_findings_labels': {
        const { patch: p } = this.#state(row.metadata.imageId, row.line);
        if (p.fourFindings && !same(p.fourFindings, row.fourFindings)) {
          return this.#conflict(row.line, 'four-findings labels', row.metadata.imageId);
        }
        p.fourFindings = row.fourFindings;
        return true;
      }
      case 'all_findings_labels': {
        const { patch: p } = this.#state(row.imageId, row.line);
        if (p.allFindings && !same(p.allFindings, row.allFindings)) {
          return this.#conflict(row.line, 'all-findings labels', row.imageId);
        }
        p.allFindings = row.allFindings;
        return true;
      }
      case 'four_findings_readers':
      case 'all_findings_readers': {
        const s = this.#state(row.imageId, row.line);
        s.readers ??= new Map();
        s.patch.readers ??= [];
        const readers = s.readers;
        const key = `${row.reader.study}/${row.reader.readerId}`;
        const prev = readers.get(key);
        if (prev) {
          if (same(prev.labels, row.reader.labels)) return true;
          return this.#conflict(row.line, `labels of reader ${row.reader.readerId}`, row.imageId);
        }
        if (readers.size >= MAX_READERS_PER_IMAGE) {
          return this.#no(row.line, `more than ${MAX_READERS_PER_IMAGE} reader rows for ${row.imageId}`);
        }
        readers.set(key, row.reader);
        s.patch.readers.push(row.reader);
        return true;
      }
    }
  }

  get images(): number {
    return this.#images.size;
  }

  patches(): RecordPatch[] {
    const out: RecordPatch[] = [];
    for (const s of this.#images.values()) out.push(s.patch);
    return out;
  }
}
