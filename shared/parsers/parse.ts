import type { Readable } from 'node:stream';
import type { ParsedFile, ParseEvent, ParseOptions, ParseSummary } from './types.ts';

/** Streams rows and row issues of one file (plain or gzip), in line order. */
export async function* parseStream(
  _input: Readable | AsyncIterable<Buffer>,
  _opts: ParseOptions = {},
): AsyncGenerator<ParseEvent, ParseSummary> {
  const none: ParseEvent[] = [];
  yield* none;
  throw new Error('not implemented');
}

/** Parses a whole file (a path or a stream) into memory. */
export async function parseFile(_input: Readable | string, _opts: ParseOptions = {}): Promise<ParsedFile> {
  throw new Error('not implemented');
}
