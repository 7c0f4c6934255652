export { detectKind } from './header.ts';
export { parseBatches, parseFile, parseStream } from './parse.ts';
export * from './types.ts';
