export { metadataDifferences } from './differences.ts';
export { loadDatasetDir, splitFromFileName } from './load-dir.ts';
export { mergeRecords, RecordMerger } from './merger.ts';
export * from './types.ts';
