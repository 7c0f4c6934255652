export { metadataDifferences } from './differences.ts';
export { loadDatasetDir, splitFromFileName } from './load-dir.ts';
export { mergeRecords } from './merge.ts';
export { RecordMerger } from './merger.ts';
export * from './types.ts';
