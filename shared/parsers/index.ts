export { detectKind } from './header.ts';
export { parseFile, parseStream } from './parse.ts';
export * from './types.ts';
