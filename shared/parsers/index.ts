export { detectKind } from './detect.ts';
export { parseFile, parseStream } from './parse.ts';
export * from './types.ts';
