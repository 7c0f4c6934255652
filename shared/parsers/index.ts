export { detectKind } from './header.ts';
export { BLANK_LINE_SKIPPED, parseBatches, parseFile, parseStream } from './parse.ts';
export * from './types.ts';
