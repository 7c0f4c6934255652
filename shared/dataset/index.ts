export { loadDatasetDir } from './load-dir.ts';
export { mergeRecords } from './merge.ts';
export * from './types.ts';
