import * as z from 'zod';
import { DicomIdentitySchema } from './dicom.ts';
import {
  FINDINGS,
  FindingSchema,
  FourFindingsSetSchema,
  ReaderValueSchema,
  SexSchema,
  SplitSchema,
  ViewSchema,
} from './findings.ts';
import { ImageIdSchema, PatientIdSchema } from './ids.ts';

export const BoundingBoxSchema = z.object({
  finding: FindingSchema,
  x: z.number(),
  y: z.number(),
  w: z.number().nonnegative(),
  h: z.number().nonnegative(),
});
export type BoundingBox = z.infer<typeof BoundingBoxSchema>;

/** Adjudicated four-findings labels (Majkowska et al., Radiology 2019); true = YES. */
export const FourFindingsLabelsSchema = z.object({
  set: FourFindingsSetSchema,
  fracture: z.boolean(),
  pneumothorax: z.boolean(),
  airspaceOpacity: z.boolean(),
  noduleOrMass: z.boolean(),
});
export type FourFindingsLabels = z.infer<typeof FourFindingsLabelsSchema>;

/** `{Atelectasis: bool, ... all 14}` */
export const FindingFlagsSchema = z.object(
  Object.fromEntries(FINDINGS.map((f) => [f, z.boolean()])) as Record<
    (typeof FINDINGS)[number],
    z.ZodBoolean
  >,
);
export type FindingFlags = z.infer<typeof FindingFlagsSchema>;

/** Ground truth of the all-findings study (Nabulsi et al., Sci Rep 2021): majority of three readers. */
export const AllFindingsLabelsSchema = z.object({
  abnormal: z.boolean(),
  other: z.boolean(),
  findings: FindingFlagsSchema,
});
export type AllFindingsLabels = z.infer<typeof AllFindingsLabelsSchema>;

export const ReaderStudySchema = z.enum(['fourFindings', 'allFindings']);
export type ReaderStudy = z.infer<typeof ReaderStudySchema>;

/**
 * One reader's labels for one image. Label names: fourFindings -> fracture, pneumothorax, airspaceOpacity,
 * noduleOrMass; allFindings -> abnormal, the 14 NIH finding names, other.
 */
export const ReaderLabelsSchema = z.object({
  study: ReaderStudySchema,
  readerId: z.string().regex(/^\d+$/),
  labels: z.record(z.string(), ReaderValueSchema),
});
export type ReaderLabels = z.infer<typeof ReaderLabelsSchema>;

export const ExpertLabelsSchema = z.object({
  fourFindings: FourFindingsLabelsSchema.nullable(),
  allFindings: AllFindingsLabelsSchema.nullable(),
  readers: z.array(ReaderLabelsSchema),
});
export type ExpertLabels = z.infer<typeof ExpertLabelsSchema>;

/** NIH metadata of one image (one row of Data_Entry_2017*.csv). */
export const ImageMetadataSchema = z.object({
  imageId: ImageIdSchema,
  patientId: PatientIdSchema,
  followUp: z.number().int().nonnegative(),
  /** Years; null only where the source file gives an impossible age (the 2017 file has a few). */
  patientAge: z.number().int().nonnegative().max(120).nullable(),
  patientSex: SexSchema,
  viewPosition: ViewSchema,
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  pixelSpacing: z.object({ x: z.number().positive(), y: z.number().positive() }),
  findings: z.array(FindingSchema),
});
export type ImageMetadata = z.infer<typeof ImageMetadataSchema>;

/** One image's full record, exactly as `GET /v1/images/{imageId}` returns it (docs/api.md). */
export const ImageRecordSchema = ImageMetadataSchema.extend({
  split: SplitSchema,
  boundingBoxes: z.array(BoundingBoxSchema),
  expert: ExpertLabelsSchema,
  files: z.object({ png: z.string(), dicom: z.string() }),
  /** DICOM identity, once an uploaded .dcm or `npm run load:dicom` has read the file's header. */
  dicom: DicomIdentitySchema.optional(),
});
export type ImageRecord = z.infer<typeof ImageRecordSchema>;
