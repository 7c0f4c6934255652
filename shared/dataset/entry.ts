import {
  type AllFindingsLabels,
  type BoundingBox,
  type FourFindingsLabels,
  type FourFindingsSet,
  type ImageId,
  type ImageMetadata,
  imageFiles,
  type ReaderLabels,
  type Split,
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
  /** keyOf(id) */
  readonly key: number;
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

  constructor(id: ImageId, key: number) {
    this.id = id;
    this.key = key;
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

const SAMPLE_ID = '00000000_000' as ImageId;
const SAMPLE = imageFiles(SAMPLE_ID);
const around = (uri: string) => {
  const at = uri.indexOf(SAMPLE_ID);
  return [uri.slice(0, at), uri.slice(at + SAMPLE_ID.length)] as const;
};
const [PNG_BEFORE, PNG_AFTER] = around(SAMPLE.png);
const [DICOM_BEFORE, DICOM_AFTER] = around(SAMPLE.dicom);

/**
 * imageFiles(id), built so that each URI shares the constant parts and the record's own imageId string
 * (V8 keeps a concatenation as its pieces until read): ~100 bytes per record rather than ~300 (the records
 * of the full dataset hold 224k URIs). The merge tests check it equals imageFiles(id).
 */
export function recordFiles(id: ImageId): { png: string; dicom: string } {
  return { png: PNG_BEFORE + id + PNG_AFTER, dicom: DICOM_BEFORE + id + DICOM_AFTER };
}
