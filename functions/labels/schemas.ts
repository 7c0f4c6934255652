import * as z from 'zod';
import {
  DicomLinksSchema,
  ExpertLabelsSchema,
  type ImageId,
  ImageIdSchema,
  ImageRecordSchema,
  PatientIdSchema,
  quickImageIds,
} from '../../shared/model/index.ts';
import { ReadAgreementSchema } from '../../shared/model/read-agreement.ts';

/** Largest batchGet; more ids get 413. */
export const MAX_BATCH_IDS = 1000;

export const ImageParamsSchema = z.object({ imageId: ImageIdSchema });
export const PatientParamsSchema = z.object({ patientId: PatientIdSchema });

export const BatchGetBodySchema = z.strictObject({
  imageIds: z
    .array(ImageIdSchema)
    .min(1, 'must list at least one image id')
    .max(MAX_BATCH_IDS, `at most ${MAX_BATCH_IDS} image ids per request`),
});

/**
 * What BatchGetBodySchema gives for a body it accepts, checked by a loop (quickImageIds); undefined for any
 * other body, which the schema then checks and rejects with its field errors. Same answers, test/labels/batch-ids.test.ts.
 */
export function quickBatchGetIds(body: unknown): ImageId[] | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const keys = Object.keys(body);
  if (keys.length !== 1 || keys[0] !== 'imageIds') return undefined;
  const list = (body as { imageIds: unknown }).imageIds;
  if (!Array.isArray(list) || list.length < 1 || list.length > MAX_BATCH_IDS) return undefined;
  return quickImageIds(list);
}

/** One image: the record, with, next to the individual reads, whether they were unanimous per label. */
export const ImageResponseSchema = ImageRecordSchema.extend({
  expert: ExpertLabelsSchema.extend({ readAgreement: ReadAgreementSchema }),
  /** With a DICOM identity: the instance in the DICOMweb store and a viewer link (issue 17). */
  links: DicomLinksSchema.optional(),
});
export const BatchGetResponseSchema = z.object({
  images: z.array(ImageRecordSchema),
  /** Requested ids (normalised, without `.png`) that have no image, in request order, each once. */
  missing: z.array(z.string()),
});
export const PatientImagesResponseSchema = z.object({
  patientId: z.number().int(),
  images: z.array(ImageRecordSchema),
});

export { ProblemSchema } from '../../shared/http/problem.ts';
