import { existsSync } from 'node:fs';

/** The real NIH files folder when NIH_DATA_DIR is set (CI points it at ../shared/data/nih), else undefined. */
export function nihDataDir(): string | undefined {
  const d = process.env.NIH_DATA_DIR;
  if (!d) return undefined;
  if (!existsSync(d)) throw new Error(`NIH_DATA_DIR=${d} does not exist`);
  return d;
}
