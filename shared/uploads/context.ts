/**
 * The dependencies of the upload use case, and the context its steps share once defaults are filled in.
 *
 * Two ways to Firestore, chosen for the cold start (issue 15: "load only the part of the SDK a function
 * uses"): the ledger and the image registry, which every upload writes, go over the REST API
 * (`documents`); the label-file path and DICOM identities keep the SDK (`firestore`: BulkWriter, the
 * label repo), loaded on the first upload that needs it. Objects are read and written over the Storage JSON
 * API (`objects`): an image upload on a cold instance loads neither SDK.
 */
import type { Firestore } from '@google-cloud/firestore';
import type { CohortStore } from '../cohorts/store.ts';
import type { FirestoreWriter } from '../google/firestore-rest-tx.ts';
import type { ObjectStore } from '../google/storage-rest.ts';
import type { LabelRepo } from '../labels/repo.ts';
import type { Logger } from '../log.ts';
import type { ImageRegistry } from './images.ts';
import type { Ledger } from './ledger.ts';
import type { UploadReport, UploadStatus } from './report.ts';
import type { SplitTable } from './splits.ts';

export interface UploadProcessorDeps {
  /** Reads the uploaded objects, copies rejected ones to quarantine/, writes the reports. */
  objects: ObjectStore;
  /** Firestore over REST: the ledger and the image registry (unless given below). */
  documents: FirestoreWriter;
  /** The Firestore SDK client, for label files and DICOM identities only; asked for on the first of them. */
  firestore: () => Firestore | Promise<Firestore>;
  /** Label reads and writes of the label-file path; default: over `firestore`, made on first use. */
  labels?: LabelRepo;
  /** Created on first use: image uploads never open the cohort store. */
  cohorts: () => CohortStore | Promise<CohortStore>;
  uploadsBucket: string;
  /** Firestore ramp-up throttling for label writes: true in production, false on the emulator. */
  throttle: boolean;
  /** How long an attempt owns an object before a redelivery may take over (> the function timeout). */
  leaseMs: number;
  /**
   * How long one attempt may run before it fails (and the event is redelivered); default leaseMs, since an
   * attempt past its lease no longer owns the object. Firestore out of reach must not hold an attempt for
   * ever: the Firestore SDK retries one batch write for up to 10 minutes, and each BulkWriter write up to
   * 10 times.
   */
  attemptMs?: number;
  /** The attempt that fails with this number gives up: a `failed` report, and the event is acknowledged. */
  maxAttempts?: number;
  labelsCollection?: string;
  now?: () => number;
  logger?: Logger;
  ledger?: Ledger;
  registry?: ImageRegistry;
  splits?: SplitTable;
  limits?: Partial<UploadLimits>;
}

/** Per-upload limits; past either one the upload is rejected as a whole. */
export interface UploadLimits {
  /** Bytes of a label file's content, or of any gzip upload's content, after decompression. */
  maxContentBytes: number;
  /** Data rows of a label file. */
  maxRows: number;
}

export type ReportedOutcome = { status: UploadStatus; report: UploadReport; reportObject: string };
export type UploadOutcome =
  | { status: 'ignored'; reason: string }
  | { status: 'duplicate'; object: string; generation: string }
  | ReportedOutcome;

/** What every step of one processor shares: the deps as given, and the defaults resolved once. */
export interface UploadContext {
  deps: UploadProcessorDeps;
  now: () => number;
  ledger: Ledger;
  registry: ImageRegistry;
  /**
   * deps.labels, else the label repo over deps.firestore (which it asks for on its first call); loaded by the
   * first label file or DICOM upload, so that an image upload never loads it.
   */
  labels: () => Promise<LabelRepo>;
  log: Logger | undefined;
  maxAttempts: number;
  limits: UploadLimits;
  attemptMs: number;
}
