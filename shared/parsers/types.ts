import type {
  AllFindingsLabels,
  BoundingBox,
  FourFindingsLabels,
  FourFindingsSet,
  ImageId,
  ImageMetadata,
  PatientId,
  ReaderLabels,
  Split,
} from '../model/index.ts';

/** Every file format of the NIH metadata and the Google expert labels, recognised from its header line. */
export const FILE_KINDS = [
  'metadata_v2020',
  'metadata_2017',
  'bounding_boxes',
  'image_list',
  'four_findings_labels',
  'four_findings_readers',
  'all_findings_labels',
  'all_findings_readers',
] as const;
export type FileKind = (typeof FILE_KINDS)[number];

/** A problem with one row; `line` is the 1-based physical line number in the file (the header is line 1). */
export interface RowIssue {
  line: number;
  reason: string;
}

/** One parsed row, discriminated by kind; every row carries its line. */
export type ParsedRow =
  | { kind: 'metadata_v2020' | 'metadata_2017'; line: number; metadata: ImageMetadata }
  | { kind: 'bounding_boxes'; line: number; imageId: ImageId; box: BoundingBox }
  | { kind: 'image_list'; line: number; imageId: ImageId; split: Split }
  | {
      kind: 'four_findings_labels';
      line: number;
      metadata: ImageMetadata;
      fourFindings: FourFindingsLabels;
    }
  | {
      kind: 'four_findings_readers';
      line: number;
      imageId: ImageId;
      patientId: PatientId;
      set: FourFindingsSet;
      reader: ReaderLabels;
    }
  | {
      kind: 'all_findings_labels';
      line: number;
      imageId: ImageId;
      patientId: PatientId;
      allFindings: AllFindingsLabels;
    }
  | {
      kind: 'all_findings_readers';
      line: number;
      imageId: ImageId;
      patientId: PatientId;
      reader: ReaderLabels;
    };

/** A rejected row (not in the output) or a warning (the row is in the output, with the noted change). */
export interface RowIssueEvent {
  issue: RowIssue;
  severity: 'rejected' | 'warning';
}

/** What parseStream yields: rows and row issues, in line order. */
export type ParseEvent = ParsedRow | RowIssueEvent;

/** parseStream's return value once the stream is exhausted. `lines` counts physical lines, header included. */
export interface ParseSummary {
  kind: FileKind;
  lines: number;
}

export interface ParseOptions {
  /**
   * Required for image lists (train_val_list.txt / test_list.txt): both have the same headerless format, so
   * the split cannot come from the content. loadDatasetDir takes it from the file name.
   */
  split?: Split;
  /**
   * Called for each blank data line instead of yielding a `blank line skipped` warning for it: a consumer
   * that only counts them (upload processing) pays nothing per line, whatever a file of newlines holds.
   */
  onBlankLine?: (line: number) => void;
}

export interface ParsedFile {
  kind: FileKind;
  rows: ParsedRow[];
  rejected: RowIssue[];
  warnings: RowIssue[];
  /** Physical lines read, header included. */
  lines: number;
}

/** A file-level problem: empty file, unknown header, truncated gzip, missing split for an image list... */
export class FileFormatError extends Error {
  override name = 'FileFormatError';
}

/** True when a parseStream event is a row issue rather than a row. */
export function isRowIssue(e: ParseEvent): e is RowIssueEvent {
  return 'issue' in e;
}
