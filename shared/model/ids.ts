import * as z from 'zod';

const IMAGE_ID = /^(\d{8})_(\d{3})$/;

/** `00000001_000`: the NIH file name without `.png`. Routes also accept the name with `.png`. */
export const ImageIdSchema = z
  .string()
  .max(40)
  .transform((s) => (s.endsWith('.png') ? s.slice(0, -4) : s))
  .pipe(z.string().regex(IMAGE_ID, 'must look like 00000001_000 (8 digits, underscore, 3 digits)'))
  .brand<'ImageId'>();
export type ImageId = z.infer<typeof ImageIdSchema>;

const IMAGE_ID_OR_NAME = /^\d{8}_\d{3}(?:\.png)?$/;

/**
 * The ids of a list every element of which ImageIdSchema accepts, as it gives them (`.png` dropped); undefined
 * for anything else, which the schema then rejects with its errors. A loop and one regex instead of three
 * schema steps per id: a batch of 1,000 ids is checked on every batchGet (issue 15).
 */
export function quickImageIds(list: unknown): ImageId[] | undefined {
  if (!Array.isArray(list)) return undefined;
  const out = new Array<ImageId>(list.length);
  for (let i = 0; i < list.length; i++) {
    const s: unknown = list[i];
    if (typeof s !== 'string' || !IMAGE_ID_OR_NAME.test(s)) return undefined;
    out[i] = (s.endsWith('.png') ? s.slice(0, -4) : s) as ImageId;
  }
  return out;
}

/** Patient id: a positive integer as in the NIH metadata (`1`, or `00000001` in the 2017 file). */
export const PatientIdSchema = z
  .union(
    [
      z.int(),
      z
        .string()
        .regex(/^\d{1,8}$/, 'must be a positive integer')
        .transform(Number),
    ],
    {
      error: 'must be a positive integer',
    },
  )
  .pipe(z.int().min(1, 'must be a positive integer').max(99_999_999))
  .brand<'PatientId'>();
export type PatientId = z.infer<typeof PatientIdSchema>;

/** Parses an image id (with or without `.png`); returns undefined when it is not one. */
export function parseImageId(raw: string): ImageId | undefined {
  const r = ImageIdSchema.safeParse(raw);
  return r.success ? r.data : undefined;
}

/** The patient and follow-up number encoded in an image id. */
export function imageIdParts(id: ImageId): { patientId: number; followUp: number } {
  const m = IMAGE_ID.exec(id)!;
  return { patientId: Number(m[1]), followUp: Number(m[2]) };
}
