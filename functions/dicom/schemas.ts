import * as z from 'zod';
import { ImageIdSchema } from '../../shared/model/index.ts';

export const DicomParamsSchema = z.object({ imageId: ImageIdSchema });

/** DICOM JSON (PS3.18 F.2): an array of datasets, each keyed by tag (`0020000D`) with `vr` and `Value`. */
export const DicomJsonSchema = z
  .array(z.record(z.string(), z.unknown()))
  .meta({ description: 'DICOM JSON model (PS3.18 Annex F), as the store returns it' });

export { ProblemSchema } from '../../shared/http/problem.ts';
