import * as z from 'zod';

export const FINALIZED = 'google.cloud.storage.object.v1.finalized';

const digits = z.union([z.string().regex(/^\d+$/), z.number().int().nonnegative()]).transform(String);

/** The Cloud Storage object resource carried by a `finalized` event; unknown fields are dropped. */
export const StorageObjectSchema = z.object({
  bucket: z.string().min(3).max(222),
  name: z.string().min(1).max(1024),
  generation: digits,
  metageneration: digits.optional(),
  size: digits.transform(Number),
  contentType: z.string().max(1024).optional(),
  md5Hash: z.string().max(64).optional(),
  crc32c: z.string().max(64).optional(),
  timeCreated: z.string().max(64).optional(),
  metadata: z.record(z.string(), z.string()).optional(),
});
export type StorageObject = z.output<typeof StorageObjectSchema>;

/** The CloudEvent envelope as far as we use it; `data` is checked by StorageObjectSchema. */
export const StorageEventSchema = z.object({
  id: z.string().max(1024).optional(),
  type: z.string().max(256),
  data: z.unknown(),
});
