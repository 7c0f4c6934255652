/** Writes a small synthetic dataset in exactly the real files' formats and names. Deterministic per seed. */
export async function writeSyntheticDataset(
  _dir: string,
  _opts: { images?: number; seed?: number } = {},
): Promise<void> {
  throw new Error('not implemented');
}
