import type { FileKind } from './types.ts';

/** The file kind from its header line alone (never the file name); undefined when not recognised. */
export function detectKind(_headerLine: string): FileKind | undefined {
  throw new Error('not implemented');
}
