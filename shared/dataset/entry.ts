import type {
  AllFindingsLabels,
  BoundingBox,
  FourFindingsLabels,
  FourFindingsSet,
  ImageId,
  ImageMetadata,
  ReaderLabels,
  Split,
} from '../model/index.ts';

export type Source = 'v2020' | '2017';
/** A value and where it came from (`line 12 of test_labels.csv`), for problem reasons. */
export interface Seen<T> {
  value: T;
  at: string;
}

/** Everything known about one image so far: one map lookup per row, none per field. */
export class Entry {
  readonly id: ImageId;
  /** Metadata of the preferred source. */
  meta: ImageMetadata | undefined = undefined;
  /** Metadata of the other source, until a preferred row arrives to compare it with. */
  alt: ImageMetadata | undefined = undefined;
  /** Both metadata rows were seen and compared (the other one was then dropped). */
  compared = false;
  split: Split | undefined = undefined;
  boxes: BoundingBox[] | undefined = undefined;
  four: Seen<FourFindingsLabels> | undefined = undefined;
  all: Seen<AllFindingsLabels> | undefined = undefined;
  readers: Seen<ReaderLabels>[] | undefined = undefined;
  readerSet: Seen<FourFindingsSet> | undefined = undefined;

  constructor(id: ImageId) {
    this.id = id;
  }
}

/**
 * `00000001_000` -> 1000: a number orders like the id and hashes much faster than a string (the merge does
 * one lookup per row, 364k of them for the full dataset).
 */
export function keyOf(id: ImageId): number {
  let n = 0;
  for (let i = 0; i < 8; i++) n = n * 10 + id.charCodeAt(i) - 48;
  return n * 1000 + (id.charCodeAt(9) - 48) * 100 + (id.charCodeAt(10) - 48) * 10 + (id.charCodeAt(11) - 48);
}

export function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * V8 keeps a string built by concatenation as a tree of its pieces until something reads it as a whole;
 * Number() does, and flattening the two URIs saves ~100 bytes per record (11 MB for the full dataset).
 */
export function flatFiles(f: { png: string; dicom: string }): { png: string; dicom: string } {
  Number(f.png);
  Number(f.dicom);
  return f;
}
