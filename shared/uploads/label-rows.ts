/**
 * Turns the parsed rows of one label file into per-image patches, with the bulk merger's rules for
 * duplicates inside one file: identical rows merge, a conflicting one keeps the first value and is reported.
 */
import type { RecordPatch } from '../labels/index.ts';
import type { BoundingBox, ImageId, ReaderLabels } from '../model/index.ts';
import type { ParsedRow, RowIssue } from '../parsers/types.ts';

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export class PatchCollector {
  readonly #patches = new Map<ImageId, RecordPatch>();
  /** The first line of each image, to report image-level outcomes by line. */
  readonly lineOf = new Map<ImageId, number>();
  /** Rows dropped as conflicting duplicates (also counted as rejected). */
  readonly conflicts: RowIssue[] = [];
  rows = 0;

  #patch(id: ImageId, line: number): RecordPatch {
    let p = this.#patches.get(id);
    if (!p) {
      p = { imageId: id };
      this.#patches.set(id, p);
      this.lineOf.set(id, line);
    }
    return p;
  }

  #conflict(line: number, what: string, id: string): void {
    this.conflicts.push({ line, reason: `conflicting duplicate ${what} for ${id}; kept the first` });
  }

  add(row: ParsedRow): void {
    this.rows++;
    switch (row.kind) {
      case 'metadata_v2020':
      case 'metadata_2017': {
        const p = this.#patch(row.metadata.imageId, row.line);
        if (p.metadata) this.#conflict(row.line, 'metadata row', row.metadata.imageId);
        else p.metadata = row.metadata;
        return;
      }
      case 'image_list': {
        const p = this.#patch(row.imageId, row.line);
        if (p.split && p.split !== row.split) this.#conflict(row.line, 'split', row.imageId);
        else p.split = row.split;
        return;
      }
      case 'bounding_boxes': {
        const p = this.#patch(row.imageId, row.line);
        p.boundingBoxes ??= [];
        const boxes: BoundingBox[] = p.boundingBoxes;
        if (!boxes.some((b) => same(b, row.box))) boxes.push(row.box);
        return;
      }
      case 'four_findings_labels': {
        const p = this.#patch(row.metadata.imageId, row.line);
        if (p.fourFindings && !same(p.fourFindings, row.fourFindings)) {
          this.#conflict(row.line, 'four-findings labels', row.metadata.imageId);
        } else p.fourFindings = row.fourFindings;
        return;
      }
      case 'all_findings_labels': {
        const p = this.#patch(row.imageId, row.line);
        if (p.allFindings && !same(p.allFindings, row.allFindings)) {
          this.#conflict(row.line, 'all-findings labels', row.imageId);
        } else p.allFindings = row.allFindings;
        return;
      }
      case 'four_findings_readers':
      case 'all_findings_readers': {
        const p = this.#patch(row.imageId, row.line);
        p.readers ??= [];
        const readers: ReaderLabels[] = p.readers;
        const prev = readers.find((r) => r.study === row.reader.study && r.readerId === row.reader.readerId);
        if (!prev) readers.push(row.reader);
        else if (!same(prev.labels, row.reader.labels)) {
          this.#conflict(row.line, `labels of reader ${row.reader.readerId}`, row.imageId);
        }
        return;
      }
    }
  }

  get images(): number {
    return this.#patches.size;
  }

  patches(): RecordPatch[] {
    return [...this.#patches.values()];
  }
}
