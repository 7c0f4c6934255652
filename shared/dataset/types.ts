import type { ImageId, ImageMetadata, ImageRecord } from '../model/index.ts';
import type { FileKind, RowIssue } from '../parsers/types.ts';

export type MetadataField = Exclude<keyof ImageMetadata, 'imageId'>;

/** One field of one image whose value differs between Data_Entry_2017.csv and Data_Entry_2017_v2020.csv. */
export interface MetadataDifference {
  imageId: ImageId;
  field: MetadataField;
  v2017: ImageMetadata[MetadataField];
  v2020: ImageMetadata[MetadataField];
}

/** Something the merge could not reconcile, e.g. a label row for an image not in the metadata. */
export interface MergeProblem {
  file: FileKind;
  imageId: string;
  reason: string;
  /** The row's line, when one row caused it. */
  line?: number;
}

export interface MergeOptions {
  /** Which metadata file wins when both are given; default 'v2020'. */
  metadata?: 'v2020' | '2017';
}

export interface MergeResult {
  /** Sorted by imageId. */
  records: ImageRecord[];
  /** 2017 vs v2020, field level, when both metadata files are given. */
  differences: MetadataDifference[];
  problems: MergeProblem[];
}

export interface LoadedFile {
  path: string;
  kind: FileKind;
  rows: number;
  rejected: RowIssue[];
  warnings: RowIssue[];
}

export interface DatasetLoadResult extends MergeResult {
  files: LoadedFile[];
  /** Files not loaded (unknown format) or not completely loaded (e.g. a truncated gzip), with the reason. */
  skipped: { path: string; reason: string }[];
}
