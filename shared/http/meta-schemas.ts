/** Response schemas of the meta routes (meta-routes.ts), apart so that clients import schemas, not routes. */
import * as z from 'zod';

export const AttributionSchema = z.object({
  provider: z.string().describe('the data provider: the NIH Clinical Center'),
  source: z.url().describe('the NIH download site'),
  citations: z.array(z.string()).describe('CVPR 2017 dataset paper, then the expert-label papers'),
  notice: z.string(),
});

export const HealthSchema = z.object({
  status: z.enum(['ok', 'starting']),
  dataset: z.enum(['nih', 'synthetic']).optional().describe('what the local server loaded'),
  images: z.number().int().optional(),
  uploadsBucket: z.string().optional(),
  emulators: z.object({ firestore: z.string(), storage: z.string() }).partial().optional(),
});
export type Health = z.infer<typeof HealthSchema>;
